//! `berth file …`: upload, list (by tags or query), download and tag Storage files — in the
//! home's embedded Storage, or in PostgreSQL when `BERTH_STORAGE_URL` names a database (see
//! `storage_url`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::storage_url;
use super::table::{print_json, storage_error};
use berth_job::home::Home;
use berth_storage::{FileFilter, FileId, FileUpload};

/// `berth file` subcommands.
#[derive(Debug, Subcommand)]
pub enum FileCommand {
    /// Store a file; prints the new file id.
    Upload(UploadArgs),
    /// List files, newest first.
    Ls(ListArgs),
    /// Write a file's content to stdout or a path.
    Download(DownloadArgs),
    /// Add tags to a file.
    Tag(TagArgs),
}

/// Arguments of `berth file upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The file to store.
    pub path: PathBuf,
    /// A tag (repeatable).
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// Mark the file public.
    #[arg(long)]
    pub public: bool,
    /// Keep the file permanently.
    #[arg(long)]
    pub permanent: bool,
    /// Store under this name instead of the path's file name.
    #[arg(long)]
    pub name: Option<String>,
    /// Print the stored file's description as JSON instead of its id.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `berth file ls`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only files with this tag (repeatable; all must be present).
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// Elasticsearch query_string expression, e.g. `name:.zip AND NOT tags:done`.
    #[arg(long, value_name = "Q")]
    pub query: Option<String>,
    /// At most this many files (default 100).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `berth file download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// File id.
    pub id: String,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// Arguments of `berth file tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// File id.
    pub id: String,
    /// Tags to add.
    #[arg(required = true)]
    pub tags: Vec<String>,
    /// Print the file's description as JSON instead of its tags.
    #[arg(long)]
    pub json: bool,
}

fn file_id(text: &str) -> anyhow::Result<FileId> {
    text.parse().map_err(storage_error)
}

/// Runs a `berth file` subcommand.
pub fn run(home: &Home, cmd: FileCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        FileCommand::Upload(args) => {
            let upload = FileUpload {
                name: args.name,
                tags: args.tags,
                is_public: args.public,
                is_permanent: args.permanent,
                ..FileUpload::default()
            };
            let mut storage = storage_url::open(home)?;
            let id = storage
                .upload_file(&args.path, &upload)
                .map_err(storage_error)?;
            if args.json {
                print_json(&storage.file(id).map_err(storage_error)?)?;
            } else {
                println!("{id}");
            }
        }
        FileCommand::Ls(args) => {
            let filter = FileFilter {
                tags: args.tags,
                query: args.query,
                limit: args.limit,
                ..FileFilter::default()
            };
            let files = storage_url::open(home)?
                .list_files(&filter)
                .map_err(storage_error)?;
            if args.json {
                print_json(&files)?;
            } else {
                let mut out = std::io::stdout().lock();
                for f in &files {
                    writeln!(
                        out,
                        "{}\t{}\t{} bytes\t{}",
                        f.id,
                        f.name,
                        f.size_bytes,
                        f.tags.join(",")
                    )?;
                }
            }
        }
        FileCommand::Download(args) => {
            let id = file_id(&args.id)?;
            let storage = storage_url::open(home)?;
            match &args.output {
                Some(path) => {
                    storage.download_file(id, path).map_err(storage_error)?;
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    storage.write_file(id, &mut out).map_err(storage_error)?;
                }
            }
        }
        FileCommand::Tag(args) => {
            let id = file_id(&args.id)?;
            let file = storage_url::open(home)?
                .add_tags(id, &args.tags)
                .map_err(storage_error)?;
            if args.json {
                print_json(&file)?;
            } else {
                println!("{}", file.tags.join(","));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
