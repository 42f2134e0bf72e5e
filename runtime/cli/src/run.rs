//! `berth run COMPONENT_ID (--config ID | --config-data FILE) [--row ID] [--keep-data] [--tag TAG] [--debug | --force]`:
//! one job from Storage to Storage. Shows progress on a terminal, prints a summary (tables in and
//! out with row counts, files, state change, usage, duration) and exits 0, 1 or 2 by outcome.
//!
//! `BERTH_PARENT_RUN_ID` makes the job a child of that run: its run id becomes `<parent>.<id>`,
//! which `filter_by_run_id` file mappings follow.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::UserError;
use berth_job::home::Home;
use berth_job::record::{JobRecord, JobStatus};
use berth_job::{ConfigSource, JobRequest, Progress, run_job};
use berth_staging::Stage;
use berth_staging::input_tables::StagedTable;
use berth_staging::output_tables::LoadedTable;

/// The environment variable naming the parent run of a job.
pub const PARENT_RUN_ID_ENV: &str = "BERTH_PARENT_RUN_ID";

/// `--config ID | --config-data FILE`: a stored configuration or a document (shared by
/// `berth run` and `berth action`).
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// A stored configuration of the component.
    /// With `--config-data` too, the document runs and this id names the default bucket and
    /// the state (reference §9.1).
    #[arg(long, value_name = "ID", required_unless_present = "config_data")]
    pub config: Option<String>,

    /// A configuration document (JSON file, `-` for stdin) instead of a stored configuration;
    /// without `--config` no state is read or stored.
    #[arg(long, value_name = "FILE")]
    pub config_data: Option<PathBuf>,
}

impl ConfigArgs {
    /// The configuration these arguments name.
    pub fn source(&self) -> Result<ConfigSource> {
        match (&self.config, &self.config_data) {
            (_, Some(path)) => Ok(ConfigSource::Data(read_config_data(path)?)),
            (Some(id), None) => Ok(ConfigSource::Stored(id.clone())),
            (None, None) => Err(UserError::new("Specify --config or --config-data.").into()),
        }
    }
}

/// Arguments of `berth run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The component id (as registered with `berth component add`).
    #[arg(value_name = "COMPONENT_ID")]
    pub component_id: String,

    /// Which configuration to run.
    #[command(flatten)]
    pub source: ConfigArgs,

    /// Run one row of the stored configuration.
    #[arg(long, value_name = "ID", requires = "config")]
    pub row: Option<String>,

    /// Keep the job's data folder and print where it is.
    #[arg(long)]
    pub keep_data: bool,

    /// Run another tag of the component's image.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,

    /// Debug mode: archive the data folder before and after the component (stored as Storage
    /// files tagged `debug`) instead of output mapping; no table, file or state is written.
    #[arg(long)]
    pub debug: bool,

    /// Run the configuration even when it is disabled (the job's mode `forceRun`).
    #[arg(long, conflicts_with = "debug")]
    pub force: bool,

    /// A value of the configuration's variables, `NAME=VALUE` (repeatable; together they are
    /// the job's `variableValuesData`, the first value source).
    #[arg(
        long = "variable",
        value_name = "NAME=VALUE",
        conflicts_with = "variable_values_id"
    )]
    pub variables: Vec<String>,

    /// The row of the configuration's variables configuration (`keboola.variables`) holding the
    /// values (the job's `variableValuesId`).
    #[arg(long, value_name = "ROW_ID")]
    pub variable_values_id: Option<String>,

    /// Print the job's record as JSON instead of the summary (the component's output is not
    /// streamed then, so stdout is the JSON alone).
    #[arg(long)]
    pub json: bool,
}

/// `--variable NAME=VALUE` items as `variableValuesData`.
pub fn variable_values_data(items: &[String]) -> Result<Option<serde_json::Value>> {
    if items.is_empty() {
        return Ok(None);
    }
    let values = items
        .iter()
        .map(|item| {
            let (name, value) = item.split_once('=').ok_or_else(|| {
                UserError::new(format!("--variable {item}: expected NAME=VALUE."))
            })?;
            Ok(serde_json::json!({"name": name, "value": value}))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(serde_json::json!({ "values": values })))
}

/// The largest `--config-data` document (16 MiB): a configuration is a few KB of JSON, and
/// berth holds it in memory several times over while resolving it.
pub const MAX_CONFIG_DATA_BYTES: u64 = 16 << 20;

/// Reads a `--config-data` document (at most [`MAX_CONFIG_DATA_BYTES`]; nested at most 127
/// levels, serde_json's recursion limit).
pub fn read_config_data(path: &Path) -> Result<serde_json::Value> {
    use std::io::Read as _;
    let reader: Box<dyn std::io::Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| {
            UserError::new(format!(
                "Cannot read the configuration file {}: {e}",
                path.display()
            ))
        })?)
    };
    let mut text = String::new();
    reader
        .take(MAX_CONFIG_DATA_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| {
            UserError::new(format!(
                "Cannot read the configuration file {}: {e}",
                path.display()
            ))
        })?;
    if text.len() as u64 > MAX_CONFIG_DATA_BYTES {
        return Err(UserError::new(format!(
            "The configuration file {} is larger than the limit of {MAX_CONFIG_DATA_BYTES} bytes.",
            path.display()
        ))
        .into());
    }
    serde_json::from_str(&text).map_err(|e| {
        UserError::new(format!(
            "The configuration file {} is not valid JSON: {e}",
            path.display()
        ))
        .into()
    })
}

