//! Reaching the Docker daemon: which address, and one clear error when nobody answers there.
//!
//! The address is, in order: an explicit one (the executor's options), `DOCKER_HOST`, the default
//! socket `unix:///var/run/docker.sock`. Connecting pings the daemon under a short timeout and
//! negotiates the API version down to what the daemon speaks (a Debian `docker.io` 20.10 answers
//! API 1.41, older than bollard's default), so a dead socket, a refused connection or a silent
//! TCP host all end in the same error naming the address and where it came from — never a panic,
//! never a hang.

use std::fmt;
use std::time::Duration;

use anyhow::{Result, anyhow};
use bollard::Docker;

/// How long connecting (ping + version negotiation) may take before the daemon counts as
/// unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-request timeout once connected (for the response headers; streams such as waits and
/// output are not cut by it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The default daemon socket.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Where the daemon is expected, and why there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonAddress {
    /// The address (`unix://…`, `tcp://…`, `http://…`).
    pub address: String,
    /// Where the address came from: `"option"`, `"DOCKER_HOST"` or `"default socket"`.
    pub source: &'static str,
}

impl DaemonAddress {
    /// The address to use: `explicit`, else `DOCKER_HOST`, else the default socket.
    pub fn resolve(explicit: Option<&str>) -> Self {
        Self::resolve_from(explicit, std::env::var("DOCKER_HOST").ok())
    }

    fn resolve_from(explicit: Option<&str>, docker_host: Option<String>) -> Self {
        if let Some(address) = explicit.filter(|a| !a.is_empty()) {
            return Self {
                address: address.to_owned(),
                source: "option",
            };
        }
        match docker_host.filter(|a| !a.is_empty()) {
            Some(address) => Self {
                address,
                source: "DOCKER_HOST",
            },
            None => Self {
                address: DEFAULT_HOST.to_owned(),
                source: "default socket",
            },
        }
    }

    fn unreachable(&self, cause: impl fmt::Display) -> anyhow::Error {
        anyhow!(
            "cannot reach the Docker daemon at {self}: {cause} \
             (is dockerd running? set DOCKER_HOST to its socket)"
        )
    }
}

impl fmt::Display for DaemonAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.address, self.source)
    }
}

/// Connects to the daemon at `address` and checks that it answers.
pub(super) async fn connect(address: &DaemonAddress) -> Result<Docker> {
    let docker = Docker::connect_with_host(&address.address)
        .map_err(|err| address.unreachable(err))?
        .with_timeout(REQUEST_TIMEOUT);
    let answered = tokio::time::timeout(CONNECT_TIMEOUT, async {
        docker.ping().await?;
        docker.negotiate_version().await
    })
    .await
    .map_err(|_| address.unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?;
    answered.map_err(|err| address.unreachable(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_beats_docker_host_beats_default() {
        let env = Some("tcp://10.0.0.1:2375".to_owned());
        assert_eq!(
            DaemonAddress::resolve_from(Some("unix:///x.sock"), env.clone()).source,
            "option"
        );
        let from_env = DaemonAddress::resolve_from(None, env);
        assert_eq!(
            (from_env.address.as_str(), from_env.source),
            ("tcp://10.0.0.1:2375", "DOCKER_HOST")
        );
        let default = DaemonAddress::resolve_from(None, Some(String::new()));
        assert_eq!(
            default.to_string(),
            "unix:///var/run/docker.sock (default socket)"
        );
    }
}
