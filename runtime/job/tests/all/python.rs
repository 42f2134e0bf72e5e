//! Python components (built with `berth image build --python` from `components/python-example`
//! and `components/python-sandbox`):
//! - parity: the example as a whole job on WASI and on Docker (an image built from Debian
//!   packages, `docker-image.sh`), over several parameter sets: the same outcome, the same `out/`
//!   byte for byte, the same Storage tables and state; the same action answer;
//! - the sandbox from Python on WASI: network, files outside /data, threads and subprocesses fail
//!   cleanly; memory and time limits hold and are enforced; a left-out C extension raises an
//!   ImportError naming its package.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_exec::testing::Run;
use berth_exec::{Outcome, Termination};
use berth_job::launch::ExecutorKind;
use berth_job::testing::python::{
    python_component, python_example_dir, python_example_docker_image, python_sandbox_dir,
};
use berth_job::testing::{Env, Job, csv};
use berth_job::{ActionRequest, ConfigSource, run_action};
use serde_json::{Value, json};

const WASI: &str = "acme.python-wasi";
const DOCKER: &str = "acme.python-docker";

/// A home with the example registered twice: as its WASI component and as its Docker image.
fn example_env() -> Option<Env> {
    if !berth_exec::docker::fixture::docker_available("python parity") {
        return None;
    }
    let wasm = python_component(&python_example_dir());
    let image = format!("docker://{}", python_example_docker_image());
    let env = Env::new();
    let actions = json!({"synchronous_actions": ["info"]});
    env.component(WASI, wasm.to_str().unwrap(), actions.clone())
        .component(DOCKER, &image, actions);
    Some(env)
}

fn config(multiplier: Value) -> Value {
    json!({
        "parameters": {"multiplier": multiplier},
        "storage": {
            "input": {"tables": [{"source": "in.c-py.numbers", "destination": "input.csv"}]},
            "output": {"tables": [{"source": "output.csv", "destination": "out.c-py.result"}]}
        }
    })
}

/// Every file under `dir` (none when it does not exist), by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return files;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Runs `configuration` on both executors (each in its own home, with `table` as input) and
/// returns the two jobs and the homes.
fn both(table: &str, configuration: Value) -> Option<[(Env, Job); 2]> {
    let runs = [WASI, DOCKER].map(|component| {
        let env = example_env()?;
        env.import("in.c-py.numbers", table);
        let job = env.run_data(component, configuration.clone());
        Some((env, job))
    });
    let [Some(wasi), Some(docker)] = runs else {
        return None;
    };
    assert_eq!(wasi.1.record().executor, Some(ExecutorKind::Wasi));
    assert_eq!(docker.1.record().executor, Some(ExecutorKind::Docker));
    Some([wasi, docker])
}

#[test]
fn successful_runs_write_the_same_bytes_on_wasi_and_docker() {
    let tables = [
        (
            csv(&[&["id", "value"], &["1", "2"], &["2", "3.5"], &["3", "-1"]]),
            json!(3),
        ),
        (
            csv(&[&["id", "value"], &["a", "10"], &["b", "0.1"]]),
            json!(0.5),
        ),
        (csv(&[&["id", "value"]]), json!(-2)),
    ];
    for (table, multiplier) in tables {
        let Some([(wasi_env, wasi), (docker_env, docker)]) =
            both(&table, config(multiplier.clone()))
        else {
            return;
        };
        wasi.assert_success();
        docker.assert_success();
        let (wasi_out, docker_out) = (
            tree(&wasi.data().join("out")),
            tree(&docker.data().join("out")),
        );
        assert!(
            wasi_out.contains_key("tables/output.csv"),
            "{:?}",
            wasi_out.keys()
        );
        assert!(wasi_out.contains_key("tables/output.csv.manifest"));
        assert!(wasi_out.contains_key("state.json"));
        assert_eq!(
            wasi_out, docker_out,
            "out/ differs for multiplier {multiplier}"
        );
        assert_eq!(
            wasi_env.table("out.c-py.result"),
            docker_env.table("out.c-py.result")
        );
        assert_eq!(wasi_env.primary_key("out.c-py.result"), ["id"]);
        assert_eq!(
            wasi.json("out/state.json"),
            json!({"runs": 1, "rows": table.lines().count() - 1})
        );
    }
}

#[test]
fn a_user_error_has_the_same_message_on_both() {
    let table = csv(&[&["id", "value"], &["1", "2"]]);
    for multiplier in [json!("three"), json!(null), json!(true)] {
        let Some([(_, wasi), (_, docker)]) = both(&table, config(multiplier)) else {
            return;
        };
        let message = wasi.assert_error("user");
        assert_eq!(message, docker.assert_error("user"));
        assert!(
            message.contains("Parameter \"multiplier\" must be a number."),
            "{message}"
        );
        assert_eq!(wasi.record().result.component_exit_code, Some(1));
        assert_eq!(docker.record().result.component_exit_code, Some(1));
        assert_eq!(
            tree(&wasi.data().join("out")),
            tree(&docker.data().join("out"))
        );
    }
}

