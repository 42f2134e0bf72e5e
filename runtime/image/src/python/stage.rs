//! The staging folder componentize-py builds from:
//!
//! ```text
//! berth_main.py, berth_bundle.py   berth's wrapper and import hook (guest/)
//! berth_build.py                   this build's settings: entry, code root, left-out modules
//! _berth_shims/ssl.py              the ssl stand-in
//! _berth_code/ENTRY_DIR/…          the entry's folder from the source tree
//! _berth_site/…                    the requirements, installed by pip
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::LeftOut;
use super::source::Plan;

/// berth's Python files, as shipped in every Python component.
pub(super) const GUEST_FILES: &[(&str, &str)] = &[
    ("berth_main.py", include_str!("guest/berth_main.py")),
    ("berth_bundle.py", include_str!("guest/berth_bundle.py")),
    (
        "_berth_shims/ssl.py",
        include_str!("guest/_berth_shims/ssl.py"),
    ),
];

/// Folders of a source tree that are never part of a component.
const SKIPPED: &[&str] = &[
    ".git",
    "__pycache__",
    ".venv",
    "venv",
    ".mypy_cache",
    ".pytest_cache",
];

/// A prepared staging folder.
#[derive(Debug)]
pub(super) struct Staged {
    /// The folder handed to componentize-py.
    pub(super) root: PathBuf,
    /// Where pip installs the requirements.
    pub(super) site: PathBuf,
}

/// Lays out the staging folder in `scratch` for `plan` from the tree at `source`.
pub(super) fn prepare(scratch: &Path, source: &Path, plan: &Plan) -> Result<Staged> {
    let root = scratch.join("stage");
    for (name, text) in GUEST_FILES {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&root))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let entry_dir = Path::new(&plan.entry)
        .parent()
        .unwrap_or(Path::new(""))
        .to_path_buf();
    copy_tree(
        &source.join(&entry_dir),
        &root.join("_berth_code").join(&entry_dir),
    )?;
    let site = root.join("_berth_site");
    std::fs::create_dir_all(&site)?;
    Ok(Staged { root, site })
}

/// Writes `berth_build.py`, the settings the wrapper reads.
pub(super) fn write_build_config(staged: &Staged, plan: &Plan, left_out: &[LeftOut]) -> Result<()> {
    let excluded: serde_json::Map<String, serde_json::Value> = left_out
        .iter()
        .map(|l| {
            (
                l.module.clone(),
                serde_json::Value::String(l.package.clone()),
            )
        })
        .collect();
    // JSON strings and objects are Python literals too.
    let text = format!(
        "\"\"\"Settings of this build, written by berth image build --python.\"\"\"\n\n\
         ENTRY = {}\nCODE_ROOT = {}\nEXCLUDED = {}\n",
        serde_json::to_string(&plan.entry)?,
        serde_json::to_string(&plan.code_root)?,
        serde_json::to_string(&excluded)?,
    );
    std::fs::write(staged.root.join("berth_build.py"), text).context("writing berth_build.py")
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if SKIPPED.iter().any(|s| name == *s) {
            continue;
        }
        let kind = entry.file_type()?;
        let target = to.join(&name);
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}
