//! [`ImageRef`]: the ways a component image can be named.
//!
//! - `REGISTRY/REPO:TAG` and `REGISTRY/REPO@sha256:…` (Docker's grammar: a missing tag means
//!   `latest`, a missing registry means Docker Hub);
//! - a local `.wasm` file (`./guest.wasm`, `/abs/guest.wasm`, `guest.wasm`, `file:///abs/x.wasm`);
//! - `docker://IMAGE[:TAG]`, a container image handed to Docker as is (never pulled by berth).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_client::Reference;

use super::digest::Digest;

mod grammar;
use super::error::{ImageError, Stage};

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// An image in an OCI distribution registry.
    Registry(RegistryRef),
    /// A wasm module file on this host.
    LocalWasm(PathBuf),
    /// A container image that Docker resolves itself (`docker://IMAGE[:TAG]`, prefix removed).
    Docker(String),
}

/// `REGISTRY/REPO` with a tag, a digest or both (the digest wins when both are given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    /// `ALGORITHM:HEX`, checked by [`Digest`]'s parser.
    digest: Option<String>,
}

impl ImageRef {
    /// Parses `text` (see the module docs for the accepted forms).
    pub fn parse(text: &str) -> Result<Self, ImageError> {
        let invalid = |reason: String| ImageError::InvalidReference {
            stage: Stage::Parse,
            reference: text.to_string(),
            reason,
        };
        let text_trimmed = text.trim();
        if text_trimmed.is_empty() {
            return Err(invalid("empty image reference".into()));
        }
        if let Some(rest) = text_trimmed.strip_prefix("docker://") {
            if rest.is_empty() {
                return Err(invalid("docker:// needs an image name".into()));
            }
            return Ok(ImageRef::Docker(rest.to_string()));
        }
        if let Some(path) = text_trimmed.strip_prefix("file://") {
            return Ok(ImageRef::LocalWasm(PathBuf::from(path)));
        }
        if looks_like_path(text_trimmed) {
            return Ok(ImageRef::LocalWasm(PathBuf::from(text_trimmed)));
        }
        let parts = grammar::parse(text_trimmed)
            .map_err(|e| invalid(format!("not an image reference: {e}")))?;
        if let Some(digest) = &parts.digest {
            digest.parse::<Digest>().map_err(invalid)?;
        }
        Ok(ImageRef::Registry(RegistryRef {
            registry: parts.registry,
            repository: parts.repository,
            tag: parts.tag,
            digest: parts.digest,
        }))
    }

    /// The same image with its tag replaced by `tag` (the `--tag` override); a digest is dropped,
    /// since it pins the old tag's content. Local paths have no tag and are an error.
    pub fn with_tag(&self, tag: &str) -> Result<Self, ImageError> {
        let invalid = |reason: &str| ImageError::InvalidReference {
            stage: Stage::Parse,
            reference: self.to_string(),
            reason: reason.to_string(),
        };
        match self {
            ImageRef::Registry(r) => {
                let text = format!("{}/{}:{tag}", r.registry(), r.repository());
                match ImageRef::parse(&text)? {
                    ImageRef::Registry(new) => Ok(ImageRef::Registry(new)),
                    _ => Err(invalid("the tag does not form a registry reference")),
                }
            }
            ImageRef::Docker(image) => {
                let name = match image.rfind(':') {
                    Some(colon) if !image[colon..].contains('/') => &image[..colon],
                    _ => image.as_str(),
                };
                let name = name.split('@').next().unwrap_or(name);
                Ok(ImageRef::Docker(format!("{name}:{tag}")))
            }
            ImageRef::LocalWasm(_) => Err(invalid("a local .wasm file has no tag to override")),
        }
    }
}

impl FromStr for ImageRef {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageRef::parse(s)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Registry(r) => r.fmt(f),
            ImageRef::LocalWasm(path) => write!(f, "{}", path.display()),
            ImageRef::Docker(image) => write!(f, "docker://{image}"),
        }
    }
}

impl RegistryRef {
    /// The registry host (with port), e.g. `127.0.0.1:5000` or `docker.io`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path, e.g. `acme/extractor`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, unless the reference is pinned by digest alone.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest the reference is pinned to, if any.
    pub fn digest(&self) -> Option<Digest> {
        self.digest.as_deref().and_then(|d| d.parse().ok())
    }

