//! A trivial synchronous action end to end — cached module → instantiate → run → collect
//! output — under berth's WASI executor, and in the same run the same guest logic as a native
//! process and as `docker run --rm --network none` of a FROM-scratch image.
//!
//! Goal (issue 2): WASI ≤ 100 µs median in-process and ≥ 1000× faster than `docker run`.
//! The Docker row is skipped, with a note, when no daemon answers.

use std::process::Command;
use std::time::Duration;

use berth_benches::{median_of, print_ratios};
use berth_exec::Executor;
use berth_exec::docker::fixture::{docker_available, scratch_image, static_binary};
use berth_exec::outcome::action_response;

fn main() {
    let mut criterion = berth_benches::criterion();

    // WASI, in-process, module already compiled and cached.
    let fixture = berth_benches::HelloAction::new();
    let (component, request, data) = (&fixture.component, &fixture.request, &fixture.data);
    let env = &request.env;
    let wasi_once = || {
        let result = component.execute(request).unwrap();
        let answer = action_response(&result.stdout.bytes).unwrap();
        assert_eq!(answer["hello"], "world");
    };

    // The same logic as a native process.
    // The same test program as a static native binary (and, below, in a FROM-scratch image).
    let native = static_binary("test-programs", "action_answer").expect("static build");
    let native_once = || {
        let out = Command::new(&native)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("KBC_DATADIR", data.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(action_response(&out.stdout).unwrap()["hello"], "world");
    };

    // The same logic as a container.
    let docker = docker_available("bench_exec")
        .then(|| scratch_image("test-programs", "action_answer").expect("scratch image"));
    let volume = format!("{}:/data", data.path().display());
    let docker_once = || {
        let out = Command::new("docker")
            .args(["run", "--rm", "--network", "none", "-v", &volume])
            .arg(docker.as_deref().unwrap_or_default())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(action_response(&out.stdout).unwrap()["hello"], "world");
    };

    let mut group = criterion.benchmark_group("trivial_action");
    group.bench_function("wasi_in_process", |b| b.iter(wasi_once));
    group.bench_function("native_process", |b| b.iter(native_once));
    if docker.is_some() {
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(10));
        group.bench_function("docker_run", |b| b.iter(docker_once));
    }
    group.finish();

    let mut rows = vec![
        ("wasi_in_process", median_of(2000, wasi_once)),
        ("native_process", median_of(200, native_once)),
    ];
    if docker.is_some() {
        rows.push(("docker_run", median_of(15, docker_once)));
    } else {
        println!("note: no Docker daemon answered; the docker_run row is skipped");
    }
    print_ratios("trivial synchronous action", "wasi_in_process", &rows);
    criterion.final_summary();
}