#[test]
fn an_application_error_exits_two_with_a_traceback_on_both() {
    let table = csv(&[&["id", "value"], &["1", "2"], &["2", "not a number"]]);
    let Some([(_, wasi), (_, docker)]) = both(&table, config(json!(2))) else {
        return;
    };
    for job in [&wasi, &docker] {
        let message = job.assert_error("application");
        assert_eq!(job.record().result.component_exit_code, Some(2));
        assert!(
            message.contains("Traceback (most recent call last)"),
            "{message}"
        );
        assert!(message.contains("/code/src/component.py"), "{message}");
        assert!(
            message.contains("ValueError: could not convert string to float: 'not a number'"),
            "{message}"
        );
    }
}

#[test]
fn the_info_action_answers_the_same_json_on_both() {
    let Some(env) = example_env() else {
        return;
    };
    let answers = [WASI, DOCKER].map(|component| {
        let result = run_action(
            &env.home,
            &ActionRequest {
                component_id: component.into(),
                action: "info".into(),
                config: ConfigSource::Data(json!({"parameters": {"multiplier": 7}})),
                timeout: None,
            },
        )
        .unwrap();
        assert_eq!(result.outcome, Outcome::Success, "{component}");
        result.answer
    });
    assert_eq!(
        answers[0],
        Some(json!({"component": "python-example", "multiplier": 7}))
    );
    assert_eq!(answers[0], answers[1]);
}

// The sandbox, from Python on WASI.

fn sandbox() -> PathBuf {
    python_component(&python_sandbox_dir())
}

fn mode_dir(params: Value) -> tempfile::TempDir {
    berth_exec::testing::data_dir(&json!({"parameters": params, "action": "run"}))
}

#[test]
fn network_files_outside_data_threads_and_subprocesses_fail_cleanly() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let dir = mode_dir(json!({"mode": "probe", "target": target}));
    let wasm = sandbox();
    let (result, outcome) = Run::new(wasm.to_str().unwrap(), dir.path())
        .memory_mb(128)
        .run();
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    let report: BTreeMap<String, String> =
        serde_json::from_slice(&result.stdout.bytes).expect("a JSON report");
    assert!(report["control_config"].starts_with("ok:"), "{report:?}");
    for attempt in [
        "tcp",
        "dns",
        "read_etc_passwd",
        "read_via_dotdot",
        "list_root",
        "thread",
        "subprocess",
    ] {
        assert!(
            report[attempt].starts_with("error:"),
            "{attempt} escaped: {}",
            report[attempt]
        );
    }
    assert!(
        report["thread"].contains("can't start new thread"),
        "{report:?}"
    );
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "nothing connected to the host"
    );
}

#[test]
fn a_memory_bomb_is_stopped_at_the_limit() {
    let dir = mode_dir(json!({"mode": "memory"}));
    let wasm = sandbox();
    let (result, outcome) = Run::new(wasm.to_str().unwrap(), dir.path())
        .memory_mb(128)
        .run();
    assert_eq!(result.termination, Termination::OutOfMemory);
    assert_eq!(
        outcome,
        Outcome::OutOfMemory {
            message: "Component out of memory (exceeded 128M)".into()
        }
    );
}

#[test]
fn an_endless_loop_and_an_endless_sleep_are_stopped_at_the_deadline() {
    let wasm = sandbox();
    for mode in ["spin", "sleep"] {
        let dir = mode_dir(json!({"mode": mode}));
        let (result, outcome) = Run::new(wasm.to_str().unwrap(), dir.path())
            .timeout(Duration::from_secs(2))
            .run();
        assert_eq!(result.termination, Termination::TimedOut, "{mode}");
        assert!(matches!(outcome, Outcome::Timeout { .. }), "{mode}");
        assert!(result.duration < Duration::from_secs(30), "{mode}");
    }
}

#[test]
fn a_left_out_c_extension_raises_an_import_error_naming_its_package() {
    let dir = mode_dir(json!({"mode": "c_extension"}));
    let wasm = sandbox();
    let (result, outcome) = Run::new(wasm.to_str().unwrap(), dir.path()).run();
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    let text = result.stdout.text();
    assert!(text.contains("libyaml False"), "pure-Python PyYAML: {text}");
    assert!(
        text.contains(
            "ImportError: No module named 'yaml._yaml': it is a C extension module of the \
             package 'PyYAML'"
        ),
        "{text}"
    );
}
