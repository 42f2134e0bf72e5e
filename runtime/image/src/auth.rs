//! Registry credentials: `BERTH_REGISTRY_AUTH` first, then `~/.docker/config.json`.
//!
//! `BERTH_REGISTRY_AUTH` is a comma-separated list of `HOST=CREDENTIAL` entries, where `HOST` is
//! the registry as written in image references (with its port, e.g. `127.0.0.1:5001`) and
//! `CREDENTIAL` is either `USER:PASSWORD` (HTTP basic, also used to obtain a bearer token when
//! the registry asks for one) or `bearer:TOKEN` (a ready bearer token). The first `=` ends the
//! host and the first `:` ends the user, so passwords may contain `:` and `=` but not `,`:
//!
//! ```text
//! BERTH_REGISTRY_AUTH='127.0.0.1:5001=alice:s3cret,ghcr.io=bearer:ghp_xxx'
//! ```
//!
//! Docker's config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) is read for
//! `auths.<host>.auth` (base64 `user:password`), `auths.<host>.username` / `password` and
//! `auths.<host>.registrytoken`. Credential helpers (`credsStore`, `credHelpers`) are not run.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use base64::Engine as _;
use oci_client::secrets::RegistryAuth;

/// The environment variable holding per-registry credentials (format in the module docs).
pub const AUTH_ENV: &str = "BERTH_REGISTRY_AUTH";

/// One registry credential.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// User name and password.
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// A bearer token.
    Bearer(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic { user, .. } => write!(f, "Basic({user}, <redacted>)"),
            Credential::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

impl Credential {
    pub(crate) fn to_oci(&self) -> RegistryAuth {
        match self {
            Credential::Basic { user, password } => {
                RegistryAuth::Basic(user.clone(), password.clone())
            }
            Credential::Bearer(token) => RegistryAuth::Bearer(token.clone()),
        }
    }

    /// A description safe to print: the user name, never the secret.
    pub fn describe(&self) -> String {
        match self {
            Credential::Basic { user, .. } => format!("user {user:?}"),
            Credential::Bearer(_) => "a bearer token".to_string(),
        }
    }
}

/// Parses a `BERTH_REGISTRY_AUTH` value.
pub fn parse_auth_env(value: &str) -> anyhow::Result<BTreeMap<String, Credential>> {
    let mut map = BTreeMap::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (host, credential) = entry
            .split_once('=')
            .with_context(|| format!("{AUTH_ENV} entry for {:?} has no `=`", host_of(entry)))?;
        let credential = if let Some(token) = credential.strip_prefix("bearer:") {
            Credential::Bearer(token.to_string())
        } else {
            let (user, password) = credential.split_once(':').with_context(|| {
                format!("{AUTH_ENV} entry for {host:?} is not USER:PASSWORD or bearer:TOKEN")
            })?;
            Credential::Basic {
                user: user.to_string(),
                password: password.to_string(),
            }
        };
        map.insert(normalize_host(host), credential);
    }
    Ok(map)
}

fn host_of(entry: &str) -> &str {
    entry.split(['=', ':']).next().unwrap_or("")
}

/// The docker config file to read: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// Reads the credential for `host` from a docker config file's text.
pub fn from_docker_config(text: &str, host: &str) -> anyhow::Result<Option<Credential>> {
    #[derive(serde::Deserialize)]
    struct Config {
        #[serde(default)]
        auths: BTreeMap<String, Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        auth: Option<String>,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        #[serde(default)]
        registrytoken: Option<String>,
    }
    let config: Config = serde_json::from_str(text).context("parse docker config")?;
    let wanted = normalize_host(host);
    let Some(entry) = config
        .auths
        .into_iter()
        .find(|(key, _)| normalize_host(key) == wanted)
        .map(|(_, entry)| entry)
    else {
        return Ok(None);
    };
    if let Some(token) = entry.registrytoken.filter(|t| !t.is_empty()) {
        return Ok(Some(Credential::Bearer(token)));
    }
    if let Some(auth) = entry.auth.filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .with_context(|| format!("auths.{host}.auth is not base64"))?;
        let decoded = String::from_utf8(decoded)
            .with_context(|| format!("auths.{host}.auth is not UTF-8"))?;
        let (user, password) = decoded
            .split_once(':')
            .with_context(|| format!("auths.{host}.auth is not base64 of user:password"))?;
        return Ok(Some(Credential::Basic {
            user: user.to_string(),
            password: password.to_string(),
        }));
    }
    match (entry.username, entry.password) {
        (Some(user), Some(password)) => Ok(Some(Credential::Basic { user, password })),
        _ => Ok(None),
    }
}

