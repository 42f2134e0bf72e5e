//! componentize-py, installed on first use, and the WIT it builds against.
//!
//! componentize-py (Bytecode Alliance, on PyPI) embeds a CPython built for wasm32-wasip2 and
//! snapshots it after importing the app module. berth pins its version and installs it into a
//! virtual environment `TOOLS/componentize-py-VERSION` (made with the host's `python3 -m venv`,
//! then `pip install componentize-py==VERSION`, then marked ready, so an interrupted install is
//! redone rather than taken for a finished one). The same environment's pip installs a
//! component's requirements.
//!
//! The WIT packages are the WASI 0.2 ones wasmtime-wasi implements, embedded in berth at compile
//! time (see `build.rs`), plus a root world `berth:python/component` that includes
//! `wasi:cli/command`; they are written next to the environment.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The componentize-py release berth builds with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// Written into the environment once componentize-py is installed: a folder without it is an
/// interrupted install, redone.
const READY: &str = ".berth-ready";

/// The world componentize-py targets.
const WORLD: &str = "berth:python/component";

mod wit {
    include!(concat!(env!("OUT_DIR"), "/wasi_wit.rs"));
}

/// An installed toolchain.
#[derive(Debug, Clone)]
pub(super) struct Tool {
    /// The virtual environment.
    venv: PathBuf,
    /// The WIT folder (root world + `deps/`).
    wit: PathBuf,
    /// An empty folder handed to componentize-py as `VIRTUAL_ENV`, so no host site-packages
    /// leak into the build.
    empty_env: PathBuf,
}

impl Tool {
    /// The environment's Python (runs pip).
    pub(super) fn python(&self) -> PathBuf {
        self.venv.join("bin").join("python")
    }

    fn componentize_py(&self) -> PathBuf {
        self.venv.join("bin").join("componentize-py")
    }
}

/// The embedded WIT files (name, text).
pub(super) fn wit_files() -> &'static [(&'static str, &'static str)] {
    wit::FILES
}

/// The toolchain in `tools_dir`, installed with `python` when missing.
pub(super) fn ensure(tools_dir: &Path, python: &Path) -> Result<Tool> {
    std::fs::create_dir_all(tools_dir)
        .with_context(|| format!("creating {}", tools_dir.display()))?;
    let venv = tools_dir.join(format!("componentize-py-{COMPONENTIZE_PY_VERSION}"));
    if !venv.join(READY).is_file() {
        install(&venv, python)?;
    }
    let wit = tools_dir.join(format!("wit-wasi-{}", wit::CLI_VERSION));
    write_wit(&wit)?;
    let empty_env = tools_dir.join("empty-env");
    std::fs::create_dir_all(empty_env.join("lib").join("site-packages"))
        .with_context(|| format!("creating {}", empty_env.display()))?;
    Ok(Tool {
        venv,
        wit,
        empty_env,
    })
}

fn install(venv: &Path, python: &Path) -> Result<()> {
    eprintln!(
        "installing componentize-py {COMPONENTIZE_PY_VERSION} into {} (once)",
        venv.display()
    );
    if venv.exists() {
        std::fs::remove_dir_all(venv)
            .with_context(|| format!("removing the unfinished {}", venv.display()))?;
    }
    run(
        Command::new(python).args(["-m", "venv"]).arg(venv),
        "creating the virtual environment (is python3 with venv installed?)",
    )?;
    run(
        Command::new(venv.join("bin").join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
            ])
            .arg(format!("componentize-py=={COMPONENTIZE_PY_VERSION}")),
        "pip install componentize-py",
    )?;
    std::fs::write(venv.join(READY), COMPONENTIZE_PY_VERSION)
        .with_context(|| format!("marking {} ready", venv.display()))
}

fn write_wit(dir: &Path) -> Result<()> {
    let deps = dir.join("deps");
    std::fs::create_dir_all(&deps).with_context(|| format!("creating {}", deps.display()))?;
    for (name, text) in wit::FILES {
        let path = deps.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(*text) {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let world = format!(
        "package berth:python;\n\nworld component {{\n  include wasi:cli/command@{};\n}}\n",
        wit::CLI_VERSION
    );
    std::fs::write(dir.join("world.wit"), world).context("writing world.wit")?;
    Ok(())
}

/// Builds the component from the staging folder `stage` into `out`.
pub(super) fn componentize(tool: &Tool, stage: &Path, out: &Path) -> Result<()> {
    run(
        Command::new(tool.componentize_py())
            .arg("--quiet")
            .arg("-d")
            .arg(&tool.wit)
            .args(["-w", WORLD, "componentize", "-p"])
            .arg(stage)
            .arg("berth_main")
            .arg("-o")
            .arg(out)
            .current_dir(stage)
            .env("VIRTUAL_ENV", &tool.empty_env)
            .env("RUST_BACKTRACE", "0"),
        "componentize-py",
    )
}

/// Runs `command`; its stderr (the last lines) is the error when it fails.
pub(super) fn run(command: &mut Command, what: &str) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("{what}: starting {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 30)
        );
    }
    Ok(())
}

/// The last `lines` lines of `text`.
pub(super) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
