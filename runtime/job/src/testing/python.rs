//! Python components for tests and benches: the trees under `components/` built once with
//! `berth image build --python`'s library call and cached by content, and the Docker image of
//! the Python example (`components/python-example/docker-image.sh`, cached by its own hash).
//!
//! Built components are kept in `TMP/berth-python-builds/<hash>.wasm`, the hash covering the
//! source tree and berth's side of the build ([`toolchain_fingerprint`]), so test binaries and
//! benches share one build. componentize-py lives in `BERTH_TOOLS`, default `TMP/berth-tools`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use berth_image::python::{PythonBuildOptions, toolchain_fingerprint};
use berth_image::{ImageKind, ImageRef, ImageStore, PullOptions, PullPolicy};
use sha2::{Digest, Sha256};

/// The workspace's `components/` folder.
pub fn components_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../components")
}

/// The Python example component's tree.
pub fn python_example_dir() -> PathBuf {
    components_dir().join("python-example")
}

/// The Python sandbox probe's tree (adversarial guest for the sandbox tests).
pub fn python_sandbox_dir() -> PathBuf {
    components_dir().join("python-sandbox")
}

/// The tools folder builds use: `BERTH_TOOLS`, else `TMP/berth-tools`.
pub fn tools_dir() -> PathBuf {
    std::env::var_os(crate::home::TOOLS_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("berth-tools"))
}

/// The component built from the tree at `source` (a `.wasm` path), built on first use.
pub fn python_component(source: &Path) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.get(source) {
        return path.clone();
    }
    let builds = std::env::temp_dir().join("berth-python-builds");
    std::fs::create_dir_all(&builds).expect("builds folder");
    let wasm = builds.join(format!("{}.wasm", tree_hash(source)));
    if !wasm.is_file() {
        let scratch = tempfile::TempDir::new().expect("scratch home");
        let store = ImageStore::open(
            &scratch.path().join("images"),
            &scratch.path().join("cache"),
        )
        .expect("image store");
        let ImageRef::Registry(tag) =
            ImageRef::parse("127.0.0.1:5000/berth-test/python:build").expect("tag")
        else {
            unreachable!("a registry reference")
        };
        let report = store
            .build_python(&PythonBuildOptions {
                source_dir: source.to_path_buf(),
                entry: None,
                tag: tag.clone(),
                tools_dir: tools_dir(),
                python: PathBuf::from("python3"),
            })
            .unwrap_or_else(|e| panic!("building the Python component {}: {e}", source.display()));
        let options = PullOptions {
            policy: PullPolicy::Never,
            ..PullOptions::default()
        };
        let resolved = store
            .resolve(&ImageRef::Registry(tag), &options)
            .expect("the built image resolves");
        let ImageKind::Wasi { module_path, .. } = resolved.kind else {
            panic!("a Python build is a WASI image, got {:?}", resolved.kind);
        };
        let partial = wasm.with_extension("partial");
        std::fs::copy(&module_path, &partial).expect("copying the component");
        std::fs::rename(&partial, &wasm).expect("placing the component");
        eprintln!(
            "built {} in {:.1} s ({} bytes)",
            source.display(),
            report.duration.as_secs_f64(),
            report.size
        );
    }
    built.insert(source.to_path_buf(), wasm.clone());
    wasm
}

/// The Docker image of the Python example, built by its script on first use.
pub fn python_example_docker_image() -> String {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let script = python_example_dir().join("docker-image.sh");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .expect("running docker-image.sh");
        assert!(
            output.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    })
    .clone()
}

/// A digest of the tree at `dir` (paths and contents) and of berth's side of the build.
fn tree_hash(dir: &Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)
            .expect("reading the tree")
            .flatten()
        {
            let path = entry.path();
            if entry.file_name() == "__pycache__" {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    hasher.update(toolchain_fingerprint().as_bytes());
    for file in files {
        hasher.update(
            file.strip_prefix(dir)
                .unwrap_or(&file)
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.update(std::fs::read(&file).expect("reading a tree file"));
    }
    hex::encode(&hasher.finalize()[..12])
}
