//! `berth component …`: register, change, remove, list and show component definitions. `#` values of image
//! and stack parameters are encrypted as a component is registered (`KBC::ComponentSecure::`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::storage_url;
use super::table::{print_json, storage_error, store_error};
use berth_job::home::Home;
use berth_storage::{ComponentDefinition, DefinitionShape, StorageError};

/// `berth component` subcommands.
#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// Register (or replace) a component from its definition file.
    Add(AddArgs),
    /// Replace an existing component's definition (an error when it is not registered).
    Update(AddArgs),
    /// Remove a component; refused while it has configurations unless `--force`.
    Rm(RemoveArgs),
    /// List components.
    Ls(ListArgs),
    /// Print a component's definition as JSON.
    Show(ShowArgs),
}

/// Arguments of `berth component add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The definition (JSON): berth's shape, or the Developer Portal's component detail.
    /// Unknown keys are ignored with a warning naming each.
    #[arg(long, value_name = "DEFINITION.json")]
    pub file: PathBuf,
}

/// Arguments of `berth component rm`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Component id.
    pub id: String,
    /// Also delete the component's configurations (with their rows and state).
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `berth component ls`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `berth component show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Component id.
    pub id: String,
    /// Print JSON (the only form `show` prints; accepted like every command's `--json`).
    #[arg(long)]
    pub json: bool,
}

/// Runs a `berth component` subcommand.
pub fn run(home: &Home, cmd: ComponentCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ComponentCommand::Add(args) => {
            let definition = read_definition(&args.file)?;
            let id = definition.id.clone();
            let replaced =
                berth_job::secrets::add_component(home, &mut *storage_url::open(home)?, definition)
                    .map_err(store_error)?;
            let verb = if replaced { "Updated" } else { "Added" };
            println!("{verb} component {id}");
        }
        ComponentCommand::Update(args) => {
            let definition = read_definition(&args.file)?;
            let id = definition.id.clone();
            berth_job::secrets::update_component(home, &mut *storage_url::open(home)?, definition)
                .map_err(store_error)?;
            println!("Updated component {id}");
        }
        ComponentCommand::Rm(args) => {
            let removed = storage_url::open(home)?
                .delete_component(&args.id, args.force)
                .map_err(storage_error)?;
            if removed > 0 {
                println!(
                    "Removed component {} and its {removed} configuration(s)",
                    args.id
                );
            } else {
                println!("Removed component {}", args.id);
            }
        }
        ComponentCommand::Ls(args) => {
            let components = storage_url::open(home)?
                .list_components()
                .map_err(storage_error)?;
            if args.json {
                print_json(&components)?;
            } else {
                let mut out = std::io::stdout().lock();
                for c in &components {
                    writeln!(out, "{}\t{}\t{}", c.id, c.image, c.name)?;
                }
            }
        }
        ComponentCommand::Show(args) => {
            let definition = storage_url::open(home)?
                .component(&args.id)
                .map_err(storage_error)?;
            print_json(&definition)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A definition file read and validated.
/// Reads a definition in berth's shape or the Developer Portal's, warning about every key it
/// ignores and every configuration schema that cannot be used.
fn read_definition(path: &std::path::Path) -> anyhow::Result<ComponentDefinition> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        storage_error(StorageError::ReadInput {
            what: "component definition",
            path: path.to_path_buf(),
            source,
        })
    })?;
    let parsed = ComponentDefinition::parse(&text).map_err(storage_error)?;
    let shape = match parsed.shape {
        DefinitionShape::Berth => "berth's shape",
        DefinitionShape::DeveloperPortal => "Developer Portal shape",
    };
    for key in &parsed.ignored {
        eprintln!("warning: component definition ({shape}): unknown key \"{key}\" ignored");
    }
    let definition = parsed.definition;
    for why in berth_job::schema::unusable_schemas(&definition) {
        eprintln!("warning: {why}");
    }
    Ok(definition)
}
