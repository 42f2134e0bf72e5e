//! Talking to OCI distribution registries through `oci-client`: transport choice, credentials,
//! retries with backoff, progress bars, and the mapping of client errors to [`ImageError`].
//!
//! - HTTPS everywhere, except plain HTTP for loopback registries (`localhost`, `127.0.0.0/8`,
//!   `[::1]`, as Docker does) and for hosts listed in `BERTH_INSECURE_REGISTRIES`
//!   (comma-separated `host[:port]`).
//! - Credentials: see [`super::auth`]; anonymous when none is configured.
//! - Transient failures (connection errors, HTTP 5xx and 429) are retried with exponential
//!   backoff; 4xx answers and digest mismatches are not.
//! - A registry is not trusted to be honest or quick ([`RegistryLimits`]): every call has a
//!   deadline (a call that misses it fails, it is not retried), a manifest or index is read
//!   through a bounded stream and refused past its limit (`manifest`), blobs are refused when
//!   they declare more than their limit and cut when they send more than they declared.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use oci_client::Client;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use tokio::io::AsyncWrite;

use super::auth::{self, Credential};
use super::error::{ImageError, Stage};
use super::reference::RegistryRef;
use super::unpack::UnpackLimits;

/// The environment variable listing registries reached over plain HTTP.
pub const INSECURE_ENV: &str = "BERTH_INSECURE_REGISTRIES";

/// Bounds on what berth accepts from a registry (the `[registry]` table of the home's
/// `settings.toml` overrides them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryLimits {
    /// Largest manifest or index (4 MiB: what the distribution spec asks registries to accept).
    pub manifest_bytes: u64,
    /// Largest image config (8 MiB).
    pub config_bytes: u64,
    /// Largest layer, declared or sent (1 GiB).
    pub layer_bytes: u64,
    /// Largest module taken out of a tar layer (512 MiB).
    pub module_bytes: u64,
    /// Most bytes a tar layer may unpack to (2 GiB).
    pub unpacked_bytes: u64,
    /// Most entries in a tar layer (100,000).
    pub tar_entries: u64,
    /// Deadline of one call for a manifest, config, tag list or token (60 s).
    pub request_timeout: Duration,
    /// Deadline of one layer download (30 min).
    pub blob_timeout: Duration,
}

impl Default for RegistryLimits {
    fn default() -> Self {
        let unpack = UnpackLimits::default();
        Self {
            manifest_bytes: 4 << 20,
            config_bytes: 8 << 20,
            layer_bytes: 1 << 30,
            module_bytes: unpack.module_bytes,
            unpacked_bytes: unpack.unpacked_bytes,
            tar_entries: unpack.entries,
            request_timeout: Duration::from_secs(60),
            blob_timeout: Duration::from_secs(30 * 60),
        }
    }
}

impl RegistryLimits {
    /// The bounds of unpacking a tar layer.
    pub fn unpack(&self) -> UnpackLimits {
        UnpackLimits {
            module_bytes: self.module_bytes,
            unpacked_bytes: self.unpacked_bytes,
            entries: self.tar_entries,
        }
    }

    /// The deadline of one call at `stage`.
    pub fn timeout(&self, stage: Stage) -> Duration {
        match stage {
            Stage::PullLayer | Stage::Push => self.blob_timeout,
            _ => self.request_timeout,
        }
    }
}

/// How to reach registries: transport, credentials, retries, progress output.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// Hosts (`host[:port]`) spoken to over plain HTTP besides loopback ones.
    pub insecure: Vec<String>,
    /// Credentials by registry host (from `BERTH_REGISTRY_AUTH`).
    pub credentials: BTreeMap<String, Credential>,
    /// Docker's config file, consulted after `credentials`.
    pub docker_config: Option<PathBuf>,
    /// How many times a transient failure is retried.
    pub retries: u32,
    /// The first backoff delay (doubled on each retry).
    pub backoff: Duration,
    /// Draw a progress bar per layer (only ever drawn when stderr is a terminal).
    pub progress: bool,
    /// What berth accepts from a registry.
    pub limits: RegistryLimits,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            insecure: Vec::new(),
            credentials: BTreeMap::new(),
            docker_config: None,
            retries: 3,
            backoff: Duration::from_millis(250),
            progress: true,
            limits: RegistryLimits::default(),
        }
    }
}

