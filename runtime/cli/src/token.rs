//! `berth token create|ls|revoke`: the API tokens of this home (used by `berth serve`), or of
//! PostgreSQL when `BERTH_STORAGE_URL` names a database. A token's secret is printed once, at
//! creation; only its hash is stored. An unknown token is the user's error (exit 1).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::UserError;
use super::table::storage_error;
use berth_job::home::Home;
use berth_storage::NewToken;

/// `berth token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (once).
    Create {
        /// What the token is for.
        #[arg(long)]
        description: String,
        /// Only reading: no jobs, no actions, no changes.
        #[arg(long)]
        read_only: bool,
        /// Only these components (comma-separated ids).
        #[arg(long, value_delimiter = ',', value_name = "ID,...")]
        component_access: Option<Vec<String>>,
        /// Token management and everything else.
        #[arg(long)]
        admin: bool,
        /// Expire after this long: `90s`, `30m`, `12h`, `7d`.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// Print the token as JSON (with its secret).
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets).
    Ls {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token at once.
    Revoke {
        /// The token id.
        id: String,
    },
}

/// Parses `90s`, `30m`, `12h`, `7d` (or plain seconds).
pub fn parse_duration(text: &str) -> Result<time::Duration, UserError> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: i64 = number.parse().map_err(|_| {
        UserError::new(format!(
            "Invalid duration \"{text}\": expected e.g. 30m, 12h, 7d."
        ))
    })?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(UserError::new(format!(
                "Invalid duration \"{text}\": the unit must be s, m, h or d."
            )));
        }
    };
    Ok(time::Duration::seconds(seconds))
}

/// Runs `berth token …`.
pub fn run(home: &Home, command: TokenCommand) -> Result<ExitCode> {
    let mut storage = crate::storage_url::open(home)?;
    let mut out = std::io::stdout().lock();
    match command {
        TokenCommand::Create {
            description,
            read_only,
            component_access,
            admin,
            expires_in,
            json,
        } => {
            let expires = expires_in
                .as_deref()
                .map(parse_duration)
                .transpose()?
                .map(|d| time::OffsetDateTime::now_utc() + d);
            let (token, secret) = storage
                .create_token(&NewToken {
                    description,
                    admin,
                    read_only,
                    component_access,
                    expires,
                    job_id: None,
                })
                .map_err(storage_error)?;
            if json {
                let mut value = serde_json::to_value(&token)?;
                value["secret"] = serde_json::Value::String(secret);
                writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
            } else {
                writeln!(out, "token {} created; its secret (shown once):", token.id)?;
                writeln!(out, "{secret}")?;
            }
        }
        TokenCommand::Ls { json } => {
            let tokens = storage.tokens().map_err(storage_error)?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&tokens)?)?;
            } else {
                writeln!(
                    out,
                    "{:<6} {:<8} {:<32} {:<24} STATE",
                    "ID", "KIND", "DESCRIPTION", "COMPONENTS"
                )?;
                for t in tokens {
                    let kind = if t.admin {
                        "admin"
                    } else if t.read_only {
                        "read"
                    } else {
                        "write"
                    };
                    let components = t
                        .component_access
                        .as_ref()
                        .map_or("all".to_owned(), |c| c.join(","));
                    let state = if t.revoked.is_some() {
                        "revoked"
                    } else if t
                        .expires
                        .is_some_and(|e| e <= time::OffsetDateTime::now_utc())
                    {
                        "expired"
                    } else {
                        "valid"
                    };
                    writeln!(
                        out,
                        "{:<6} {:<8} {:<32} {:<24} {state}",
                        t.id, kind, t.description, components
                    )?;
                }
            }
        }
        TokenCommand::Revoke { id } => {
            storage.revoke_token(&id).map_err(storage_error)?;
            writeln!(out, "token {id} revoked")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), time::Duration::seconds(90));
        assert_eq!(parse_duration("30m").unwrap(), time::Duration::minutes(30));
        assert_eq!(parse_duration("12h").unwrap(), time::Duration::hours(12));
        assert_eq!(parse_duration("7d").unwrap(), time::Duration::days(7));
        assert_eq!(parse_duration("5").unwrap(), time::Duration::seconds(5));
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("m").is_err());
    }
}
