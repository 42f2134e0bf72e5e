//! The Python example component (`components/python-example`, keboola.component: an input table
//! multiplied into an output table with a manifest, and state) three ways, in one run:
//! - `wasi_job`: a whole `berth run` job (input mapping from Storage, the component on the WASI
//!   executor with a warm compiled cache, output mapping back) — the baseline;
//! - `wasi_exec`: the component alone on the WASI executor, on a prepared data folder;
//! - `docker_job`: the same job with the component's Docker image (Debian's CPython, built by
//!   `docker-image.sh`);
//! - `docker_exec`: that image alone on the Docker executor, on a prepared data folder;
//! - `host_cpython`: `python3 src/component.py` as a process on the host, on a prepared data
//!   folder (the floor of running the script natively, interpreter start included).
//!
//! Reported as ratios to `wasi_job`, and the component alone as ratios to `wasi_exec`. The Docker row is skipped, with a note, when no daemon
//! answers.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_benches::{median_of, print_ratios};
use berth_exec::docker::fixture::docker_available;
use berth_exec::docker::{DockerExecutor, DockerOptions};
use berth_exec::{ExecRequest, Executor, JobEnvironment, Limits, StdoutMode, Termination};
use berth_job::JobStatus;
use berth_job::testing::Env;
use berth_job::testing::python::{
    python_component, python_example_dir, python_example_docker_image, tools_dir,
};
use serde_json::json;

const TABLE: &str = "id,value\n1,2\n2,3.5\n3,-1\n4,10\n5,0.25\n";

fn config() -> serde_json::Value {
    json!({
        "parameters": {"multiplier": 3},
        "storage": {
            "input": {"tables": [{"source": "in.c-py.numbers", "destination": "input.csv"}]},
            "output": {"tables": [{"source": "output.csv", "destination": "out.c-py.result"}]}
        }
    })
}

/// A data folder as the job's input mapping would prepare it.
fn prepared_data(dir: &Path) {
    std::fs::create_dir_all(dir.join("in/tables")).unwrap();
    std::fs::create_dir_all(dir.join("in/files")).unwrap();
    std::fs::create_dir_all(dir.join("out/tables")).unwrap();
    std::fs::create_dir_all(dir.join("out/files")).unwrap();
    let mut config = config();
    config["action"] = json!("run");
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("in/tables/input.csv"), TABLE).unwrap();
    std::fs::write(
        dir.join("in/tables/input.csv.manifest"),
        r#"{"id": "in.c-py.numbers", "columns": ["id", "value"]}"#,
    )
    .unwrap();
}

fn main() {
    let mut criterion = berth_benches::criterion();
    let wasm = python_component(&python_example_dir());
    let docker = docker_available("python bench").then(python_example_docker_image);

    let env = Env::new();
    env.import("in.c-py.numbers", TABLE).component(
        "bench.python-wasi",
        wasm.to_str().unwrap(),
        json!({}),
    );
    if let Some(tag) = &docker {
        env.component("bench.python-docker", &format!("docker://{tag}"), json!({}));
    }
    let job = |component: &str| {
        let run = env.run_data(component, config());
        assert_eq!(
            run.record().status,
            JobStatus::Success,
            "{:?}",
            run.record().result
        );
    };
    job("bench.python-wasi"); // compiles the component into the cache once: later runs are warm

    // The component alone on the WASI executor.
    let data = tempfile::TempDir::new().unwrap();
    prepared_data(data.path());
    let engine = berth_exec::wasm::WasmEngine::shared(&env.home.compiled_cache()).unwrap();
    let component = engine.load(&wasm, "bench.python-wasi").unwrap();
    let request = ExecRequest {
        data_dir: data.path().to_path_buf(),
        action: "run".into(),
        env: JobEnvironment::local("bench.python-wasi", "bench").to_vars(),
        limits: Limits::for_action("run"),
        stdout: StdoutMode::Capture,
        cancel: None,
        output_filter: None,
    };
    let exec = || {
        let result = component.execute(&request).unwrap();
        assert_eq!(result.termination, Termination::Exited(0));
    };
    let docker_data = tempfile::TempDir::new().unwrap();
    prepared_data(docker_data.path());
    let docker_executor = docker
        .as_ref()
        .map(|tag| DockerExecutor::connect(tag, DockerOptions::default()).unwrap());
    let docker_request = ExecRequest {
        data_dir: docker_data.path().to_path_buf(),
        ..request.clone()
    };
    let docker_exec = |executor: &DockerExecutor| {
        let result = executor.execute(&docker_request).unwrap();
        assert_eq!(result.termination, Termination::Exited(0));
    };

    // The script on the host's CPython, with the requirements installed for it.
    let site = tempfile::TempDir::new().unwrap();
    let python = tools_dir()
        .join(format!(
            "componentize-py-{}",
            berth_image::python::COMPONENTIZE_PY_VERSION
        ))
        .join("bin/python");
    // componentize-py's environment when a build installed it here, else the host's python3.
    let python = if python.is_file() {
        python
    } else {
        "python3".into()
    };
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(site.path())
        .arg("-r")
        .arg(python_example_dir().join("requirements.txt"))
        .status()
        .unwrap();
    assert!(status.success(), "pip install for the host baseline");
    let host_data = tempfile::TempDir::new().unwrap();
    prepared_data(host_data.path());
    let host = || {
        let output = Command::new(&python)
            .arg(python_example_dir().join("src/component.py"))
            .env_clear()
            .envs(JobEnvironment::local("bench.python-host", "bench").to_vars())
            .env("KBC_DATADIR", host_data.path())
            .env("PYTHONPATH", site.path())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    assert_eq!(
        std::fs::read(host_data.path().join("out/tables/output.csv")).ok(),
        None,
        "fresh host data folder"
    );
    host();
    exec();
    assert_eq!(
        std::fs::read(host_data.path().join("out/tables/output.csv")).unwrap(),
        std::fs::read(data.path().join("out/tables/output.csv")).unwrap(),
        "WASI and host CPython write the same table"
    );

    let mut group = criterion.benchmark_group("python_component");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("wasi_job", |b| b.iter(|| job("bench.python-wasi")));
    group.bench_function("wasi_exec", |b| b.iter(exec));
    group.bench_function("host_cpython", |b| b.iter(host));
    if let Some(executor) = &docker_executor {
        group.sample_size(10);
        group.bench_function("docker_job", |b| b.iter(|| job("bench.python-docker")));
        group.bench_function("docker_exec", |b| b.iter(|| docker_exec(executor)));
    }
    group.finish();

    let mut jobs = vec![("wasi_job", median_of(30, || job("bench.python-wasi")))];
    let mut alone = vec![
        ("wasi_exec", median_of(30, exec)),
        ("host_cpython", median_of(20, host)),
    ];
    match &docker_executor {
        Some(executor) => {
            jobs.push(("docker_job", median_of(10, || job("bench.python-docker"))));
            alone.push(("docker_exec", median_of(10, || docker_exec(executor))));
        }
        None => println!("note: no Docker daemon answered; the docker rows are skipped"),
    }
    print_ratios(
        "Python example as a whole job (staging included), warm WASI cache",
        "wasi_job",
        &jobs,
    );
    print_ratios(
        "Python example component alone on a prepared data folder",
        "wasi_exec",
        &alone,
    );
    criterion.final_summary();
}
