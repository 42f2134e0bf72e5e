//! `berth image` through the real binary against the test registry: push, pull, ls, inspect,
//! rm, gc, with --json and exit codes.

use berth_image::testing::{registry, unique_repo, write_guest};

#[test]
fn cli_push_pull_ls_inspect_rm_gc() {
    let Some(reg) = registry("cli_push_pull_ls_inspect_rm_gc") else {
        return;
    };
    let work = tempfile::TempDir::new().unwrap();
    let module = write_guest(work.path(), "cli.wasm", "cli");
    let reference = format!("{reg}/{}:v1", unique_repo("cli"));
    let home = work.path().join("home");
    let berth = |args: &[&str]| {
        let output = crate::support::berth()
            .env("BERTH_HOME", &home)
            .env_remove("BERTH_REGISTRY_AUTH")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (code, stdout, stderr) = berth(&["image", "push", module.to_str().unwrap(), &reference]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("pushed "), "{stdout}");

    let (code, stdout, stderr) = berth(&["image", "pull", &reference, "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let pulled: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(pulled["kind"]["kind"], "wasi");

    let (code, stdout, _) = berth(&["image", "ls", "--json"]);
    assert_eq!(code, Some(0));
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed[0]["reference"], reference);
    assert_eq!(listed[0]["kind"], "wasi");
    let (_, table, _) = berth(&["image", "ls"]);
    assert!(
        table.contains(&reference) && table.contains("wasip1/wasm"),
        "{table}"
    );

    let (code, stdout, _) = berth(&["image", "inspect", &reference, "--json"]);
    assert_eq!(code, Some(0));
    let details: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(details["platform"], "wasip1/wasm");
    assert_eq!(details["digest"], pulled["digest"]);
    assert!(details["size"].as_u64().unwrap() > 0);

    let (code, _, stderr) = berth(&["image", "pull", &format!("{reg}/berth-test/absent:v1")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("repository berth-test/absent not found"),
        "{stderr}"
    );

    let (code, stdout, stderr) = berth(&["image", "rm", &reference]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&format!("removed {reference}")), "{stdout}");
    assert!(stdout.contains("deleted 3 blobs"), "{stdout}");
    let (_, stdout, _) = berth(&["image", "ls", "--json"]);
    assert_eq!(stdout.trim(), "[]");
    let (code, stdout, _) = berth(&["image", "gc", "--json"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("\"removed\": []"), "{stdout}");

    let (code, _, stderr) = berth(&["image", "inspect", &reference]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("not in the local image store"), "{stderr}");
}
