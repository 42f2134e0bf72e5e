//! Whole `berth` processes, start to exit, against the same guest logic as a static native
//! process in the same run:
//!
//! - `berth --version`: what starting this executable costs before any command runs;
//! - `berth exec module.wasm --action hello` (compiled cache warm);
//! - the same module by registry reference (pulled once before the clock starts);
//! - `berth action` (opens Storage, reads the component's definition) and a trivial `berth run`
//!   (a job: Storage, staging, records).
//!
//! `berth` is this bench's executable started again with `BERTH_BENCH_AS_BERTH` set, which runs
//! [`berth_cli::main`] — the whole binary — so nothing of the bench runs in the measured process.
//! Peak RSS of each command is read from GNU time (`/usr/bin/time -f %M`) when it is installed.
//!
//! Goals (issue 13): `berth exec` ≤ 3 ms; a registry reference within 10 % of a path; Storage
//! adds ≤ 5 ms.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use berth_benches::{median_of, print_ratios, runs};
use berth_exec::docker::fixture::static_binary;
use berth_image::{ImageRef, PullOptions, RegistrySettings};
use components_artifacts as guests;

/// Builds the command of one row, afresh for every run.
type CommandMaker<'a> = Box<dyn Fn() -> Command + 'a>;

/// Set in a child: run as `berth`.
const AS_BERTH: &str = "BERTH_BENCH_AS_BERTH";

fn main() -> ExitCode {
    if std::env::var_os(AS_BERTH).is_some() {
        return berth_cli::main();
    }
    berth_benches::announce("process");
    let data = berth_benches::hello_action_data_dir();
    let env = berth_benches::answer_and_writer_home();
    let home = env.home.root().to_path_buf();
    let config_data = data.path().join("config-data.json");
    std::fs::write(&config_data, r#"{"parameters": {}}"#).unwrap();

    let own = std::env::current_exe().expect("the bench's own path");
    let berth = |args: &[&str]| {
        let mut command = Command::new(&own);
        command
            .env(AS_BERTH, "1")
            .arg("--home")
            .arg(&home)
            .args(args)
            .stdin(Stdio::null());
        command
    };
    let data_dir = data.path().to_str().unwrap().to_owned();
    let exec_args = |image: &str| -> Vec<String> {
        ["exec", image, "--data-dir", &data_dir, "--action", "hello"]
            .map(str::to_owned)
            .to_vec()
    };

    let native = static_binary("test-programs", "action_answer").expect("static build");
    let job_env = berth_exec::JobEnvironment::local("action_answer", "bench").to_vars();
    let mut rows: Vec<(&str, CommandMaker<'_>)> = vec![
        (
            "native_process",
            Box::new(|| {
                let mut command = Command::new(&native);
                command
                    .env_clear()
                    .envs(job_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .env("KBC_DATADIR", data.path());
                command
            }),
        ),
        ("berth_version", Box::new(|| berth(&["--version"]))),
    ];
    let path_args = exec_args(guests::ACTION_ANSWER);
    rows.push((
        "berth_exec_path",
        Box::new(move || {
            let mut command = berth(&[]);
            command.args(&path_args);
            command
        }),
    ));
    match pushed_reference(guests::ACTION_ANSWER) {
        Some(reference) => {
            let registry_args = exec_args(&reference);
            rows.push((
                "berth_exec_registry",
                Box::new(move || {
                    let mut command = berth(&[]);
                    command.args(&registry_args);
                    command
                }),
            ));
        }
        None => println!("note: no registry at 127.0.0.1:5000; the registry row is skipped"),
    }
    let config_data_text = config_data.to_str().unwrap().to_owned();
    let action_config = config_data_text.clone();
    rows.push((
        "berth_action",
        Box::new(move || {
            berth(&[
                "action",
                "acme.answer",
                "hello",
                "--config-data",
                &action_config,
            ])
        }),
    ));
    rows.push((
        "berth_run",
        Box::new(move || berth(&["run", "acme.writer", "--config-data", &config_data_text])),
    ));

    let mut medians = Vec::new();
    for (name, command) in &rows {
        let once = || {
            let out = command().output().unwrap();
            assert!(
                out.status.success(),
                "{name}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let iterations = if name.contains("run") {
            runs(30)
        } else {
            runs(200)
        };
        medians.push((*name, median_of(iterations, once)));
    }
    print_ratios("whole processes", "native_process", &medians);
    let median = |row: &str| {
        medians
            .iter()
            .find(|(name, _)| *name == row)
            .map(|(_, d)| d.as_secs_f64() * 1e3)
    };
    if let (Some(path), Some(registry)) = (median("berth_exec_path"), median("berth_exec_registry"))
    {
        println!(
            "  registry reference / path: {:.2}× [≤ 1.10]",
            registry / path
        );
    }
    if let (Some(exec), Some(action)) = (median("berth_exec_path"), median("berth_action")) {
        println!(
            "  Storage and definition (action − exec): {:.2} ms [≤ 5]",
            action - exec
        );
    }

    let time = Path::new("/usr/bin/time");
    if time.is_file() {
        println!("\npeak RSS (GNU time, one run each):");
        for (name, command) in &rows {
            let command = command();
            let out = Command::new(time)
                .args(["-f", "%M"])
                .arg(command.get_program())
                .args(command.get_args())
                .envs(
                    command
                        .get_envs()
                        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
                )
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let kib: f64 = stderr
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(f64::NAN);
            println!("  {name:<28} {:>8.1} MiB", kib / 1024.0);
        }
    } else {
        println!("note: /usr/bin/time is missing; peak RSS is not reported");
    }
    ExitCode::SUCCESS
}

/// Pushes `module` to the test registry under a fresh name and returns its reference; `None`
/// without a registry (a failure when `BERTH_REQUIRE_REGISTRY=1`).
fn pushed_reference(module: &str) -> Option<String> {
    let registry = berth_benches::test_registry()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let reference = format!("{registry}/berth-bench/answer-{nanos}:v1");
    let ImageRef::Registry(target) = ImageRef::parse(&reference).unwrap() else {
        unreachable!()
    };
    let options = PullOptions {
        settings: RegistrySettings {
            progress: false,
            ..RegistrySettings::default()
        },
        ..PullOptions::default()
    };
    let pusher = tempfile::TempDir::new().unwrap();
    berth_job::home::Home::new(pusher.path())
        .image_store()
        .unwrap()
        .push_wasm(Path::new(module), &target, &options)
        .unwrap();
    Some(reference)
}
