//! `berth oauth add|ls|rm`: OAuth credentials of components, stored in the home with their `#`
//! values encrypted; a configuration uses them with `authorization.oauth_api.id`
//! (see [`berth_job::oauth`]).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::UserError;
use berth_job::home::Home;
use berth_job::oauth::{self, OauthError};

/// `berth oauth` subcommands.
#[derive(Debug, Subcommand)]
pub enum OauthCommand {
    /// Store credentials for a component and print their id.
    Add {
        /// The component id.
        component: String,
        /// The credentials (a JSON object; `#` values are encrypted), `-` for stdin.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The id to store them under (default: a new one).
        #[arg(long, value_name = "ID")]
        id: Option<String>,
    },
    /// List stored credentials (never their values).
    Ls {
        /// Only this component's.
        component: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove stored credentials.
    Rm {
        /// The component id.
        component: String,
        /// The credentials id.
        id: String,
    },
}

fn classify(error: OauthError) -> anyhow::Error {
    if error.is_user_error() {
        UserError::new(error.to_string()).into()
    } else {
        error.into()
    }
}

/// Runs `berth oauth …`.
pub fn run(home: &Home, command: OauthCommand) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        OauthCommand::Add {
            component,
            file,
            id,
        } => {
            let credentials = super::run::read_config_data(&file)?;
            let id = oauth::add(home, &component, id.as_deref(), credentials).map_err(classify)?;
            writeln!(out, "{id}")?;
        }
        OauthCommand::Ls { component, json } => {
            let entries = oauth::list(home, component.as_deref()).map_err(classify)?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&entries)?)?;
            } else {
                writeln!(out, "{:<40} ID", "COMPONENT")?;
                for e in entries {
                    writeln!(out, "{:<40} {}", e.component, e.id)?;
                }
            }
        }
        OauthCommand::Rm { component, id } => {
            oauth::remove(home, &component, &id).map_err(classify)?;
            writeln!(out, "removed OAuth credentials {id} of {component}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
