//! Talking to OCI distribution registries through `oci-client`: transport choice, credentials,
//! retries with backoff, progress bars, and the mapping of client errors to [`ImageError`].
//!
//! - HTTPS everywhere, except plain HTTP for loopback registries (`localhost`, `127.0.0.0/8`,
//!   `[::1]`, as Docker does) and for hosts listed in `BERTH_INSECURE_REGISTRIES`
//!   (comma-separated `host[:port]`).
//! - Credentials: see [`super::auth`]; anonymous when none is configured.
//! - Transient failures (connection errors, timeouts, HTTP 5xx and 429) are retried with
//!   exponential backoff; 4xx answers and digest mismatches are not.

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

/// The environment variable listing registries reached over plain HTTP.
pub const INSECURE_ENV: &str = "BERTH_INSECURE_REGISTRIES";

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
            auth: credential.map_or(RegistryAuth::Anonymous, |c| c.to_oci()),
            credential_desc,
            settings: settings.clone(),
            image: image.clone(),
            progress,
        })
    }

    /// Runs `op`, retrying transient failures with exponential backoff.
    pub(crate) async fn retry<T, F, Fut>(&self, stage: Stage, mut op: F) -> Result<T, ImageError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        let mut delay = self.settings.backoff;
        let mut attempt = 0;
        loop {
            match op().await {
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
