//! What a Python source tree asks for: the entry script and the requirements.
//!
//! - Entry: `--entry`, else the `.py` argument of the Dockerfile's `ENTRYPOINT`/`CMD` (exec or
//!   shell form; an absolute path is taken relative to the folder `COPY . DEST` copies the tree
//!   to, `/code/` by Keboola's convention, a relative one relative to `WORKDIR`), else
//!   `src/component.py`. It must be a file inside the tree.
//! - Requirements: `requirements.txt` (handed to pip as is), else `uv.lock` (the pinned closure of
//!   the project's own dependencies, without development groups), else `[project].dependencies`
//!   of `pyproject.toml`, else none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::PythonBuildError;

/// The entry when nothing names one.
const DEFAULT_ENTRY: &str = "src/component.py";
/// Where Keboola's Dockerfiles copy the tree (`COPY . /code/`).
const DEFAULT_CODE_ROOT: &str = "/code";

/// Where the entry script came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntrySource {
    /// `--entry`.
    Flag,
    /// The Dockerfile's `ENTRYPOINT`/`CMD`.
    Dockerfile,
    /// `src/component.py`.
    Default,
}

/// The requirements to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirements {
    /// Nothing to install.
    None,
    /// A requirements file, for `pip install -r`.
    File(PathBuf),
    /// Requirement specifiers (`name==version` pins from `uv.lock`, or `pyproject.toml`'s
    /// dependencies), and the file they came from.
    Specifiers {
        /// `uv.lock` or `pyproject.toml`.
        from: String,
        /// What pip installs.
        specifiers: Vec<String>,
    },
}

impl Requirements {
    /// Where the requirements come from, for messages.
    pub fn describe(&self) -> String {
        match self {
            Requirements::None => "none".into(),
            Requirements::File(path) => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Requirements::Specifiers { from, .. } => from.clone(),
        }
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// A short name (the tree's folder name), for the image's title.
    pub(super) name: String,
    /// The entry script relative to the tree, with `/` separators.
    pub(super) entry: String,
    /// Where it came from.
    pub(super) entry_source: EntrySource,
    /// Where the tree appears in the component's file names (`/code`), as in the Docker image.
    pub(super) code_root: String,
    /// What pip installs.
    pub(super) requirements: Requirements,
}

/// Reads the tree at `dir`.
pub(super) fn plan(dir: &Path, entry_flag: Option<&str>) -> Result<Plan, PythonBuildError> {
    let fail = |reason: String| PythonBuildError::Source {
        dir: dir.display().to_string(),
        reason,
    };
    if !dir.is_dir() {
        return Err(fail("is not a directory".into()));
    }
    let dockerfile = match std::fs::read_to_string(dir.join("Dockerfile")) {
        Ok(text) => Some(Dockerfile::parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail(format!("reading the Dockerfile: {e}"))),
    };
    let code_root = dockerfile
        .as_ref()
        .and_then(|d| d.copy_root.clone())
        .unwrap_or_else(|| DEFAULT_CODE_ROOT.into());
    let (entry, entry_source) = match (entry_flag, &dockerfile) {
        (Some(entry), _) => (entry.to_owned(), EntrySource::Flag),
        (None, Some(docker)) => match docker.entry_script() {
            Some(script) => (
                docker
                    .relative_to_tree(&script, &code_root)
                    .ok_or_else(|| {
                        fail(format!(
                            "the Dockerfile runs {script}, which is outside the folder the tree is \
                         copied to ({code_root}); give the entry with --entry"
                        ))
                    })?,
                EntrySource::Dockerfile,
            ),
            None => (DEFAULT_ENTRY.to_owned(), EntrySource::Default),
        },
        (None, None) => (DEFAULT_ENTRY.to_owned(), EntrySource::Default),
    };
    let entry = normalise_relative(&entry)
        .ok_or_else(|| fail(format!("the entry {entry} is not a path inside the tree")))?;
    if !dir.join(&entry).is_file() {
        let hint = match entry_source {
            EntrySource::Flag => "",
            EntrySource::Dockerfile => " (named by the Dockerfile); give another with --entry",
            EntrySource::Default => {
                " (the default: no --entry, and no Dockerfile CMD naming a .py script)"
            }
        };
        return Err(fail(format!(
            "the entry script {entry} does not exist{hint}"
        )));
    }
    if !entry.ends_with(".py") {
        return Err(fail(format!(
            "the entry {entry} is not a Python script (.py)"
        )));
    }
    let requirements = requirements(dir).map_err(fail)?;
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "component".into());
    Ok(Plan {
        name,
        entry,
        entry_source,
        code_root: code_root.trim_end_matches('/').to_owned(),
        requirements,
    })
}

