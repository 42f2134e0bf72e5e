//! `berth image build --python` through the real binary: a small Python tree whose Dockerfile
//! names the entry, built into a CNCF wasm artifact (`os: wasip2`), run with `berth exec`,
//! pushed to the test registry from the store and pulled into another home; a tree without an
//! entry is a user error.

use berth_image::testing::{registry, unique_repo};

/// A tree as a Keboola repository lays it out, with a module beside the entry.
fn write_tree(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("main")).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM python:3.13-slim\nWORKDIR /code/\nCOPY . /code/\n\
         CMD [\"python\", \"-u\", \"/code/main/app.py\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main/helper.py"),
        "GREETING = 'hello from helper'\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main/app.py"),
        "import json, os, sys\nfrom helper import GREETING\n\
         config = json.load(open(os.path.join(os.environ['KBC_DATADIR'], 'config.json')))\n\
         print(GREETING, config['parameters']['n'])\n\
         sys.exit(config['parameters']['n'])\n",
    )
    .unwrap();
}

fn data_dir(n: i32) -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::json!({"parameters": {"n": n}, "action": "run"}).to_string(),
    )
    .unwrap();
    dir
}

#[test]
fn build_run_push_and_pull_a_python_component() {
    let work = tempfile::TempDir::new().unwrap();
    let tree = work.path().join("tree");
    write_tree(&tree);
    let tools = berth_job::testing::python::tools_dir();
    let berth = |home: &str, args: &[&str]| {
        let output = crate::support::berth()
            .env("BERTH_HOME", work.path().join(home))
            .env("BERTH_TOOLS", &tools)
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
    let reference = format!("127.0.0.1:5000/{}:v1", unique_repo("python"));
    let (code, stdout, stderr) = berth(
        "a",
        &[
            "image",
            "build",
            "--python",
            tree.to_str().unwrap(),
            "-t",
            &reference,
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["entry"], "main/app.py");
    assert_eq!(report["entry_source"], "dockerfile");
    assert_eq!(report["requirements"], "none");

    let (code, stdout, _) = berth("a", &["image", "inspect", &reference, "--json"]);
    assert_eq!(code, Some(0));
    let details: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(details["platform"], "wasip2/wasm");
    assert_eq!(details["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(
        details["artifact_type"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(details["kind"]["kind"], "wasi");

    for (n, expected) in [(0, Some(0)), (1, Some(1)), (3, Some(2))] {
        let data = data_dir(n);
        let (code, stdout, stderr) = berth(
            "a",
            &[
                "exec",
                "--data-dir",
                data.path().to_str().unwrap(),
                &reference,
            ],
        );
        assert_eq!(code, expected, "n={n}: {stdout}{stderr}");
        assert!(
            stdout.contains(&format!("hello from helper {n}")),
            "{stdout}"
        );
    }

    let Some(reg) = registry("build_run_push_and_pull_a_python_component") else {
        return;
    };
    let pushed = format!("{reg}/{}:v1", unique_repo("python-pushed"));
    let (code, stdout, stderr) = berth("a", &["image", "push", &reference, &pushed]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("pushed "), "{stdout}");
    let (code, _, stderr) = berth("b", &["image", "pull", &pushed]);
    assert_eq!(code, Some(0), "{stderr}");
    let data = data_dir(0);
    let (code, stdout, stderr) = berth(
        "b",
        &["exec", "--data-dir", data.path().to_str().unwrap(), &pushed],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("hello from helper 0"), "{stdout}");
}

#[test]
fn a_tree_without_an_entry_is_a_user_error() {
    let work = tempfile::TempDir::new().unwrap();
    let output = crate::support::berth()
        .env("BERTH_HOME", work.path().join("home"))
        .args([
            "image",
            "build",
            "--python",
            work.path().to_str().unwrap(),
            "-t",
            "127.0.0.1:5000/x/y:v1",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the entry script src/component.py does not exist"),
        "{stderr}"
    );
}