impl RegistrySettings {
    /// Settings from `BERTH_INSECURE_REGISTRIES`, `BERTH_REGISTRY_AUTH` and the docker config.
    pub fn from_env() -> Result<Self, ImageError> {
        let insecure = std::env::var(INSECURE_ENV)
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .collect();
        let credentials = match std::env::var(auth::AUTH_ENV) {
            Ok(value) => {
                auth::parse_auth_env(&value).map_err(|e| ImageError::InvalidReference {
                    stage: Stage::Parse,
                    reference: auth::AUTH_ENV.to_string(),
                    reason: format!("{e:#}"),
                })?
            }
            Err(_) => BTreeMap::new(),
        };
        Ok(Self {
            insecure,
            credentials,
            docker_config: auth::docker_config_path(),
            ..Self::default()
        })
    }

    /// Whether `host` is spoken to over plain HTTP.
    pub fn is_plain_http(&self, image: &RegistryRef) -> bool {
        image.is_loopback() || self.insecure.iter().any(|h| h == image.registry())
    }

    /// The credential configured for the image's registry, if any.
    pub fn credential_for(&self, image: &RegistryRef) -> Result<Option<Credential>, ImageError> {
        auth::lookup(
            &self.credentials,
            self.docker_config.as_deref(),
            image.registry(),
        )
        .map_err(|e| ImageError::store(Stage::Parse, image.to_string(), e))
    }
}

/// A connected client for one image's registry, with the credential to use.
pub(crate) struct Session {
    pub(crate) client: Client,
    /// Plain HTTP client for the bounded manifest reads oci-client cannot do.
    http: reqwest::Client,
    pub(crate) auth: RegistryAuth,
    credential_desc: String,
    settings: RegistrySettings,
    pub(crate) image: RegistryRef,
    progress: MultiProgress,
}

