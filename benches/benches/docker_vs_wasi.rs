//! The same trivial synchronous action through both executors behind the one `Executor` trait:
//! the WASI module in-process, and the same program as a static binary in a FROM-scratch image
//! through the Docker executor (bollard: create, attach, wait, start, inspect, remove), with the
//! same data folder, environment and limits. Reported as a ratio to the WASI run.
//!
//! The Docker rows are skipped, with a note, when no daemon answers.

use std::time::Instant;

use berth_benches::{median_of, print_ratios, runs};
use berth_exec::docker::fixture::{docker_available, scratch_image};
use berth_exec::docker::{DockerExecutor, DockerOptions};
use berth_exec::outcome::action_response;
use berth_exec::{ExecRequest, Executor};

fn run_once(executor: &dyn Executor, request: &ExecRequest) {
    let result = executor.execute(request).unwrap();
    let answer = action_response(&result.stdout.bytes).unwrap();
    assert_eq!(answer["hello"], "world");
}

fn main() {
    berth_benches::announce("docker_vs_wasi");
    let mut criterion = berth_benches::criterion();
    let fixture = berth_benches::HelloAction::new();
    let (wasi, request) = (&fixture.component, &fixture.request);

    let docker = docker_available("docker_vs_wasi").then(|| {
        let image = scratch_image("test-programs", "action_answer").expect("fixture image");
        let started = Instant::now();
        let executor = DockerExecutor::connect(&image, DockerOptions::default()).unwrap();
        println!(
            "docker executor connect (ping + image present): {:?}",
            started.elapsed()
        );
        executor
    });

    let mut group = criterion.benchmark_group("executor_trivial_action");
    group.bench_function("wasi_executor", |b| b.iter(|| run_once(wasi, request)));
    if let Some(docker) = &docker {
        berth_benches::slow_rows(&mut group);
        group.bench_function("docker_executor", |b| b.iter(|| run_once(docker, request)));
    }
    group.finish();

    let mut rows = vec![(
        "wasi_executor",
        median_of(runs(2000), || run_once(wasi, request)),
    )];
    match &docker {
        Some(docker) => rows.push((
            "docker_executor",
            median_of(runs(20), || run_once(docker, request)),
        )),
        None => println!("note: no Docker daemon answered; the docker_executor row is skipped"),
    }
    print_ratios(
        "trivial synchronous action, same Executor trait",
        "wasi_executor",
        &rows,
    );
    criterion.final_summary();
}
