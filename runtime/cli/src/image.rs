//! `berth image …`: build (Python components), push, pull, ls, inspect, rm and gc over the local
//! image store.
//!
//! Every listing takes `--json`. Errors caused by the user's input or the registry's answer
//! (bad reference, unknown repository or tag, refused credentials, unsupported image) exit 1;
//! corrupted content and I/O failures exit 2.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::UserError;
use berth_image::python::PythonBuildOptions;
use berth_image::{ImageError, ImageRef, RegistryRef};
use berth_job::home::Home;

/// How registries are reached, shown under `push --help` and `pull --help`.
const REGISTRY_HELP: &str = "\
Registries are spoken to over HTTPS, except loopback ones (localhost, 127.0.0.0/8, [::1]) and
those listed in BERTH_INSECURE_REGISTRIES=HOST[:PORT][,...], which use plain HTTP.
Credentials: BERTH_REGISTRY_AUTH=HOST=USER:PASSWORD[,HOST=bearer:TOKEN,...] first, then
$DOCKER_CONFIG/config.json or ~/.docker/config.json (auths.HOST.auth); anonymous otherwise.";

/// Shown under `build --help`.
const BUILD_HELP: &str = "\
componentize-py (pinned) is installed from PyPI on first use into BERTH_TOOLS, default HOME/tools,
in a virtual environment made by BERTH_PYTHON (default python3). Requirements come from
requirements.txt, else uv.lock, else pyproject.toml, and are installed with pip; C extension
modules are left out with a warning (importing one raises an ImportError naming its package).";

