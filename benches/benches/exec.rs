//! A trivial synchronous action end to end — cached module → instantiate → run → collect
//! output — under berth's WASI executor, and in the same run the same guest logic as a native
//! process and as `docker run --rm` of a FROM-scratch image. Every row gets the same environment
//! (the request's KBC_* variables); the Docker row also gets the request's limits the way the
//! reference runner passes them (`timeout --signal=SIGKILL <s> docker run --memory … --network
//! none --user uid:gid`), so it is timed doing the work a real run does.
//!
//! Goal (issue 2): WASI ≤ 100 µs median in-process and ≥ 1000× faster than `docker run`.
//! The Docker row is skipped, with a note, when no daemon answers.

use std::process::Command;

use berth_benches::{median_of, print_ratios, runs};
use berth_exec::Executor;
use berth_exec::docker::HostUser;
use berth_exec::docker::fixture::{docker_available, scratch_image, static_binary};
use berth_exec::outcome::action_response;

fn main() {
    berth_benches::announce("exec");
    let mut criterion = berth_benches::criterion();

    // WASI, in-process, module already compiled and cached.
    let fixture = berth_benches::HelloAction::new();
    let (component, request, data) = (&fixture.component, &fixture.request, &fixture.data);
    let env = &request.env;
    let limits = &request.limits;
    let wasi_once = || {
        let result = component.execute(request).unwrap();
        let answer = action_response(&result.stdout.bytes).unwrap();
        assert_eq!(answer["hello"], "world");
    };

    // The same test program as a static native binary (and, below, in a FROM-scratch image),
    // with the same environment; only the data folder is the host path instead of /data.
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

    // The same program as a container, with the request's environment and limits.
    let docker = docker_available("bench_exec")
        .then(|| scratch_image("test-programs", "action_answer").expect("scratch image"));
    let volume = format!("{}:/data", data.path().display());
    let memory = format!("{}b", limits.memory_bytes);
    let user = HostUser::current().docker_user();
    let timeout = limits.timeout.as_secs().to_string();
    let docker_once = || {
        let mut command = Command::new("timeout");
        command
            .args(["--signal=SIGKILL", &timeout, "docker", "run", "--rm"])
            .args([
                "--network",
                "none",
                "--memory",
                &memory,
                "--memory-swap",
                &memory,
            ])
            .args(["--user", &user, "-v", &volume]);
        for (key, value) in env {
            command.arg("--env").arg(format!("{key}={value}"));
        }
        let out = command
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
        berth_benches::slow_rows(&mut group);
        group.bench_function("docker_run", |b| b.iter(docker_once));
    }
    group.finish();

    let mut rows = vec![
        ("wasi_in_process", median_of(runs(2000), wasi_once)),
        ("native_process", median_of(runs(200), native_once)),
    ];
    if docker.is_some() {
        rows.push(("docker_run", median_of(runs(15), docker_once)));
    } else {
        println!("note: no Docker daemon answered; the docker_run row is skipped");
    }
    print_ratios("trivial synchronous action", "wasi_in_process", &rows);

    // Scaling with cores: the same action from 1, 2 and 4 threads at once on one engine.
    let per_thread = runs(2000);
    let throughput = |threads: usize| {
        let started = std::time::Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| (0..per_thread).for_each(|_| wasi_once()));
            }
        });
        (threads * per_thread) as f64 / started.elapsed().as_secs_f64()
    };
    wasi_once();
    let one = throughput(1);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("\nconcurrent trivial actions on one engine ({cores} cores):");
    println!(
        "{:>8} {:>12} {:>14}",
        "threads", "actions/s", "x one thread"
    );
    for threads in [1, 2, 4] {
        let rate = if threads == 1 {
            one
        } else {
            throughput(threads)
        };
        println!("{threads:>8} {rate:>12.0} {:>14.2}", rate / one);
    }
    criterion.final_summary();
}
