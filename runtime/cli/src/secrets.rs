//! `berth info`, `berth encrypt` and `berth key rotate`: who this home is, making ciphers, and
//! replacing the master key. There is no decrypt command (reference §9.4).
//!
//! - `berth info`: the home, its project id and stack id (from `settings.toml`), and its master
//!   key;
//! - `berth encrypt --component ID [--config ID] [--project-wide] [--component-only]
//!   [--branch-type T] (TEXT | --json FILE)`: a cipher of TEXT, or the JSON document with its `#`
//!   values encrypted. The project is the home's; `--component-only` makes the
//!   `KBC::ComponentSecure::` ciphers image and stack parameters need (seed 003);
//! - `berth key rotate`: a new master key, every stored cipher re-encrypted under it in one
//!   transaction; run again after an interruption to finish it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::UserError;
use super::table::store_error;
use berth_job::home::Home;
use berth_job::secrets::{self, EncryptInput, EncryptRequest};

/// Arguments of `berth encrypt`.
/// Arguments of `berth info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `berth encrypt` (its `--json FILE` names a document to encrypt; the output of
/// a JSON document is JSON).
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The component the cipher is for.
    #[arg(long, value_name = "ID", required_unless_present = "project_wide")]
    pub component: Option<String>,
    /// Bind the cipher to this configuration too (`KBC::ConfigSecure::`).
    #[arg(long, value_name = "ID", conflicts_with_all = ["project_wide", "component_only"])]
    pub config: Option<String>,
    /// A cipher for any component of the project (`KBC::ProjectWideSecure::`).
    #[arg(long, conflicts_with = "component_only")]
    pub project_wide: bool,
    /// A cipher for the component alone, in any project (`KBC::ComponentSecure::`): what image
    /// and stack parameters need.
    #[arg(long)]
    pub component_only: bool,
    /// Bind the cipher to a branch type too: `default` or `dev`.
    #[arg(long, value_name = "T", conflicts_with = "component_only")]
    pub branch_type: Option<String>,
    /// Encrypt the `#` values of this JSON document (`-` for stdin) instead of TEXT.
    #[arg(long, value_name = "FILE", conflicts_with = "text")]
    pub json: Option<PathBuf>,
    /// The text to encrypt.
    #[arg(value_name = "TEXT", required_unless_present = "json")]
    pub text: Option<String>,
}

/// `berth key` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Replace the master key: re-encrypt every stored cipher under a new one.
    Rotate,
}

/// Runs `berth info`.
pub fn info(home: &Home, args: InfoArgs) -> Result<ExitCode> {
    let settings = home.settings().map_err(|e| UserError::new(e.to_string()))?;
    let files = secrets::key_files(home);
    if args.json {
        let key = match files.open() {
            Ok(keyring) => serde_json::json!({
                "path": files.current(),
                "id": keyring.current().id_hex(),
                "pendingRotation": keyring.pending().map(|p| p.id_hex()),
            }),
            Err(berth_secrets::KeyError::Missing { .. }) => {
                serde_json::json!({"path": files.current(), "id": null})
            }
            Err(e) => serde_json::json!({"path": files.current(), "error": e.to_string()}),
        };
        let server = berth_server::lock::held_by(home.root()).map(|server| {
            serde_json::json!({"url": server.url, "pid": server.pid, "started": server.started})
        });
        super::table::print_json(&serde_json::json!({
            "home": home.root(),
            "projectId": settings.project.id,
            "stackId": settings.project.stack_id,
            "masterKey": key,
            "storage": match home.shared_storage() {
                Some(shared) => serde_json::json!({"url": shared.pool.url(), "node": shared.node}),
                None => serde_json::json!({"path": home.storage(), "bytes": tree_size(&home.storage())}),
            },
            "server": server,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "home:        {}", home.root().display())?;
    writeln!(out, "project id:  {}", settings.project.id)?;
    writeln!(out, "stack id:    {}", settings.project.stack_id)?;
    match files.open() {
        Ok(keyring) => {
            writeln!(
                out,
                "master key:  {} (key {})",
                files.current().display(),
                keyring.current().id_hex()
            )?;
            if let Some(pending) = keyring.pending() {
                writeln!(
                    out,
                    "             a key rotation to key {} was interrupted; `berth key rotate` finishes it",
                    pending.id_hex()
                )?;
            }
        }
        Err(berth_secrets::KeyError::Missing { .. }) => writeln!(
            out,
            "master key:  {} (not created yet)",
            files.current().display()
        )?,
        Err(e) => writeln!(out, "master key:  {}: {e}", files.current().display())?,
    }
    match home.shared_storage() {
        Some(shared) => writeln!(
            out,
            "storage:     {} (PostgreSQL, shared; this process is node {})",
            shared.pool.url(),
            shared.node
        )?,
        None => writeln!(
            out,
            "storage:     {} ({})",
            home.storage().display(),
            human_bytes(tree_size(&home.storage()))
        )?,
    }
    match berth_server::lock::held_by(home.root()) {
        Some(server) => writeln!(
            out,
            "server:      {} (pid {}, since {})",
            server.url, server.pid, server.started
        )?,
        None => writeln!(out, "server:      none")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The bytes of the regular files under `dir` (links not followed; 0 when it does not exist).
fn tree_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => tree_size(&entry.path()),
            Ok(meta) if meta.is_file() => meta.len(),
            _ => 0,
        })
        .sum()
}

/// `n` bytes in the largest binary unit that keeps it at least 1.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Runs `berth encrypt`.
pub fn encrypt(home: &Home, args: EncryptArgs) -> Result<ExitCode> {
    let project = home
        .settings()
        .map_err(|e| UserError::new(e.to_string()))?
        .project
        .id;
    let request = EncryptRequest {
        component_id: if args.project_wide {
            None
        } else {
            args.component.clone()
        },
        project_id: (!args.component_only).then_some(project),
        config_id: args.config.clone(),
        branch_type: args.branch_type.clone(),
    };
    let input = match (&args.json, args.text) {
        (Some(path), _) => EncryptInput::Json(super::run::read_config_data(path)?),
        (None, Some(text)) => EncryptInput::Text(text),
        (None, None) => return Err(UserError::new("Specify TEXT or --json FILE.").into()),
    };
    let mut out = std::io::stdout().lock();
    match secrets::encrypt(home, &request, input).map_err(store_error)? {
        EncryptInput::Text(cipher) => writeln!(out, "{cipher}")?,
        EncryptInput::Json(value) => {
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `berth key …`.
pub fn key(home: &Home, command: KeyCommand) -> Result<ExitCode> {
    match command {
        KeyCommand::Rotate => {
            let rotation =
                secrets::rotate(home, secrets::rotation_failpoint).map_err(store_error)?;
            let mut out = std::io::stdout().lock();
            if rotation.resumed {
                writeln!(out, "finished an interrupted rotation")?;
            }
            writeln!(
                out,
                "master key rotated: {} -> {}; {} ciphers re-encrypted in {} stored documents",
                rotation.old_key, rotation.new_key, rotation.ciphers, rotation.documents
            )?;
            if rotation.skipped > 0 {
                writeln!(
                    out,
                    "warning: {} stored ciphers open with no key of this home and were left as they were",
                    rotation.skipped
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(1023), "1023 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(10 * 1024 * 1024 * 1024), "10.0 GiB");
    }
}