impl Session {
    /// A client for `image`'s registry.
    pub(crate) fn new(
        settings: &RegistrySettings,
        image: &RegistryRef,
    ) -> Result<Self, ImageError> {
        // reqwest is built without a default crypto provider; install ring once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let protocol = if settings.is_plain_http(image) {
            ClientProtocol::HttpsExcept(vec![image.registry().to_string()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            platform_resolver: None,
            ..ClientConfig::default()
        };
        let client = Client::try_from(config).map_err(|e| ImageError::Registry {
            stage: Stage::PullManifest,
            reference: image.to_string(),
            cause: anyhow::Error::new(e).context("build the registry client"),
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ImageError::Registry {
                stage: Stage::PullManifest,
                reference: image.to_string(),
                cause: anyhow::Error::new(e).context("build the registry client"),
            })?;
        let credential = settings.credential_for(image)?;
        let credential_desc = match &credential {
            Some(c) => format!("tried {}", c.describe()),
            None => "no credentials configured, tried anonymous access".to_string(),
        };
        let progress = if settings.progress && std::io::stderr().is_terminal() {
            MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        };
        Ok(Self {
            client,
            http,
            auth: credential.map_or(RegistryAuth::Anonymous, |c| c.to_oci()),
            credential_desc,
            settings: settings.clone(),
            image: image.clone(),
            progress,
        })
    }

    /// The limits in force.
    pub(crate) fn limits(&self) -> &RegistryLimits {
        &self.settings.limits
    }

    /// Runs `op`, retrying transient failures with exponential backoff.
    pub(crate) async fn retry<T, F, Fut>(&self, stage: Stage, mut op: F) -> Result<T, ImageError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        let mut delay = self.settings.backoff;
        let mut attempt = 0;
        let deadline = self.settings.limits.timeout(stage);
        loop {
            let Ok(answer) = tokio::time::timeout(deadline, op()).await else {
                return Err(ImageError::Registry {
                    stage,
                    reference: self.image.to_string(),
                    cause: anyhow::anyhow!(
                        "{}: no complete answer within {deadline:?} (registry.{})",
                        self.image.registry(),
                        if matches!(stage, Stage::PullLayer | Stage::Push) {
                            "blob_timeout_secs"
                        } else {
                            "request_timeout_secs"
                        }
                    ),
                });
            };
            match answer {
                Ok(value) => return Ok(value),
                Err(e) if attempt < self.settings.retries && is_transient(&e) => {
                    tracing::warn!(
                        "{stage} {}: {e}; retrying in {delay:?} ({}/{})",
                        self.image,
                        attempt + 1,
                        self.settings.retries
                    );
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(self.map_error(stage, e)),
            }
        }
    }

    /// Fetches the manifest (or index) `reference` names, reading at most
    /// [`RegistryLimits::manifest_bytes`]: `Ok(Err(message))` when the registry sends more (not
    /// retried), `Err` for what [`Self::retry`] and [`Self::map_error`] handle. oci-client reads
    /// a manifest whole into memory, so this one request goes through reqwest directly, with the
    /// token oci-client negotiated.
    pub(crate) async fn get_manifest_bounded(
        &self,
        reference: &oci_client::Reference,
        accepted: &[&str],
    ) -> Result<Result<Vec<u8>, String>, OciDistributionError> {
        let limit = self.settings.limits.manifest_bytes;
        let token = self
            .client
            .auth(reference, &self.auth, oci_client::RegistryOperation::Pull)
            .await?;
        let registry = reference.resolve_registry();
        let scheme = if self.settings.is_plain_http(&self.image) {
            "http"
        } else {
            "https"
        };
        let target = reference
            .digest()
            .or(reference.tag())
            .unwrap_or("latest")
            .to_owned();
        let url = format!(
            "{scheme}://{registry}/v2/{}/manifests/{target}",
            reference.repository()
        );
        let mut request = self.http.get(&url).header("Accept", accepted.join(", "));
        request = match (token, &self.auth) {
            (Some(token), _) => request.bearer_auth(token),
            (None, RegistryAuth::Basic(user, password)) => request.basic_auth(user, Some(password)),
            (None, _) => request,
        };
        let mut response = request.send().await?;
        let status = response.status();
        if let Some(length) = response.content_length()
            && length > limit
        {
            return Ok(Err(format!(
                "{url} declares {length} bytes, more than the limit of {limit} bytes (registry.manifest_bytes)"
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if (body.len() + chunk.len()) as u64 > limit {
                if !status.is_success() {
                    break;
                }
                return Ok(Err(format!(
                    "{url} sent more than the limit of {limit} bytes (registry.manifest_bytes)"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(Ok(body));
        }
        if let Ok(envelope) = serde_json::from_slice::<oci_client::errors::OciEnvelope>(&body) {
            return Err(OciDistributionError::RegistryError { envelope, url });
        }
        Err(OciDistributionError::ServerError {
            code: status.as_u16(),
            url,
            message: String::from_utf8_lossy(&body[..body.len().min(1024)]).into_owned(),
        })
    }

    /// A progress bar for one blob of `size` bytes.
    pub(crate) fn bar(&self, label: &str, size: u64) -> ProgressBar {
        let bar = self.progress.add(ProgressBar::new(size));
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:24!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        bar
    }

    /// Maps an oci-client error to the boundary error.
    pub(crate) fn map_error(&self, stage: Stage, error: OciDistributionError) -> ImageError {
        let reference = self.image.to_string();
        let unauthorized = || ImageError::Unauthorized {
            stage,
            reference: reference.clone(),
            registry: self.image.registry().to_string(),
            credentials: self.credential_desc.clone(),
        };
        let what = || match (self.image.digest(), self.image.tag()) {
            (Some(d), _) => format!("digest {d}"),
            (None, Some(t)) => format!("tag {t}"),
            (None, None) => "manifest".to_string(),
        };
        match error {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => unauthorized(),
            OciDistributionError::ServerError {
                code: 401 | 403, ..
            } => unauthorized(),
            OciDistributionError::RequestError(e)
                if matches!(e.status().map(|s| s.as_u16()), Some(401 | 403)) =>
            {
                unauthorized()
            }
            OciDistributionError::RegistryError { envelope, url } => {
                let detail = envelope
                    .errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                let code = envelope.errors.first().map(|e| &e.code);
                match code {
                    Some(OciErrorCode::NameUnknown) => ImageError::RepositoryNotFound {
                        stage,
                        reference,
                        registry: self.image.registry().to_string(),
                        repository: self.image.repository().to_string(),
                        detail,
                    },
                    Some(OciErrorCode::ManifestUnknown) if stage == Stage::PullManifest => {
                        ImageError::ManifestNotFound {
                            stage,
                            reference,
                            repository: self.image.repository().to_string(),
                            what: what(),
                            detail,
                        }
                    }
                    Some(OciErrorCode::Unauthorized | OciErrorCode::Denied) => unauthorized(),
                    _ => ImageError::Registry {
                        stage,
                        reference,
                        cause: anyhow::anyhow!("{url}: {detail}"),
                    },
                }
            }
            OciDistributionError::ServerError { code: 404, url, .. }
                if stage == Stage::PullManifest =>
            {
                ImageError::ManifestNotFound {
                    stage,
                    reference,
                    repository: self.image.repository().to_string(),
                    what: what(),
                    detail: format!("404 from {url}"),
                }
            }
            OciDistributionError::DigestError(
                oci_client::errors::DigestError::VerificationError { expected, actual },
            ) => ImageError::DigestMismatch {
                stage,
                reference,
                what: match stage {
                    Stage::PullConfig => "config",
                    Stage::PullManifest => "manifest",
                    _ => "layer",
                }
                .to_string(),
                expected,
                actual,
            },
            other => ImageError::Registry {
                stage,
                reference,
                cause: anyhow::Error::new(other),
            },
        }
    }
}

/// Whether a failure is worth retrying.
fn is_transient(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::RequestError(e) => {
            e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()
        }
        OciDistributionError::IoError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| e.code == OciErrorCode::Toomanyrequests),
        _ => false,
    }
}

/// An `AsyncWrite` adapter that advances a progress bar and refuses to write more than `limit`
/// bytes (a registry must not stream more than the descriptor's size).
pub(crate) struct Bounded<W> {
    inner: W,
    written: u64,
    limit: u64,
    bar: ProgressBar,
}

impl<W> Bounded<W> {
    pub(crate) fn new(inner: W, limit: u64, bar: ProgressBar) -> Self {
        Self {
            inner,
            written: 0,
            limit,
            bar,
        }
    }

    /// The wrapped writer.
    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Bounded<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.written + buf.len() as u64 > self.limit {
            return Poll::Ready(Err(std::io::Error::other(format!(
                "the registry sent more than the {} bytes the descriptor declares",
                self.limit
            ))));
        }
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &result {
            this.written += *n as u64;
            this.bar.inc(*n as u64);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageRef;

    fn registry(text: &str) -> RegistryRef {
        match ImageRef::parse(text).unwrap() {
            ImageRef::Registry(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn plain_http_only_for_loopback_and_listed_hosts() {
        let settings = RegistrySettings {
            insecure: vec!["registry.internal:5000".into()],
            ..RegistrySettings::default()
        };
        assert!(settings.is_plain_http(&registry("127.0.0.1:5000/a:1")));
        assert!(settings.is_plain_http(&registry("localhost/a:1")));
        assert!(settings.is_plain_http(&registry("registry.internal:5000/a:1")));
        assert!(!settings.is_plain_http(&registry("registry.internal/a:1")));
        assert!(!settings.is_plain_http(&registry("ghcr.io/a:1")));
    }

    #[test]
    fn transient_errors() {
        let server = |code| OciDistributionError::ServerError {
            code,
            url: String::new(),
            message: String::new(),
        };
        assert!(is_transient(&server(503)));
        assert!(is_transient(&server(429)));
        assert!(!is_transient(&server(404)));
        assert!(!is_transient(&OciDistributionError::UnauthorizedError {
            url: String::new()
        }));
    }
}