/// Runs `berth run`.
pub fn run(home: &Home, args: RunArgs) -> Result<ExitCode> {
    let mut request = JobRequest::new(&args.component_id, args.source.source()?);
    // `--config` with `--config-data`: the document runs, the id names the state and bucket.
    if request.config_id.is_none() {
        request.config_id = args.source.config.clone();
    }
    request.row_ids = args.row.iter().cloned().collect();
    request.keep_data = args.keep_data;
    request.tag = args.tag.clone();
    request.variable_values_data = variable_values_data(&args.variables)?;
    request.variable_values_id = args.variable_values_id.clone();
    if args.debug {
        request.mode = berth_job::RunMode::Debug;
    }
    request.force_run = args.force;
    request.parent_run_id = std::env::var(PARENT_RUN_ID_ENV)
        .ok()
        .filter(|p| !p.is_empty());
    request.stream_output = !args.json;
    let progress = BarProgress::new();
    let job = run_job(home, &request, &progress)?;
    if args.json {
        super::table::print_json(&job.record)?;
    } else {
        print_summary(&job.record)?;
    }
    if let Some(dir) = &job.data_dir {
        println!("data folder kept: {}", dir.display());
    }
    Ok(ExitCode::from(
        job.record.result.exit_code.unwrap_or(2) as u8
    ))
}

/// Prints the summary of a finished job. Messages and warnings carry the component's own text,
/// so on a terminal its control characters are shown, not obeyed.
pub fn print_summary(record: &JobRecord) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out: Box<dyn Write> = if stdout.is_terminal() {
        Box::new(berth_exec::terminal::EscapeControls::new(stdout.lock()))
    } else {
        Box::new(stdout.lock())
    };
    let seconds = record.duration_ms.unwrap_or(0) as f64 / 1000.0;
    writeln!(
        out,
        "job {} ({}{}): {} in {seconds:.1} s",
        record.id,
        record.component_id,
        record
            .config_id
            .as_ref()
            .map(|c| format!(", configuration {c}"))
            .unwrap_or_default(),
        record.status.as_str(),
    )?;
    write_body(&mut *out, record)?;
    Ok(())
}

/// The tables, files, state, usage, warnings and result of a record.
pub fn write_body(out: &mut dyn Write, record: &JobRecord) -> std::io::Result<()> {
    let tables =
        |label: &str, out: &mut dyn Write, moves: &[berth_job::record::TableMove], input: bool| {
            if moves.is_empty() {
                return writeln!(out, "{label}: none");
            }
            writeln!(out, "{label}:")?;
            for t in moves {
                let (from, to) = if input {
                    (t.table.clone(), format!("in/tables/{}", t.file))
                } else {
                    (format!("out/tables/{}", t.file), t.table.clone())
                };
                let total = t
                    .table_rows
                    .map(|n| format!(" ({n} in table)"))
                    .unwrap_or_default();
                writeln!(out, "  {from} -> {to}: {} rows{total}", t.rows)?;
            }
            Ok(())
        };
    let files = |label: &str, out: &mut dyn Write, moves: &[berth_job::record::FileMove]| {
        if moves.is_empty() {
            return writeln!(out, "{label}: none");
        }
        writeln!(out, "{label}:")?;
        for f in moves {
            writeln!(out, "  {} {} ({} bytes)", f.id, f.name, f.bytes)?;
        }
        Ok(())
    };
    tables("input tables", &mut *out, &record.input.tables, true)?;
    files("input files", &mut *out, &record.input.files)?;
    tables("output tables", &mut *out, &record.output.tables, false)?;
    files("output files", &mut *out, &record.output.files)?;
    if !record.debug_archives.is_empty() {
        files("debug archives", &mut *out, &record.debug_archives)?;
    }
    if let Some(state) = record.state {
        writeln!(
            out,
            "state: {}",
            serde_json::to_value(state)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("")
        )?;
    }
    if record.usage.is_empty() {
        writeln!(out, "usage: none")?;
    } else {
        let usage: Vec<String> = record
            .usage
            .iter()
            .map(|u| format!("{} = {}", u.metric, u.value))
            .collect();
        writeln!(out, "usage: {}", usage.join(", "))?;
    }
    for warning in &record.warnings {
        writeln!(out, "warning: {warning}")?;
    }
    if record.status == JobStatus::Error {
        writeln!(
            out,
            "error ({} error in {}): {}",
            record.result.error_type.as_deref().unwrap_or("application"),
            record
                .result
                .error_stage
                .map(|s| s.as_str())
                .unwrap_or("job"),
            record.result.message
        )?;
    }
    Ok(())
}

/// A spinner on stderr, drawn only when stderr is a terminal.
struct BarProgress {
    bar: ProgressBar,
}

impl BarProgress {
    fn new() -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar }
    }
}

impl Progress for BarProgress {
    fn log_line(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    fn stage(&self, stage: Stage) {
        self.bar.set_message(stage.as_str().to_owned());
        if stage == Stage::Execution {
            // The component's own output streams now; keep the line out of its way.
            self.bar.disable_steady_tick();
            self.bar.set_draw_target(ProgressDrawTarget::hidden());
        } else if stage == Stage::Usage && std::io::stderr().is_terminal() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(120));
        }
    }

    fn table_in(&self, table: &StagedTable) {
        self.bar.set_message(format!(
            "input mapping: {} ({} rows, {:.1} MB)",
            table.source,
            table.rows,
            table.bytes as f64 / 1e6
        ));
    }

    fn table_out(&self, table: &LoadedTable) {
        self.bar.set_message(format!(
            "output mapping: {} ({} rows)",
            table.destination, table.rows_imported
        ));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
