//! `berth config …`: create, change, remove, list and show configurations, add, change and
//! remove their rows, print or replace their stored state. `#` values are encrypted as a configuration is stored (`KBC::ProjectSecure::`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::UserError;
use super::storage_url;
use super::table::{print_json, storage_error, store_error};
use berth_job::home::Home;
use berth_storage::{ConfigUpdate, NewConfig, NewConfigRow, RowUpdate, State, StorageError};

/// `berth config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Create a configuration; prints its id.
    Create(CreateArgs),
    /// Change a configuration's document, name or description (rows and state are kept).
    Update(UpdateArgs),
    /// Remove a configuration with its rows and state.
    Rm(RemoveArgs),
    /// List a component's configurations.
    Ls(ListArgs),
    /// Print a configuration (with rows and state) as JSON.
    Show(ShowArgs),
    /// Print the stored state document of a configuration (or `--row`); `--set` replaces it.
    State(StateArgs),
    /// Add, change or remove a configuration's rows.
    #[command(subcommand)]
    Row(RowCommand),
}

/// `berth config row` subcommands.
#[derive(Debug, Subcommand)]
pub enum RowCommand {
    /// Add a row after the configuration's last one; prints its id.
    Add(RowAddArgs),
    /// Change a row's document, name, description or whether it is disabled.
    Update(RowUpdateArgs),
    /// Remove a row with its state.
    Rm(RowRemoveArgs),
}

/// Arguments of `berth config row add`.
#[derive(Debug, Args)]
pub struct RowAddArgs {
    /// Component id.
    pub component: String,
    /// Configuration id.
    pub config: String,
    /// The row's configuration document (JSON), merged over the configuration's at run time.
    #[arg(long, value_name = "ROW.json")]
    pub file: PathBuf,
    /// Use this id instead of a generated one.
    #[arg(long)]
    pub id: Option<String>,
    /// Name.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Add the row disabled (jobs skip it unless it is listed in `configRowIds`).
    #[arg(long)]
    pub disabled: bool,
}

/// Arguments of `berth config row update`.
#[derive(Debug, Args)]
pub struct RowUpdateArgs {
    /// Component id.
    pub component: String,
    /// Configuration id.
    pub config: String,
    /// Row id.
    pub row: String,
    /// A new row document (JSON).
    #[arg(long, value_name = "ROW.json")]
    pub file: Option<PathBuf>,
    /// A new name.
    #[arg(long)]
    pub name: Option<String>,
    /// A new description.
    #[arg(long)]
    pub description: Option<String>,
    /// Disable (`true`) or enable (`false`) the row.
    #[arg(long, value_name = "true|false")]
    pub disabled: Option<bool>,
}

/// Arguments of `berth config row rm`.
#[derive(Debug, Args)]
pub struct RowRemoveArgs {
    /// Component id.
    pub component: String,
    /// Configuration id.
    pub config: String,
    /// Row id.
    pub row: String,
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
    /// Print `{"id": ...}` instead of the bare id.
    #[arg(long)]
    pub json: bool,

    /// Store even when `parameters` do not match the component's configurationSchema (for
    /// emergencies; the job still checks the schema when it starts).
    #[arg(long)]
    pub no_validate: bool,
}

/// Arguments of `berth config update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Component id.
    pub component: String,
    /// Configuration id.
    pub config: String,
    /// A new configuration document (JSON).
    #[arg(long, value_name = "CONFIG.json")]
    pub file: Option<PathBuf>,
    /// Store even when `parameters` do not match the component's configurationSchema.
    #[arg(long)]
    pub no_validate: bool,
    /// A new name.
    #[arg(long)]
    pub name: Option<String>,
    /// A new description.
    #[arg(long)]
    pub description: Option<String>,
    /// Disable (`true`: jobs fail unless run with `--force`) or enable (`false`) the
    /// configuration.
    #[arg(long, value_name = "true|false")]
    pub disabled: Option<bool>,
    /// Print `{"id": ..., "version": ...}` instead of the sentence.
    #[arg(long)]
    pub json: bool,
}

impl UpdateArgs {
    pub(crate) const NOTHING_TO_CHANGE: &str =
        "config update: nothing to change (give --file, --name, --description or --disabled)";

    /// Whether no change was asked for.
    pub(crate) fn is_empty(&self) -> bool {
        self.file.is_none()
            && self.name.is_none()
            && self.description.is_none()
            && self.disabled.is_none()
    }
}

/// Arguments of `berth config rm`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Component id.
    pub component: String,
    /// Configuration id.
    pub config: String,
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
    /// Print JSON (the only form `show` prints; accepted like every command's `--json`).
    #[arg(long)]
    pub json: bool,
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
    /// Replace the stored state with this document (`{"component": {...}, "storage": {...}}`;
    /// `#` values are encrypted).
    #[arg(long, value_name = "STATE.json")]
    pub set: Option<PathBuf>,
    /// Print JSON (the only form `state` prints; accepted like every command's `--json`).
    #[arg(long)]
    pub json: bool,
}

/// Checks `configuration` (and, for an update, the stored rows merged over it) against the
/// component's configurationSchema; problems are a user error naming each JSON path.
fn check_schema(
    home: &Home,
    component_id: &str,
    configuration: &serde_json::Value,
    existing: Option<&str>,
) -> anyhow::Result<()> {
    let storage = storage_url::open(home)?;
    let component = storage.component(component_id).map_err(storage_error)?;
    let rows = match existing {
        Some(id) => {
            storage
                .config(component_id, id)
                .map_err(storage_error)?
                .rows
        }
        None => Vec::new(),
    };
    let rows: Vec<(&str, &serde_json::Value)> = rows
        .iter()
        .map(|r| (r.id.as_str(), &r.configuration))
        .collect();
    let report = berth_job::schema::check_stored(&component, configuration, &rows);
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    match report.error() {
        Some(message) => {
            Err(UserError::new(format!("{message} (store it anyway with --no-validate)")).into())
        }
        None => Ok(()),
    }
}

