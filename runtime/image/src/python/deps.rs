//! The component's requirements, installed with pip into the staging site-packages.
//!
//! pip runs in componentize-py's environment (the host's CPython): pure-Python wheels install as
//! they would anywhere. C extension modules (`*.so`, `*.pyd`) are built for the host, not for
//! WASI: each is deleted and reported with the distribution it belongs to (read from the
//! `*.dist-info/RECORD` files), and the import hook answers an import of it with an ImportError
//! naming that package. Packages with a pure-Python fallback (wrapt, PyYAML) then use it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::source::{Plan, Requirements};
use super::toolchain::{Tool, tail};
use super::{LeftOut, PythonBuildError};

/// Installs `plan`'s requirements into `site`; returns the C extension modules left out.
pub(super) fn install(
    tool: &Tool,
    plan: &Plan,
    site: &Path,
) -> Result<Vec<LeftOut>, PythonBuildError> {
    let mut command = Command::new(tool.python());
    command
        .args(["-m", "pip", "install", "--target"])
        .arg(site)
        .args([
            "--no-compile",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
        ]);
    match &plan.requirements {
        Requirements::None => return Ok(Vec::new()),
        Requirements::File(path) => {
            command.arg("-r").arg(path);
        }
        Requirements::Specifiers { specifiers, .. } => {
            command.args(specifiers);
        }
    }
    let fail = |detail: String| PythonBuildError::Dependencies {
        dir: plan.name.clone(),
        requirements: plan.requirements.describe(),
        detail,
    };
    let output = command
        .output()
        .map_err(|e| fail(format!("starting pip: {e}")))?;
    if !output.status.success() {
        return Err(fail(tail(&String::from_utf8_lossy(&output.stderr), 20)));
    }
    remove_extensions(site).map_err(|e| PythonBuildError::Build {
        dir: plan.name.clone(),
        stage: "removing C extension modules",
        source: e,
    })
}

/// Deletes every C extension module under `site`; returns those that were importable modules.
fn remove_extensions(site: &Path) -> anyhow::Result<Vec<LeftOut>> {
    let owners = record_owners(site)?;
    let mut left_out = Vec::new();
    let mut stack = vec![site.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if !(name.ends_with(".so") || name.ends_with(".pyd") || name.contains(".so.")) {
                continue;
            }
            std::fs::remove_file(&path)?;
            let rel = path.strip_prefix(site)?;
            let rel_text = rel.to_string_lossy().replace('\\', "/");
            let mut parts: Vec<&str> = rel_text.split('/').collect();
            let file = parts.pop().unwrap_or_default();
            let stem = file.split('.').next().unwrap_or_default();
            parts.push(stem);
            if parts.iter().all(|p| is_identifier(p)) {
                left_out.push(LeftOut {
                    module: parts.join("."),
                    package: owners
                        .get(&rel_text)
                        .cloned()
                        .unwrap_or_else(|| parts[0].to_owned()),
                });
            }
        }
    }
    left_out.sort_by(|a, b| a.module.cmp(&b.module));
    Ok(left_out)
}

/// Which distribution installed each file: `RECORD` path → the `Name:` of its METADATA.
fn record_owners(site: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut owners = BTreeMap::new();
    for entry in std::fs::read_dir(site)? {
        let dist_info = entry?.path();
        if dist_info.extension().is_none_or(|e| e != "dist-info") {
            continue;
        }
        let name = std::fs::read_to_string(dist_info.join("METADATA"))
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("Name: ").map(|n| n.trim().to_owned()))
            })
            .unwrap_or_else(|| {
                let dir = dist_info.file_stem().unwrap_or_default().to_string_lossy();
                dir.split('-').next().unwrap_or_default().to_owned()
            });
        let Ok(record) = std::fs::read_to_string(dist_info.join("RECORD")) else {
            continue;
        };
        for line in record.lines() {
            if let Some(path) = line.split(',').next() {
                owners.insert(path.to_owned(), name.clone());
            }
        }
    }
    Ok(owners)
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_deleted_and_named_with_their_package() {
        let site = tempfile::TempDir::new().unwrap();
        let s = site.path();
        std::fs::create_dir_all(s.join("yaml")).unwrap();
        std::fs::create_dir_all(s.join("PyYAML-6.0.3.dist-info")).unwrap();
        std::fs::create_dir_all(s.join("numpy.libs")).unwrap();
        std::fs::write(s.join("yaml/__init__.py"), "").unwrap();
        std::fs::write(s.join("yaml/_yaml.cpython-311-x86_64-linux-gnu.so"), "ELF").unwrap();
        std::fs::write(s.join("numpy.libs/libopenblas-r0.so"), "ELF").unwrap();
        std::fs::write(s.join("_cffi_backend.cpython-311-x86_64-linux-gnu.so"), "").unwrap();
        std::fs::write(
            s.join("PyYAML-6.0.3.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: PyYAML\n",
        )
        .unwrap();
        std::fs::write(
            s.join("PyYAML-6.0.3.dist-info/RECORD"),
            "yaml/__init__.py,sha256=x,1\nyaml/_yaml.cpython-311-x86_64-linux-gnu.so,sha256=y,3\n",
        )
        .unwrap();
        let left = remove_extensions(s).unwrap();
        assert_eq!(
            left,
            vec![
                LeftOut {
                    module: "_cffi_backend".into(),
                    package: "_cffi_backend".into()
                },
                LeftOut {
                    module: "yaml._yaml".into(),
                    package: "PyYAML".into()
                },
            ]
        );
        assert!(s.join("yaml/__init__.py").is_file());
        assert!(
            !s.join("yaml/_yaml.cpython-311-x86_64-linux-gnu.so")
                .exists()
        );
        assert!(!s.join("numpy.libs/libopenblas-r0.so").exists());
    }
}
