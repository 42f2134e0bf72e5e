//! Connecting from a `postgres://` URL: parsing it (only the URL form; PostgreSQL's `key=value`
//! strings are refused, so a typo cannot silently connect somewhere else), a default connect
//! timeout, and the URL as errors quote it (password hidden).

use std::str::FromStr;
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use crate::PgError;

/// How long connecting may take when the URL does not say (`connect_timeout=`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed storage URL: how to open connections to the database, and the URL to quote.
#[derive(Clone)]
pub(crate) struct Target {
    config: Config,
    shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Target {
    /// Parses `url` (`postgres://user[:password]@host[:port]/database[?options]`).
    pub(crate) fn parse(url: &str) -> Result<Self, PgError> {
        let shown = redact(url);
        let invalid = |reason: String| PgError::InvalidUrl {
            url: shown.clone(),
            reason,
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid(
                "expected postgres://user@host:port/database (or postgresql://)".to_owned(),
            ));
        }
        let mut config = Config::from_str(url).map_err(|e| invalid(e.to_string()))?;
        if config.get_hosts().is_empty() {
            return Err(invalid("it names no host".to_owned()));
        }
        if config.get_user().is_none() {
            return Err(invalid("it names no user".to_owned()));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("berth");
        }
        Ok(Self { config, shown })
    }

    /// The URL without its password.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// A new connection (without TLS: this slice supports plain connections only).
    pub(crate) fn connect(&self) -> Result<Client, PgError> {
        self.config
            .connect(NoTls)
            .map_err(|source| PgError::Connect {
                url: self.shown.clone(),
                source,
            })
    }
}

/// `url` with the password of its user info replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match user_info.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://u:secret@h:5/db?x=1"),
            "postgres://u:***@h:5/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("nonsense"), "nonsense");
        assert_eq!(redact("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn only_urls_with_a_host_and_user_parse() {
        for bad in [
            "host=localhost user=x",
            "mysql://u@h/db",
            "postgres://u@h:notaport/db",
            "postgres://u@/db",
            "postgres:///db",
            "",
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert!(matches!(err, PgError::InvalidUrl { .. }), "{bad}: {err}");
            assert!(err.is_user_error());
        }
        let err = Target::parse("postgres://u:hunter2@h:notaport/db").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let ok = Target::parse("postgres://u:pw@127.0.0.1:5439/db").unwrap();
        assert_eq!(ok.shown(), "postgres://u:***@127.0.0.1:5439/db");
    }
}
