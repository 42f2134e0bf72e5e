//! Keboola's own Python client, `kbcstorage` from PyPI (pinned), pointed at berth with a berth
//! token, manages configurations unchanged: create, detail, list, update, delete; rows create,
//! update, delete; state (tests/python/kbcstorage_client.py). The client is installed once into
//! a venv under `BERTH_TOOLS`. Without python3, venv or pip the test skips, unless
//! `BERTH_REQUIRE_PYTHON=1` (CI), where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use components_artifacts as guests;
use serde_json::json;

use crate::support::Server;

/// The client version this test is written against.
const KBCSTORAGE: &str = "kbcstorage==0.12.0";

fn required() -> bool {
    std::env::var("BERTH_REQUIRE_PYTHON").as_deref() == Ok("1")
}

/// `why` is fatal when Python is required, else the test is skipped.
fn unavailable(why: &str) -> Option<PathBuf> {
    assert!(
        !required(),
        "kbcstorage test: {why} and BERTH_REQUIRE_PYTHON=1 (apt-get install python3-venv python3-pip)"
    );
    eprintln!("kbcstorage test: skipped, {why}");
    None
}

/// The venv's python with kbcstorage installed (created and installed on first use).
fn client_python() -> Option<PathBuf> {
    let venv = berth_job::testing::python::tools_dir().join(format!(
        "kbcstorage-{}",
        KBCSTORAGE.trim_start_matches("kbcstorage==")
    ));
    let python = venv.join("bin").join("python");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", "import kbcstorage.client"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready(&python) {
        return Some(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .output();
    match made {
        Err(err) => return unavailable(&format!("python3 cannot be started ({err})")),
        Ok(out) if !out.status.success() => {
            return unavailable(&format!(
                "python3 -m venv failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(_) => {}
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            KBCSTORAGE,
        ])
        .output();
    match installed {
        Err(err) => unavailable(&format!("pip cannot be started ({err})")),
        Ok(out) if !out.status.success() => unavailable(&format!(
            "pip install {KBCSTORAGE} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
        Ok(_) if !ready(&python) => unavailable("kbcstorage does not import after pip install"),
        Ok(_) => Some(python),
    }
}

#[test]
fn keboolas_python_client_manages_configurations() {
    let Some(python) = client_python() else {
        return;
    };
    let server = Server::start(1, |env| {
        env.component("acme.a", guests::WRITE_OUTPUTS, json!({}));
    });
    let reader = server.token(json!({"description": "reader", "readOnly": true}));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/kbcstorage_client.py");
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(&python)
        .arg(&script)
        .args([&server.url, &server.token, &reader])
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    // The client retries a 5xx with exponential back-off for minutes: a berth failure must fail
    // the test, not hang it.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the kbcstorage script did not finish in 120 s (a retried 5xx?): {}",
                std::fs::read_to_string(err.path()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(out.path()).unwrap();
    let stderr = std::fs::read_to_string(err.path()).unwrap();
    assert!(
        status.success() && stdout.trim_end().ends_with("kbcstorage: ok"),
        "the kbcstorage script failed ({status}):\n{stdout}\n{stderr}"
    );
    // What the client deleted is gone from Storage too.
    assert!(
        server
            .env
            .storage()
            .list_configs("acme.a")
            .unwrap()
            .is_empty()
    );
}
