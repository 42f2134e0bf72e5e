//! `berth job ls [--json]` and `berth job show JOB_ID [--json]`: the records of past and running
//! jobs — id, component, configuration, status, timings, result message, usage, exit code.
//! `berth job logs JOB_ID [--follow]`: a job's log (events), following it until it ends.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::UserError;
use super::run::write_body;
use berth_job::JobStore;
use berth_job::home::Home;
use berth_storage::JobQueue;

/// `berth job` subcommands.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// List jobs, oldest first.
    Ls {
        /// Print the records as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show one job.
    Show {
        /// The job id.
        job_id: String,
        /// Print the record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a job's log.
    Logs {
        /// The job id.
        job_id: String,
        /// Keep printing new events until the job ends.
        #[arg(long, short)]
        follow: bool,
        /// Print each event as a JSON line.
        #[arg(long)]
        json: bool,
    },
}

/// Prints the events of `job_id` after `since`; returns the last sequence number printed.
fn print_events(
    storage: &dyn JobQueue,
    job_id: &str,
    since: u64,
    json: bool,
    out: &mut impl Write,
) -> Result<u64> {
    let mut last = since;
    for event in storage.job_events(job_id, since, 10_000)? {
        if json {
            writeln!(out, "{}", serde_json::to_string(&event)?)?;
        } else {
            let time = event
                .time
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            writeln!(
                out,
                "{} {:<5} {}",
                time.get(..19).unwrap_or(&time),
                event.level,
                event.message
            )?;
        }
        last = event.seq;
    }
    out.flush()?;
    Ok(last)
}

fn logs(home: &Home, job_id: &str, follow: bool, json: bool) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut since = 0;
    loop {
        // Storage is opened per poll, so a follow never keeps other commands out.
        let storage = home.open_queue()?;
        let job = match storage.job(job_id) {
            Ok(job) => job,
            Err(berth_storage::StorageError::JobNotFound { .. }) => {
                return Err(UserError::new(format!("Job \"{job_id}\" was not found.")).into());
            }
            Err(e) => return Err(e.into()),
        };
        since = print_events(storage.as_ref(), job_id, since, json, &mut out)?;
        if !follow || job.status.is_terminal() {
            // One more read: events written between the two reads.
            print_events(storage.as_ref(), job_id, since, json, &mut out)?;
            return Ok(ExitCode::SUCCESS);
        }
        drop(storage);
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Runs `berth job …`.
pub fn run(home: &Home, command: JobCommand) -> Result<ExitCode> {
    if let JobCommand::Logs {
        job_id,
        follow,
        json,
    } = &command
    {
        return logs(home, job_id, *follow, *json);
    }
    let store = JobStore::new(home);
    let mut out = std::io::stdout().lock();
    match command {
        JobCommand::Logs { .. } => unreachable!("handled above"),
        JobCommand::Ls { json } => {
            let records = store.list()?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&records)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(
                out,
                "{:<20} {:<28} {:<12} {:<10} {:<20} {:>9} {:>4}  MESSAGE",
                "ID", "COMPONENT", "CONFIG", "STATUS", "CREATED", "SECONDS", "EXIT"
            )?;
            for r in records {
                writeln!(
                    out,
                    "{:<20} {:<28} {:<12} {:<10} {:<20} {:>9} {:>4}  {}",
                    r.id,
                    r.component_id,
                    r.config_id.as_deref().unwrap_or("-"),
                    r.status.as_str(),
                    r.created.get(..19).unwrap_or(&r.created),
                    r.duration_ms
                        .map(|ms| format!("{:.1}", ms as f64 / 1000.0))
                        .unwrap_or_else(|| "-".into()),
                    r.result
                        .exit_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.result.message.lines().next().unwrap_or("")
                )?;
            }
        }
        JobCommand::Show { job_id, json } => {
            let Some(record) = store.load(&job_id)? else {
                return Err(UserError::new(format!("Job \"{job_id}\" was not found.")).into());
            };
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&record)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(out, "id:            {}", record.id)?;
            writeln!(out, "run id:        {}", record.run_id)?;
            writeln!(out, "component:     {}", record.component_id)?;
            writeln!(
                out,
                "configuration: {}",
                record.config_id.as_deref().unwrap_or("-")
            )?;
            if let Some(row) = &record.row_id {
                writeln!(out, "row:           {row}")?;
            }
            writeln!(out, "status:        {}", record.status.as_str())?;
            if !record.mode.is_run() {
                writeln!(out, "mode:          {}", record.mode.as_str())?;
            }
            writeln!(out, "created:       {}", record.created)?;
            writeln!(
                out,
                "started:       {}",
                record.started.as_deref().unwrap_or("-")
            )?;
            writeln!(
                out,
                "finished:      {}",
                record.finished.as_deref().unwrap_or("-")
            )?;
            if let Some(ms) = record.duration_ms {
                writeln!(out, "duration:      {:.3} s", ms as f64 / 1000.0)?;
            }
            writeln!(out, "message:       {}", record.result.message)?;
            if let Some(code) = record.result.exit_code {
                writeln!(out, "exit code:     {code}")?;
            }
            if let Some(code) = record.result.component_exit_code {
                writeln!(out, "component exit code: {code}")?;
            }
            write_body(&mut out, &record)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