/// `a/./b/c.py` → `a/b/c.py`; `None` for absolute paths and any `..`.
fn normalise_relative(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?.to_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The parts of a Dockerfile that say what runs.
#[derive(Debug, Default, PartialEq, Eq)]
struct Dockerfile {
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    workdir: Option<String>,
    copy_root: Option<String>,
}

impl Dockerfile {
    fn parse(text: &str) -> Self {
        let mut file = Dockerfile::default();
        let mut logical = String::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if logical.is_empty() && (trimmed.starts_with('#') || trimmed.is_empty()) {
                continue;
            }
            if let Some(continued) = trimmed.strip_suffix('\\') {
                logical.push_str(continued);
                logical.push(' ');
                continue;
            }
            logical.push_str(trimmed);
            file.instruction(&std::mem::take(&mut logical));
        }
        if !logical.is_empty() {
            file.instruction(&logical);
        }
        file
    }

    fn instruction(&mut self, line: &str) {
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match keyword.to_ascii_uppercase().as_str() {
            "FROM" => *self = Dockerfile::default(),
            "CMD" => self.cmd = arguments(rest),
            "ENTRYPOINT" => self.entrypoint = arguments(rest),
            "WORKDIR" => {
                let dir = rest.trim_matches('"').to_owned();
                self.workdir = Some(match (&self.workdir, dir.starts_with('/')) {
                    (Some(base), false) => format!("{}/{dir}", base.trim_end_matches('/')),
                    _ => dir,
                });
            }
            "COPY" | "ADD" => {
                let args: Vec<String> = arguments(rest)
                    .into_iter()
                    .filter(|a| !a.starts_with("--"))
                    .collect();
                if let [source, dest] = args.as_slice()
                    && (source == "." || source == "./")
                {
                    let workdir = self.workdir.as_deref().unwrap_or("/");
                    self.copy_root = Some(if dest.starts_with('/') {
                        dest.clone()
                    } else if dest == "." || dest == "./" {
                        workdir.to_owned()
                    } else {
                        format!("{}/{dest}", workdir.trim_end_matches('/'))
                    });
                }
            }
            _ => {}
        }
    }

    /// The first `.py` argument of `ENTRYPOINT` + `CMD`.
    fn entry_script(&self) -> Option<String> {
        self.entrypoint
            .iter()
            .chain(&self.cmd)
            .find(|a| a.ends_with(".py"))
            .cloned()
    }

    /// `script` (as the container sees it) relative to the tree copied to `code_root`.
    fn relative_to_tree(&self, script: &str, code_root: &str) -> Option<String> {
        let absolute = if script.starts_with('/') {
            script.to_owned()
        } else {
            let base = self.workdir.as_deref().unwrap_or(code_root);
            format!("{}/{script}", base.trim_end_matches('/'))
        };
        let root = format!("{}/", code_root.trim_end_matches('/'));
        absolute.strip_prefix(&root).map(str::to_owned)
    }
}

/// The arguments of an exec-form (`["a", "b"]`) or shell-form (`a b`) instruction.
fn arguments(rest: &str) -> Vec<String> {
    if rest.starts_with('[')
        && let Ok(list) = serde_json::from_str::<Vec<String>>(rest)
    {
        return list;
    }
    rest.split_whitespace().map(str::to_owned).collect()
}

fn requirements(dir: &Path) -> Result<Requirements, String> {
    let file = dir.join("requirements.txt");
    if file.is_file() {
        return Ok(Requirements::File(file));
    }
    let lock = dir.join("uv.lock");
    if lock.is_file() {
        let text = std::fs::read_to_string(&lock).map_err(|e| format!("reading uv.lock: {e}"))?;
        return Ok(Requirements::Specifiers {
            from: "uv.lock".into(),
            specifiers: uv_lock_pins(&text).map_err(|e| format!("uv.lock: {e}"))?,
        });
    }
    let pyproject = dir.join("pyproject.toml");
    if pyproject.is_file() {
        let text = std::fs::read_to_string(&pyproject)
            .map_err(|e| format!("reading pyproject.toml: {e}"))?;
        let parsed: PyProject =
            toml::from_str(&text).map_err(|e| format!("pyproject.toml: {e}"))?;
        let specifiers = parsed.project.map(|p| p.dependencies).unwrap_or_default();
        return Ok(if specifiers.is_empty() {
            Requirements::None
        } else {
            Requirements::Specifiers {
                from: "pyproject.toml".into(),
                specifiers,
            }
        });
    }
    Ok(Requirements::None)
}

#[derive(Deserialize)]
struct PyProject {
    project: Option<Project>,
}

#[derive(Deserialize)]
struct Project {
    #[serde(default)]
    dependencies: Vec<String>,
}

#[derive(Deserialize)]
struct UvLock {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<LockedDependency>,
}

#[derive(Deserialize)]
struct LockedDependency {
    name: String,
}

