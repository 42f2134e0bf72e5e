//! `berth exec`: run a component on an existing data folder.
//!
//! The component is any image [`berth_job::launch`] understands: a `.wasm` path, a registry reference
//! or `docker://IMAGE`.
//!
//! The folder must hold `config.json`; `--action` overrides its `action`. berth writes nothing
//! into the folder but what the component writes, streams the component's stdout for `run`,
//! prints a synchronous action's JSON answer on stdout, reports the classified outcome on stderr
//! and exits 0, 1 or 2 by the outcome's class.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use berth_host_api::exit::ExitClass;
use clap::Args;

use super::UserError;
use berth_exec::compiled_cache::sha256_hex;
use berth_exec::outcome::{Outcome, action_response};
use berth_exec::{ExecRequest, JobEnvironment, Limits, RUN_ACTION, StdoutMode, classify};
use berth_job::home::Home;
use berth_job::launch::{LaunchOptions, launch};

/// Carries `--action` to the component when it differs from config.json's `action`.
pub const ACTION_OVERRIDE_ENV: &str = "BERTH_ACTION";

/// Arguments of `berth exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The component image: a WebAssembly module path (`.wasm`), a registry reference
    /// (`REGISTRY/REPO:TAG`, `REGISTRY/REPO@sha256:…`) or `docker://IMAGE[:TAG]`.
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// The data folder (must hold config.json); the component sees it as /data.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,

    /// The action to run instead of config.json's `action`.
    #[arg(long, value_name = "NAME")]
    pub action: Option<String>,

    /// Wall-clock limit in seconds (default: 3600 for `run`, 30 for any other action).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,

    /// Memory limit in megabytes (10^6 bytes; default 256).
    #[arg(long, value_name = "MB")]
    pub memory: Option<u64>,

    /// An extra environment variable for the component (repeatable); overrides the defaults.
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,
}

fn parse_env_pair(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected K=V, found {raw:?}")),
    }
}

/// What `berth exec` reads from config.json.
struct ConfigSummary {
    action: String,
    /// Stands in for KBC_CONFIGID when no configuration id is known (reference §1.5).
    parameters_digest: String,
}

fn read_config(data_dir: &Path) -> Result<ConfigSummary> {
    if !data_dir.is_dir() {
        return Err(UserError::new(format!(
            "The data folder {} does not exist or is not a directory.",
            data_dir.display()
        ))
        .into());
    }
    let path = data_dir.join(berth_host_api::paths::CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(UserError::new(format!(
                "The data folder {} must hold config.json.",
                data_dir.display()
            ))
            .into());
        }
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    let config = berth_host_api::config::ConfigFile::from_json_lenient(&text)
        .map_err(|error| UserError::new(format!("{}: {error}", path.display())))?;
    let parameters = serde_json::to_vec(&config.parameters).unwrap_or_default();
    Ok(ConfigSummary {
        action: config.action.clone(),
        parameters_digest: sha256_hex(&parameters)[..40].to_owned(),
    })
}

/// A short name for messages and argv[0]: the last path or repository segment, without
/// `.wasm`, tag or digest.
fn component_name(image: &str) -> String {
    let image = image.trim_start_matches("docker://");
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    let last = last.split(':').next().unwrap_or(last);
    let last = last.strip_suffix(".wasm").unwrap_or(last);
    if last.is_empty() {
        "component".to_owned()
    } else {
        last.to_owned()
    }
}

/// Runs `berth exec`.
pub fn run(home: &Home, args: ExecArgs) -> Result<ExitCode> {
    let config = read_config(&args.data_dir)?;
    let action = args.action.clone().unwrap_or_else(|| config.action.clone());
    let name = component_name(&args.image);
    let mut limits = Limits::for_action(&action);
    if let Some(secs) = args.timeout {
        limits.timeout = Duration::from_secs(secs);
    }
    if let Some(mb) = args.memory {
        limits.memory_bytes = mb.saturating_mul(1_000_000);
    }
    let mut env = JobEnvironment::local(&name, &config.parameters_digest).to_vars();
    if action != config.action {
        // berth exec never rewrites config.json, so an overridden action reaches the component
        // through berth's one extension of the environment (berth-guest-sdk honours it).
        env.push((ACTION_OVERRIDE_ENV.to_owned(), action.clone()));
    }
    for (key, value) in args.env {
        match env.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => env.push((key, value)),
        }
    }

    let options = LaunchOptions {
        name: name.clone(),
        ..LaunchOptions::default()
    };
    let launched = launch(home, &args.image, &options).map_err(|error| {
        if error.is_user_error() {
            anyhow::Error::new(UserError::new(error.to_string()))
        } else {
            anyhow::Error::new(error)
        }
    })?;
    let request = ExecRequest {
        data_dir: args.data_dir.clone(),
        action: action.clone(),
        env,
        limits: limits.clone(),
        output_filter: None,
        stdout: if action == RUN_ACTION {
            StdoutMode::Stream
        } else {
            StdoutMode::Capture
        },
        cancel: None,
    };
    let result = launched.executor.execute(&request)?;
    let mut outcome = classify(&result, &name, limits.timeout, limits.memory_bytes);
    if action != RUN_ACTION && outcome == Outcome::Success {
        match action_response(&result.stdout.bytes) {
            Ok(answer) => {
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "{answer}").context("writing the action's answer")?;
            }
            Err(error) => {
                outcome = Outcome::UserError {
                    message: error.to_string(),
                }
            }
        }
    }
    report(
        &name,
        &action,
        &outcome,
        &result.stderr.text(),
        result.duration,
    );
    Ok(ExitCode::from(outcome.class().code() as u8))
}

fn report(name: &str, action: &str, outcome: &Outcome, stderr: &str, duration: Duration) {
    let mut err = super::terminal_stderr();
    let elapsed = format!("{:.1} ms", duration.as_secs_f64() * 1000.0);
    let _ = match outcome.class() {
        ExitClass::Success => {
            if !stderr.trim().is_empty() {
                let _ = writeln!(err, "{}", stderr.trim_end());
            }
            writeln!(err, "berth: {name} {action}: success in {elapsed}")
        }
        ExitClass::UserError => writeln!(
            err,
            "berth: {name} {action}: user error in {elapsed}: {}",
            outcome.message()
        ),
        ExitClass::ApplicationError => writeln!(
            err,
            "berth: {name} {action}: application error in {elapsed}: {}",
            outcome.message()
        ),
    };
}