/// Runs a `berth config` subcommand.
pub fn run(home: &Home, cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Create(args) => {
            let configuration = read_document(&args.file)?;
            if !args.no_validate {
                check_schema(home, &args.component, &configuration, None)?;
            }
            let new = NewConfig {
                id: args.id,
                name: args.name,
                configuration,
                ..NewConfig::default()
            };
            let id = berth_job::secrets::create_config(
                home,
                &mut *storage_url::open(home)?,
                &args.component,
                new,
            )
            .map_err(store_error)?;
            if args.json {
                print_json(&serde_json::json!({"id": id}))?;
            } else {
                println!("{id}");
            }
        }
        ConfigCommand::Update(args) => {
            if args.is_empty() {
                return Err(UserError::new(UpdateArgs::NOTHING_TO_CHANGE).into());
            }
            let update = ConfigUpdate {
                name: args.name,
                description: args.description,
                configuration: args.file.as_deref().map(read_document).transpose()?,
                is_disabled: args.disabled,
            };
            if let Some(configuration) = &update.configuration
                && !args.no_validate
            {
                check_schema(home, &args.component, configuration, Some(&args.config))?;
            }
            let config = berth_job::secrets::update_config(
                home,
                &mut *storage_url::open(home)?,
                &args.component,
                &args.config,
                update,
            )
            .map_err(store_error)?;
            if args.json {
                print_json(&serde_json::json!({"id": config.id, "version": config.version}))?;
            } else {
                println!(
                    "Updated configuration {}/{} (version {})",
                    config.component_id, config.id, config.version
                );
            }
        }
        ConfigCommand::Rm(args) => {
            storage_url::open(home)?
                .delete_config(&args.component, &args.config)
                .map_err(storage_error)?;
            println!("Removed configuration {}/{}", args.component, args.config);
        }
        ConfigCommand::Ls(args) => {
            let configs = storage_url::open(home)?
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
            let config = storage_url::open(home)?
                .config(&args.component, &args.config)
                .map_err(storage_error)?;
            print_json(&config)?;
        }
        ConfigCommand::State(StateArgs {
            component,
            config,
            row,
            set: Some(file),
            json: _,
        }) => {
            let document = read_json("state", &file)?;
            let state = State::from_value(document)
                .map_err(|err| UserError::new(format!("state {}: {err}", file.display())))?;
            berth_job::secrets::set_state(
                home,
                &mut *storage_url::open(home)?,
                &component,
                &config,
                row.as_deref(),
                state,
            )
            .map_err(store_error)?;
            match row {
                Some(row) => println!("Stored the state of row {component}/{config}/{row}"),
                None => println!("Stored the state of configuration {component}/{config}"),
            }
        }
        ConfigCommand::Row(cmd) => run_row(home, cmd)?,
        ConfigCommand::State(args) => {
            let state = storage_url::open(home)?
                .state(&args.component, &args.config, args.row.as_deref())
                .map_err(storage_error)?;
            print_json(&state)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `berth config row …`.
fn run_row(home: &Home, cmd: RowCommand) -> anyhow::Result<()> {
    match cmd {
        RowCommand::Add(args) => {
            let row = NewConfigRow {
                id: args.id,
                name: args.name,
                description: args.description,
                configuration: read_json("row configuration", &args.file)?,
                is_disabled: args.disabled,
            };
            let row = berth_job::secrets::add_row(
                home,
                &mut *storage_url::open(home)?,
                &args.component,
                &args.config,
                row,
            )
            .map_err(store_error)?;
            println!("{}", row.id);
        }
        RowCommand::Update(args) => {
            let update = RowUpdate {
                name: args.name,
                description: args.description,
                configuration: args
                    .file
                    .as_deref()
                    .map(|f| read_json("row configuration", f))
                    .transpose()?,
                is_disabled: args.disabled,
            };
            if update.is_empty() {
                return Err(UserError::new(
                    "config row update: nothing to change (give --file, --name, --description or --disabled)",
                )
                .into());
            }
            let row = berth_job::secrets::update_row(
                home,
                &mut *storage_url::open(home)?,
                &args.component,
                &args.config,
                &args.row,
                update,
            )
            .map_err(store_error)?;
            println!(
                "Updated row {}/{}/{}{}",
                args.component,
                args.config,
                row.id,
                if row.is_disabled { " (disabled)" } else { "" }
            );
        }
        RowCommand::Rm(args) => {
            storage_url::open(home)?
                .delete_row(&args.component, &args.config, &args.row)
                .map_err(storage_error)?;
            println!(
                "Removed row {}/{}/{}",
                args.component, args.config, args.row
            );
        }
    }
    Ok(())
}

/// A configuration document read from `path` (a JSON file).
fn read_document(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    read_json("configuration", path)
}

/// A JSON document (`what`: configuration, row configuration, state) read from `path`.
fn read_json(what: &'static str, path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        storage_error(StorageError::ReadInput {
            what,
            path: path.to_path_buf(),
            source,
        })
    })?;
    Ok(serde_json::from_str(&text).map_err(|err| {
        UserError::new(format!(
            "{what} {} is not valid JSON: {err}",
            path.display()
        ))
    })?)
}