/// `name==version` for every package the project (the `editable`/`virtual` source `.`) needs,
/// directly or not; development groups are not followed.
fn uv_lock_pins(text: &str) -> Result<Vec<String>, String> {
    let lock: UvLock = toml::from_str(text).map_err(|e| e.to_string())?;
    let is_root = |p: &LockedPackage| {
        ["editable", "virtual"]
            .iter()
            .any(|k| p.source.get(*k).and_then(|v| v.as_str()) == Some("."))
    };
    let root = lock
        .package
        .iter()
        .find(|p| is_root(p))
        .ok_or("no package with source editable = \".\" or virtual = \".\" (the project)")?;
    let by_name: BTreeMap<&str, &LockedPackage> =
        lock.package.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = root.dependencies.iter().map(|d| d.name.as_str()).collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name) {
            continue;
        }
        let package = by_name
            .get(name)
            .ok_or_else(|| format!("{name} is a dependency but has no [[package]] entry"))?;
        todo.extend(package.dependencies.iter().map(|d| d.name.as_str()));
    }
    seen.into_iter()
        .map(|name| {
            let package = by_name[name];
            package
                .version
                .as_ref()
                .map(|v| format!("{name}=={v}"))
                .ok_or_else(|| format!("{name} has no version"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keboola_dockerfiles_name_the_entry_under_code() {
        let d = Dockerfile::parse(
            "FROM python:3.13-slim\nWORKDIR /code/\nCOPY requirements.txt /code/\n\
             RUN pip install -r /code/requirements.txt\nCOPY . /code/\n\
             CMD [\"python\", \"-u\", \"/code/src/component.py\"]\n",
        );
        assert_eq!(d.copy_root.as_deref(), Some("/code/"));
        let script = d.entry_script().unwrap();
        assert_eq!(
            d.relative_to_tree(&script, "/code/").as_deref(),
            Some("src/component.py")
        );
    }

    #[test]
    fn shell_form_relative_scripts_and_continuations() {
        let d = Dockerfile::parse(
            "FROM x\nWORKDIR /app\nCOPY . .\nENTRYPOINT python \\\n  -u main/run.py\n",
        );
        assert_eq!(d.copy_root.as_deref(), Some("/app"));
        let d = Dockerfile::parse("FROM x\nWORKDIR /app\nCOPY . /app\nCMD python -u main/run.py");
        let script = d.entry_script().unwrap();
        assert_eq!(script, "main/run.py");
        assert_eq!(
            d.relative_to_tree(&script, "/app").as_deref(),
            Some("main/run.py")
        );
        assert_eq!(d.relative_to_tree("/elsewhere/x.py", "/app"), None);
        // A later stage starts over.
        let d = Dockerfile::parse("FROM a\nCMD [\"python\", \"/code/a.py\"]\nFROM b\n");
        assert_eq!(d.entry_script(), None);
    }

    #[test]
    fn entries_must_stay_inside_the_tree() {
        assert_eq!(
            normalise_relative("./src/component.py").as_deref(),
            Some("src/component.py")
        );
        assert_eq!(normalise_relative("../x.py"), None);
        assert_eq!(normalise_relative("/etc/x.py"), None);
        assert_eq!(normalise_relative(""), None);
    }

    #[test]
    fn uv_lock_pins_the_projects_closure_without_dev_groups() {
        let lock = r#"
version = 1
[[package]]
name = "my-component"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "keboola-component" }]
[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "keboola-component"
version = "1.11.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "pygelf" }, { name = "deprecated" }]

[[package]]
name = "pygelf"
version = "0.4.3"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "deprecated"
version = "1.3.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.0.0"
source = { registry = "https://pypi.org/simple" }
"#;
        assert_eq!(
            uv_lock_pins(lock).unwrap(),
            vec![
                "deprecated==1.3.1",
                "keboola-component==1.11.0",
                "pygelf==0.4.3"
            ]
        );
        assert!(uv_lock_pins("version = 1").unwrap_err().contains("project"));
        assert!(uv_lock_pins("[[package]]\nname = 1").is_err());
    }

    #[test]
    fn a_tree_without_an_entry_is_a_clear_user_error() {
        let dir = tempfile::TempDir::new().unwrap();
        let error = plan(dir.path(), None).unwrap_err();
        assert!(error.is_user_error());
        assert!(
            error
                .to_string()
                .contains("src/component.py does not exist"),
            "{error}"
        );
        std::fs::write(
            dir.path().join("Dockerfile"),
            "CMD [\"python\", \"/opt/x.py\"]\n",
        )
        .unwrap();
        let error = plan(dir.path(), None).unwrap_err();
        assert!(error.to_string().contains("--entry"), "{error}");
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/main.py"), "").unwrap();
        let plan = plan(dir.path(), Some("src/main.py")).unwrap();
        assert_eq!(plan.entry, "src/main.py");
        assert_eq!(plan.entry_source, EntrySource::Flag);
        assert_eq!(plan.requirements, Requirements::None);
    }

    #[test]
    fn a_malformed_pyproject_is_reported() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/component.py"), "").unwrap();
        std::fs::write(dir.path().join("pyproject.toml"), "[project\n").unwrap();
        let error = plan(dir.path(), None).unwrap_err();
        assert!(error.to_string().contains("pyproject.toml"), "{error}");
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\ndependencies = [\"keboola.component>=1.11\"]\n",
        )
        .unwrap();
        assert_eq!(
            plan(dir.path(), None).unwrap().requirements,
            Requirements::Specifiers {
                from: "pyproject.toml".into(),
                specifiers: vec!["keboola.component>=1.11".into()]
            }
        );
    }
}
