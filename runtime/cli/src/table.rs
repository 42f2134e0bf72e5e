//! `berth table …`: import, export, list, show and remove Storage tables — in the home's
//! embedded Storage, or in PostgreSQL when `BERTH_STORAGE_URL` names a database (see
//! `storage_url`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::UserError;
use super::storage_url;
use berth_job::home::Home;
use berth_storage::{
    CsvDialect, DeleteFilter, ExportOptions, ImportOptions, StorageError, TableId, TableInfo,
    WhereFilter, WhereOperator,
};

/// `berth table` subcommands.
#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Load a CSV file into a table (created when missing).
    Import(ImportArgs),
    /// Write a table as CSV (every value quoted) to stdout or a file.
    Export(ExportArgs),
    /// List tables.
    Ls(ListArgs),
    /// Describe one table.
    Show(ShowArgs),
    /// Remove a table.
    Rm(RemoveArgs),
}

/// Arguments of `berth table import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Table id, `stage.c-bucket.table`.
    pub table: String,
    /// The CSV file (with a header line unless `--columns` is given).
    pub file: PathBuf,
    /// Append (upsert by primary key) instead of replacing the rows.
    #[arg(long)]
    pub incremental: bool,
    /// Primary key columns, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub primary_key: Vec<String>,
    /// Field delimiter (one character; `\t` for tab).
    #[arg(long, default_value = ",", value_name = "C")]
    pub delimiter: String,
    /// Enclosure character (empty for none).
    #[arg(long, default_value = "\"", value_name = "C")]
    pub enclosure: String,
    /// The file is headless; these are its columns.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub columns: Vec<String>,
    /// Delete rows whose column matches before loading.
    #[arg(long, value_name = "C")]
    pub delete_where_column: Option<String>,
    /// Values for `--delete-where-column`, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "V1,V2")]
    pub delete_where_values: Vec<String>,
    /// `eq` or `ne` for `--delete-where-column`.
    #[arg(long, default_value = "eq", value_name = "OP")]
    pub delete_where_operator: String,
    /// Print the import report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `berth table export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Table id.
    pub table: String,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Columns to export, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub columns: Vec<String>,
    /// Filter column.
    #[arg(long, value_name = "C")]
    pub where_column: Option<String>,
    /// Filter values, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "V1,V2")]
    pub where_values: Vec<String>,
    /// `eq` (in the values) or `ne` (not in them).
    #[arg(long, default_value = "eq", value_name = "OP")]
    pub where_operator: String,
    /// At most this many rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Only rows changed at or after this RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub changed_since: Option<String>,
}

/// Arguments of `berth table ls`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `berth table show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Table id.
    pub table: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `berth table rm`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Table id.
    pub table: String,
}

/// Turns a Storage error into the CLI's error: user errors exit 1, the rest 2.
pub(crate) fn storage_error(error: StorageError) -> anyhow::Error {
    if error.is_user_error() {
        UserError::new(error.to_string()).into()
    } else {
        anyhow::Error::new(error)
    }
}

pub(crate) fn store_error(error: berth_job::StoreError) -> anyhow::Error {
    if error.is_user_error() {
        UserError::new(error.to_string()).into()
    } else {
        anyhow::Error::new(error)
    }
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).context("writing JSON to stdout")?;
    writeln!(out).context("writing to stdout")?;
    Ok(())
}

fn table_id(text: &str) -> anyhow::Result<TableId> {
    TableId::parse(text).map_err(storage_error)
}

fn operator(text: &str) -> anyhow::Result<WhereOperator> {
    text.parse()
        .map_err(|message: String| UserError::new(message).into())
}

fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Runs a `berth table` subcommand.
pub fn run(home: &Home, cmd: TableCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TableCommand::Import(args) => import(home, args),
        TableCommand::Export(args) => export(home, args),
        TableCommand::Ls(args) => {
            let tables = storage_url::open(home)?
                .list_tables()
                .map_err(storage_error)?;
            if args.json {
                print_json(&tables)?;
            } else {
                let mut out = std::io::stdout().lock();
                for t in &tables {
                    writeln!(
                        out,
                        "{}\t{} rows\t{}\tprimary key: {}",
                        t.id,
                        t.rows,
                        t.columns.join(","),
                        t.primary_key.join(",")
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TableCommand::Show(args) => {
            let info = storage_url::open(home)?
                .table(&table_id(&args.table)?)
                .map_err(storage_error)?;
            if args.json {
                print_json(&info)?;
            } else {
                show(&info)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        TableCommand::Rm(args) => {
            let id = table_id(&args.table)?;
            storage_url::open(home)?
                .remove_table(&id)
                .map_err(storage_error)?;
            println!("Removed table {id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn show(info: &TableInfo) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "id:               {}", info.id)?;
    writeln!(out, "columns:          {}", info.columns.join(", "))?;
    writeln!(out, "primary key:      {}", info.primary_key.join(", "))?;
    writeln!(out, "rows:             {}", info.rows)?;
    writeln!(out, "created:          {}", format_time(info.created))?;
    writeln!(
        out,
        "last import date: {}",
        format_time(info.last_import_date)
    )?;
    writeln!(
        out,
        "last change date: {}",
        format_time(info.last_change_date)
    )?;
    for m in &info.metadata {
        writeln!(
            out,
            "metadata:         [{}] {} = {}",
            m.provider, m.key, m.value
        )?;
    }
    for (column, entries) in &info.column_metadata {
        for m in entries {
            writeln!(
                out,
                "column metadata:  {column}: [{}] {} = {}",
                m.provider, m.key, m.value
            )?;
        }
    }
    Ok(())
}

fn import(home: &Home, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let id = table_id(&args.table)?;
    let dialect =
        CsvDialect::from_strs(&args.delimiter, &args.enclosure).map_err(UserError::new)?;
    let mut delete_where = Vec::new();
    if let Some(column) = args.delete_where_column {
        delete_where.push(DeleteFilter {
            where_filters: vec![WhereFilter {
                column,
                operator: operator(&args.delete_where_operator)?,
                values: args.delete_where_values,
            }],
            ..DeleteFilter::default()
        });
    } else if !args.delete_where_values.is_empty() {
        return Err(UserError::new("--delete-where-values needs --delete-where-column").into());
    }
    let options = ImportOptions {
        incremental: args.incremental,
        primary_key: args.primary_key,
        dialect,
        columns: args.columns,
        delete_where,
        max_field_bytes: None,
    };
    let report = storage_url::open(home)?
        .import_csv(&id, &args.file, &options)
        .map_err(storage_error)?;
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "Imported {} rows into {} ({} rows in the table)",
            report.rows_imported, report.table, report.rows
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn export(home: &Home, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let id = table_id(&args.table)?;
    let changed_since = match &args.changed_since {
        Some(text) => Some(OffsetDateTime::parse(text, &Rfc3339).map_err(|err| {
            UserError::new(format!(
                "--changed-since \"{text}\" is not an RFC 3339 time: {err}"
            ))
        })?),
        None => None,
    };
    let options = ExportOptions {
        columns: args.columns,
        where_column: args.where_column,
        where_operator: operator(&args.where_operator)?,
        where_values: args.where_values,
        changed_since,
        changed_until: None,
        limit: args.limit,
    };
    let storage = storage_url::open(home)?;
    match &args.output {
        Some(path) => {
            storage
                .export_csv_to_path(&id, path, &options)
                .map_err(storage_error)?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            storage
                .export_csv(&id, &mut stdout, &options)
                .map_err(storage_error)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
