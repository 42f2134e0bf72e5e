//! [`Digest`]: a validated `sha256:<64 hex>` content digest, and hashing helpers.
//!
//! The store only speaks SHA-256, the algorithm every registry and `oci-client` use; other
//! algorithms are rejected when a reference or descriptor is parsed.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

/// A SHA-256 content digest in OCI form, `sha256:` followed by 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// The digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// The digest of the file at `path`, read in chunks.
    pub fn of_file(path: &Path) -> anyhow::Result<Self> {
        let mut file =
            std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file
                .read(&mut buf)
                .with_context(|| format!("read {}", path.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Digest(format!("sha256:{}", hex::encode(hasher.finalize()))))
    }

    /// The 64 hex digits (the blob's file name in `blobs/sha256/`).
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The whole digest, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Digest {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((algorithm, hex)) = s.split_once(':') else {
            return Err(format!("digest {s:?} has no algorithm prefix"));
        };
        if algorithm != "sha256" {
            return Err(format!(
                "digest algorithm {algorithm:?} is not supported (only sha256)"
            ));
        }
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("digest {s:?} is not 64 hex digits"));
        }
        Ok(Digest(format!("sha256:{}", hex.to_ascii_lowercase())))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_of_wasm_config() {
        let config = br#"{"architecture":"wasm","os":"wasip1"}"#;
        assert_eq!(
            Digest::of_bytes(config).as_str(),
            "sha256:5218ed1a43e59cffcb4fa8a82457dd87b1628ef10071338d3b321452de06709b"
        );
    }

    #[test]
    fn parse_rejects_other_algorithms_and_bad_hex() {
        assert!("sha512:00".parse::<Digest>().is_err());
        assert!("sha256:xyz".parse::<Digest>().is_err());
        assert!("deadbeef".parse::<Digest>().is_err());
        let upper = format!("sha256:{}", "A".repeat(64));
        assert_eq!(upper.parse::<Digest>().unwrap().hex(), "a".repeat(64));
    }
}
