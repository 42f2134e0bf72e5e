//! All-or-nothing output loading under `kill -9`: a real `berth run` child process is killed
//! with SIGKILL while it loads a large output table into an existing one; the table must be
//! exactly as it was, and the next job must run normally.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_job::{JobStatus, JobStore};
use berth_staging::Stage;
use components_artifacts as guests;
use serde_json::json;

use berth_job::testing::{Env, csv};

const TABLE: &str = "out.c-main.generated";

/// Waits until the newest job record says the output mapping runs; returns that moment.
fn wait_for_output_mapping(store: &JobStore, child: &mut std::process::Child) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            Instant::now() < deadline,
            "the job never reached the output mapping"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("berth run finished before its output mapping was seen: {status}");
        }
        if let Some(r) = store.list().unwrap().into_iter().last()
            && r.status == JobStatus::Processing
            && r.stage == Some(Stage::OutputMapping)
        {
            return Instant::now();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn berth_run(env: &Env, config: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.arg("--home")
        .arg(env.root())
        .args(["run", "acme.gen", "--config", config])
        .env_remove("BERTH_HOME")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[test]
fn sigkill_during_output_loading_leaves_the_table_as_it_was() {
    let env = Env::new();
    env.component("acme.gen", guests::GENERATE_ROWS, json!({}))
        .import(TABLE, "id,value\nkept,original\n");
    let output = |rows: u64, table: &str| {
        json!({"parameters": {"rows": rows, "file": "generated.csv"},
               "storage": {"output": {"tables": [{"source": "generated.csv", "destination": table}]}}})
    };
    env.config("acme.gen", "timing", output(3_000_000, "out.c-main.timing"));
    env.config("acme.gen", "big", output(3_000_000, TABLE));
    env.config("acme.gen", "small", output(2, TABLE));
    let original = csv(&[&["id", "value"], &["kept", "original"]]);
    let store = JobStore::new(&env.home);

    // How long the output mapping of the big job takes when nobody interrupts it.
    let mut child = berth_run(&env, "timing").spawn().unwrap();
    let entered = wait_for_output_mapping(&store, &mut child);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let window = entered.elapsed();
    assert!(
        window > Duration::from_millis(100),
        "the load is too short to interrupt: {window:?}"
    );

    // Kill the same job half-way through its output mapping.
    let mut child = berth_run(&env, "big").spawn().unwrap();
    let entered = wait_for_output_mapping(&store, &mut child);
    std::thread::sleep((window / 2).saturating_sub(entered.elapsed()));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
    let record = store.list().unwrap().into_iter().last().unwrap();
    assert_eq!(
        record.status,
        JobStatus::Processing,
        "the job did not finish"
    );
    assert_eq!(
        env.table(TABLE).unwrap(),
        original,
        "the table is exactly as it was"
    );

    // Storage still works: the next job loads normally.
    let status = berth_run(&env, "small").status().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(
        env.table(TABLE).unwrap(),
        csv(&[
            &["id", "value"],
            &["0", "value number 0 with some padding text"],
            &["1", "value number 1 with some padding text"]
        ])
    );
}
