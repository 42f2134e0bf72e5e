//! `berth action COMPONENT_ID ACTION (--config ID | --config-data FILE)`: a synchronous action
//! (reference §1.4): no mapping, no state, 30 seconds; prints the component's JSON answer on
//! stdout and exits 0, 1 or 2.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use berth_host_api::ExitClass;
use clap::Args;

use super::UserError;
use super::run::ConfigArgs;
use berth_job::home::Home;
use berth_job::{ActionRequest, run_action};

/// Arguments of `berth action`.
#[derive(Debug, Args)]
pub struct ActionArgs {
    /// The component id.
    #[arg(value_name = "COMPONENT_ID")]
    pub component_id: String,

    /// The action (one of the component's `synchronous_actions`).
    #[arg(value_name = "ACTION")]
    pub action: String,

    /// Which configuration to use.
    #[command(flatten)]
    pub source: ConfigArgs,

    /// Print JSON (the answer is JSON already; accepted like every command's `--json`).
    #[arg(long)]
    pub json: bool,
}

/// Runs `berth action`.
pub fn run(home: &Home, args: ActionArgs) -> Result<ExitCode> {
    let config = args.source.source()?;
    let request = ActionRequest {
        component_id: args.component_id,
        action: args.action,
        config,
        timeout: None,
    };
    let result = run_action(home, &request).map_err(|e| -> anyhow::Error {
        if e.is_user_error() {
            UserError::new(e.to_string()).into()
        } else {
            e.into()
        }
    })?;
    if let Some(answer) = &result.answer {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{answer}")?;
    }
    let class = result.outcome.class();
    if class != ExitClass::Success {
        let _ = writeln!(
            super::terminal_stderr(),
            "berth: {} {}: {class}: {}",
            request.component_id,
            request.action,
            result.outcome.message()
        );
    }
    Ok(ExitCode::from(class.code() as u8))
}
