//! `berth config …`: create, list and show configurations and print their stored state. `#`
//! values are encrypted as a configuration is stored (`KBC::ProjectSecure::`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::UserError;
use super::table::{open, print_json, storage_error, store_error};
use berth_job::home::Home;
use berth_storage::{NewConfig, StorageError};

/// `berth config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Create a configuration; prints its id.
    Create(CreateArgs),
    /// List a component's configurations.
    Ls(ListArgs),
    /// Print a configuration (with rows and state) as JSON.
    Show(ShowArgs),
    /// Print the stored state document of a configuration (or `--row`).
    State(StateArgs),
}

/// Arguments of `berth config create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Component id.
    pub component: String,
    /// The configuration document (JSON: `parameters`, `storage`, …).
    #[arg(long, value_name = "CONFIG.json")]
    pub file: PathBuf,
    /// Use this id instead of a generated one.
    #[arg(long)]
    pub id: Option<String>,
    /// Name.
    #[arg(long, default_value = "")]
    pub name: String,
}

/// Arguments of `berth config ls`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Component id.
    pub component: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `berth config show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Component id.
    pub component: String,
    /// Configuration id.
    pub config: String,
}

/// Arguments of `berth config state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// Component id.
    pub component: String,
    /// Configuration id.
    pub config: String,
    /// The state of this row instead of the configuration's.
    #[arg(long)]
    pub row: Option<String>,
}

/// Runs a `berth config` subcommand.
pub fn run(home: &Home, cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Create(args) => {
            let text = std::fs::read_to_string(&args.file).map_err(|source| {
                storage_error(StorageError::ReadInput {
                    what: "configuration",
                    path: args.file.clone(),
                    source,
                })
            })?;
            let configuration: serde_json::Value = serde_json::from_str(&text).map_err(|err| {
                UserError::new(format!(
                    "configuration {} is not valid JSON: {err}",
                    args.file.display()
                ))
            })?;
            let new = NewConfig {
                id: args.id,
                name: args.name,
                configuration,
                ..NewConfig::default()
            };
            let id =
                berth_job::secrets::create_config(home, &mut open(home)?, &args.component, new)
                    .map_err(store_error)?;
            println!("{id}");
        }
        ConfigCommand::Ls(args) => {
            let configs = open(home)?
                .list_configs(&args.component)
                .map_err(storage_error)?;
            if args.json {
                print_json(&configs)?;
            } else {
                let mut out = std::io::stdout().lock();
                for c in &configs {
                    writeln!(out, "{}\t{}\t{} rows", c.id, c.name, c.rows.len())?;
                }
            }
        }
        ConfigCommand::Show(args) => {
            let config = open(home)?
                .config(&args.component, &args.config)
                .map_err(storage_error)?;
            print_json(&config)?;
        }
        ConfigCommand::State(args) => {
            let state = open(home)?
                .state(&args.component, &args.config, args.row.as_deref())
                .map_err(storage_error)?;
            print_json(&state)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