/// `berth image` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build a WASI component image from a Python component's source tree (an unmodified
    /// Keboola component on keboola.component) and store it under -t REGISTRY/REPO:TAG.
    #[command(after_help = BUILD_HELP)]
    Build {
        /// The source tree (a Keboola component's repository).
        #[arg(long, value_name = "DIR")]
        python: PathBuf,
        /// The tag to store the image under (push it later with `berth image push REF`).
        #[arg(short = 't', long = "tag", value_name = "REGISTRY/REPO:TAG")]
        tag: String,
        /// The entry script relative to DIR (default: the Dockerfile's CMD, else
        /// src/component.py).
        #[arg(long, value_name = "PATH")]
        entry: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Push a .wasm module (wrapped as a CNCF wasm artifact) or an image from the local store
    /// to REGISTRY/REPO:TAG.
    #[command(after_help = REGISTRY_HELP)]
    Push {
        /// A .wasm module file, or an image in the local store (e.g. one built with
        /// `berth image build`).
        source: String,
        /// Where to push it (default: the stored image's own reference).
        reference: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pull an image into the local store (and precompile a wasm module).
    #[command(after_help = REGISTRY_HELP)]
    Pull {
        /// REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:…
        reference: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Do not precompile the module.
        #[arg(long)]
        no_precompile: bool,
    },
    /// List the images in the local store.
    Ls(JsonFlag),
    /// Show an image's kind, digest, size, platform and annotations.
    Inspect {
        /// The image (a stored reference or a local .wasm file).
        reference: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an image name from the store and delete blobs nothing else uses.
    Rm {
        /// The image.
        reference: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete blobs that no image name uses.
    Gc(JsonFlag),
}

/// A lone `--json` flag.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs one `berth image` subcommand.
pub fn run(home: &Home, cmd: ImageCommand) -> anyhow::Result<ExitCode> {
    let store = home.image_store().map_err(boundary)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        ImageCommand::Build {
            python,
            tag,
            entry,
            json,
        } => {
            let options = PythonBuildOptions {
                source_dir: python,
                entry,
                tag: registry_ref(&tag)?,
                tools_dir: home.tools(),
                python: std::env::var_os("BERTH_PYTHON")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("python3")),
            };
            let report = store.build_python(&options).map_err(|error| {
                if error.is_user_error() {
                    UserError::new(error.to_string()).into()
                } else {
                    anyhow::Error::new(error)
                }
            })?;
            if json {
                print_json(&mut out, &report)?;
            } else {
                writeln!(
                    out,
                    "built {} {} ({} bytes, entry {}, {:.1} s)",
                    report.reference,
                    report.digest,
                    report.size,
                    report.entry,
                    report.duration.as_secs_f64()
                )?;
            }
        }
        ImageCommand::Push {
            source,
            reference,
            json,
        } => {
            let options = home.pull_options().map_err(boundary)?;
            let file = PathBuf::from(&source);
            let report = if file.is_file() {
                let Some(reference) = reference else {
                    return Err(UserError::new(format!(
                        "push {source}: name where to push the module (REGISTRY/REPO:TAG)"
                    ))
                    .into());
                };
                let target = registry_ref(&reference)?;
                store
                    .push_wasm(&file, &target, &options)
                    .map_err(boundary)?
            } else {
                let stored = registry_ref(&source)?;
                let target = match reference {
                    Some(reference) => registry_ref(&reference)?,
                    None => stored.clone(),
                };
                store
                    .push_stored(&stored, &target, &options)
                    .map_err(boundary)?
            };
            if json {
                print_json(&mut out, &report)?;
            } else {
                writeln!(out, "pushed {} ({} bytes)", report.pinned, report.size)?;
            }
        }
        ImageCommand::Pull {
            reference,
            json,
            no_precompile,
        } => {
            let image = registry_ref(&reference)?;
            let mut options = home.pull_options().map_err(boundary)?;
            options.precompile = !no_precompile;
            let resolved = store.pull(&image, &options).map_err(boundary)?;
            if json {
                print_json(&mut out, &resolved)?;
            } else {
                writeln!(
                    out,
                    "pulled {} {} ({})",
                    resolved.reference,
                    resolved.digest,
                    resolved.kind.name()
                )?;
            }
        }
        ImageCommand::Ls(JsonFlag { json }) => {
            let images = store.list().map_err(boundary)?;
            if json {
                print_json(&mut out, &images)?;
            } else {
                writeln!(
                    out,
                    "{:<50} {:<10} {:<12} {:>10}  DIGEST",
                    "REFERENCE", "KIND", "PLATFORM", "SIZE"
                )?;
                for image in images {
                    writeln!(
                        out,
                        "{:<50} {:<10} {:<12} {:>10}  {}",
                        image.reference,
                        image.kind,
                        image.platform,
                        human_size(image.size),
                        short_digest(&image.digest)
                    )?;
                }
            }
        }
        ImageCommand::Inspect { reference, json } => {
            let image = ImageRef::parse(&reference).map_err(boundary)?;
            let details = store.inspect(&image).map_err(boundary)?;
            if json {
                print_json(&mut out, &details)?;
            } else {
                writeln!(out, "reference:  {}", details.reference)?;
                writeln!(out, "kind:       {}", details.kind.name())?;
                writeln!(out, "digest:     {}", details.digest)?;
                writeln!(out, "media type: {}", details.media_type)?;
                writeln!(out, "platform:   {}", details.platform)?;
                writeln!(out, "size:       {} bytes", details.size)?;
                match &details.kind {
                    berth_image::ImageKind::Wasi {
                        module_path,
                        entrypoint,
                        args,
                        ..
                    } => {
                        writeln!(out, "module:     {}", module_path.display())?;
                        if !entrypoint.is_empty() || !args.is_empty() {
                            writeln!(out, "entrypoint: {entrypoint:?} args: {args:?}")?;
                        }
                    }
                    berth_image::ImageKind::Container { reference } => {
                        writeln!(out, "docker:     {reference}")?;
                    }
                }
                for (key, value) in &details.annotations {
                    writeln!(out, "annotation: {key}={value}")?;
                }
                for layer in &details.layers {
                    writeln!(
                        out,
                        "layer:      {} {} ({} bytes)",
                        layer.media_type, layer.digest, layer.size
                    )?;
                }
            }
        }
        ImageCommand::Rm { reference, json } => {
            let image = registry_ref(&reference)?;
            let (names, report) = store.remove(&image).map_err(boundary)?;
            if json {
                print_json(
                    &mut out,
                    &serde_json::json!({"removed": names, "gc": report}),
                )?;
            } else {
                for name in names {
                    writeln!(out, "removed {name}")?;
                }
                writeln!(
                    out,
                    "deleted {} blobs ({})",
                    report.removed.len(),
                    human_size(report.freed_bytes)
                )?;
            }
        }
        ImageCommand::Gc(JsonFlag { json }) => {
            let report = store.gc().map_err(boundary)?;
            if json {
                print_json(&mut out, &report)?;
            } else {
                writeln!(
                    out,
                    "deleted {} blobs ({})",
                    report.removed.len(),
                    human_size(report.freed_bytes)
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn registry_ref(text: &str) -> anyhow::Result<RegistryRef> {
    match ImageRef::parse(text).map_err(boundary)? {
        ImageRef::Registry(r) => Ok(r),
        other => Err(UserError::new(format!(
            "{other} is not a registry reference (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:…)"
        ))
        .into()),
    }
}

/// Maps an image error to the CLI's classes: the user's or the registry's answer → exit 1,
/// corruption and I/O → exit 2.
fn boundary(error: ImageError) -> anyhow::Error {
    match error {
        ImageError::DigestMismatch { .. }
        | ImageError::Registry { .. }
        | ImageError::Store { .. } => anyhow::Error::new(error),
        _ => UserError::new(error.to_string()).into(),
    }
}

fn print_json(out: &mut impl std::io::Write, value: &impl serde::Serialize) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).context("write JSON")?;
    writeln!(out)?;
    Ok(())
}

fn short_digest(digest: &str) -> &str {
    let end = digest.len().min("sha256:".len() + 12);
    &digest[..end]
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