    /// `REGISTRY/REPO` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry(), self.repository())
    }

    /// `REGISTRY/REPO@DIGEST`: the pinned form recorded in jobs.
    pub fn pinned(&self, digest: &Digest) -> String {
        format!("{}@{digest}", self.name())
    }

    /// Whether the registry is on this host (`localhost`, `127.0.0.0/8`, `::1`): such registries
    /// are spoken to over plain HTTP, as Docker does.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.registry())
    }

    /// The oci-client reference, for talking to the registry.
    pub(crate) fn oci(&self) -> Reference {
        let (registry, repository) = (self.registry.clone(), self.repository.clone());
        match (&self.tag, &self.digest) {
            (Some(tag), Some(digest)) => {
                Reference::with_tag_and_digest(registry, repository, tag.clone(), digest.clone())
            }
            (None, Some(digest)) => Reference::with_digest(registry, repository, digest.clone()),
            (tag, None) => Reference::with_tag(
                registry,
                repository,
                tag.clone().unwrap_or_else(|| "latest".to_owned()),
            ),
        }
    }

    /// The same repository pinned to `digest`.
    pub(crate) fn oci_with_digest(&self, digest: &Digest) -> Reference {
        self.oci().clone_with_digest(digest.to_string())
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => write!(f, "{}@{digest}", self.name()),
            (None, Some(tag)) => write!(f, "{}:{tag}", self.name()),
            (None, None) => f.write_str(&self.name()),
        }
    }
}

/// Whether `host` (optionally with `:port`) names this machine.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let bare = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    };
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A reference is a local path when it is clearly one (`/`, `./`, `../`, `~/`) or names a `.wasm`
/// file without the `:` or `@` of a tagged reference.
fn looks_like_path(text: &str) -> bool {
    if text.starts_with('/') || text.starts_with("./") || text.starts_with("../") {
        return true;
    }
    if !text.ends_with(".wasm") {
        return false;
    }
    Path::new(text).is_file() || !(text.contains(':') || text.contains('@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(text: &str) -> RegistryRef {
        match ImageRef::parse(text).unwrap() {
            ImageRef::Registry(r) => r,
            other => panic!("{text} parsed as {other:?}"),
        }
    }

    #[test]
    fn registry_tag_and_digest_forms() {
        let r = registry("127.0.0.1:5000/example/guest:v1");
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "example/guest");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.digest(), None);
        assert!(r.is_loopback());
        assert_eq!(r.to_string(), "127.0.0.1:5000/example/guest:v1");

        let hex = "a".repeat(64);
        let r = registry(&format!("registry.example.com/acme/ex@sha256:{hex}"));
        assert_eq!(r.digest().unwrap().hex(), hex);
        assert_eq!(r.tag(), None);
        assert!(!r.is_loopback());
        assert_eq!(
            r.to_string(),
            format!("registry.example.com/acme/ex@sha256:{hex}")
        );
    }

    #[test]
    fn defaults_follow_docker() {
        let r = registry("alpine");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/alpine");
        assert_eq!(r.tag(), Some("latest"));
        assert!(registry("localhost:5000/x").is_loopback());
        assert!(registry("127.0.0.2:5000/x").is_loopback());
        assert!(!registry("localhost.example.com:5000/x").is_loopback());
        assert!(is_loopback_host("[::1]:5000"));
        assert!(is_loopback_host("::1"));
    }

    #[test]
    fn local_paths_and_docker_scheme() {
        for text in [
            "./guest.wasm",
            "/abs/guest.wasm",
            "guest.wasm",
            "../x/y.wasm",
        ] {
            assert!(
                matches!(ImageRef::parse(text).unwrap(), ImageRef::LocalWasm(_)),
                "{text}"
            );
        }
        assert_eq!(
            ImageRef::parse("file:///tmp/a.wasm").unwrap(),
            ImageRef::LocalWasm("/tmp/a.wasm".into())
        );
        assert_eq!(
            ImageRef::parse("docker://alpine:3.20").unwrap(),
            ImageRef::Docker("alpine:3.20".into())
        );
        // A tag that happens to end in .wasm is still a registry reference.
        assert!(matches!(
            ImageRef::parse("127.0.0.1:5000/x:v1.wasm").unwrap(),
            ImageRef::Registry(_)
        ));
    }

    #[test]
    fn invalid_references_are_errors_naming_the_text() {
        for text in ["", "UPPER/Case", "repo@sha256:short", "repo@md5:abcd"] {
            let err = ImageRef::parse(text).unwrap_err();
            assert!(matches!(err, ImageError::InvalidReference { .. }), "{text}");
            assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
        }
    }

    #[test]
    fn with_tag_overrides_tag_and_drops_digest() {
        let hex = "b".repeat(64);
        let r = ImageRef::parse(&format!("127.0.0.1:5000/acme/ex:v1@sha256:{hex}")).unwrap();
        assert_eq!(
            r.with_tag("v2").unwrap().to_string(),
            "127.0.0.1:5000/acme/ex:v2"
        );
        let d = ImageRef::parse("docker://localhost:5000/busybox:1").unwrap();
        assert_eq!(
            d.with_tag("2").unwrap().to_string(),
            "docker://localhost:5000/busybox:2"
        );
        let d = ImageRef::parse("docker://localhost:5000/busybox").unwrap();
        assert_eq!(
            d.with_tag("2").unwrap().to_string(),
            "docker://localhost:5000/busybox:2"
        );
        assert!(ImageRef::parse("./a.wasm").unwrap().with_tag("x").is_err());
    }
}