/// Reduces `https://index.docker.io/v1/`, `registry-1.docker.io` and `docker.io` to one key, and
/// strips a scheme and path from anything else.
fn normalize_host(key: &str) -> String {
    let key = key
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_string(),
        _ => host,
    }
}

/// Looks up the credential for `host`: `env` (parsed `BERTH_REGISTRY_AUTH`) first, then the
/// docker config file.
pub fn lookup(
    env: &BTreeMap<String, Credential>,
    docker_config: Option<&std::path::Path>,
    host: &str,
) -> anyhow::Result<Option<Credential>> {
    if let Some(credential) = env.get(&normalize_host(host)) {
        return Ok(Some(credential.clone()));
    }
    let Some(path) = docker_config else {
        return Ok(None);
    };
    match std::fs::read_to_string(path) {
        Ok(text) => from_docker_config(&text, host).with_context(|| format!("{}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_format() {
        let map = parse_auth_env("127.0.0.1:5001=alice:pa:ss=w, ghcr.io=bearer:tok ,").unwrap();
        assert_eq!(
            map["127.0.0.1:5001"],
            Credential::Basic {
                user: "alice".into(),
                password: "pa:ss=w".into()
            }
        );
        assert_eq!(map["ghcr.io"], Credential::Bearer("tok".into()));
        assert!(parse_auth_env("host-without-credential").is_err());
        let err = parse_auth_env("h=nocolon").unwrap_err().to_string();
        assert!(err.contains("\"h\"") && !err.contains("nocolon"), "{err}");
    }

    #[test]
    fn docker_config_forms() {
        let text = r#"{"auths":{
            "127.0.0.1:5001":{"auth":"YWxpY2U6c2VjcmV0"},
            "https://index.docker.io/v1/":{"username":"bob","password":"pw"},
            "ghcr.io":{"registrytoken":"tok"}}}"#;
        assert_eq!(
            from_docker_config(text, "127.0.0.1:5001").unwrap(),
            Some(Credential::Basic {
                user: "alice".into(),
                password: "secret".into()
            })
        );
        assert_eq!(
            from_docker_config(text, "docker.io").unwrap(),
            Some(Credential::Basic {
                user: "bob".into(),
                password: "pw".into()
            })
        );
        assert_eq!(
            from_docker_config(text, "ghcr.io").unwrap(),
            Some(Credential::Bearer("tok".into()))
        );
        assert_eq!(from_docker_config(text, "quay.io").unwrap(), None);
    }

    #[test]
    fn env_wins_over_docker_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"auths":{"r:1":{"auth":"YWxpY2U6c2VjcmV0"}}}"#).unwrap();
        let env = parse_auth_env("r:1=carol:x").unwrap();
        let found = lookup(&env, Some(&path), "r:1").unwrap().unwrap();
        assert_eq!(found.describe(), "user \"carol\"");
        let found = lookup(&BTreeMap::new(), Some(&path), "r:1")
            .unwrap()
            .unwrap();
        assert_eq!(found.describe(), "user \"alice\"");
        assert!(
            lookup(&BTreeMap::new(), Some(&dir.path().join("none")), "r:1")
                .unwrap()
                .is_none()
        );
    }
}
