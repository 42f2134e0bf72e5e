//! Who the container runs as: the invoking uid:gid by default (its files are that user's), or
//! the image's user (root) when the component asks for it, after which its files are handed back.
//!
//! Run as root (as CI does), the tests use a distinct uid:gid so that "owned by the invoking
//! user" is not trivially root; otherwise they use the current user, and the root case is skipped
//! (or fails, with `BERTH_REQUIRE_DOCKER=1`: handing files back needs root).

use std::os::unix::fs::MetadataExt;

use berth_exec::Outcome;
use berth_exec::docker::fixture::REQUIRE_DOCKER_VAR;
use berth_exec::docker::{DockerOptions, HostUser};

use crate::docker_support::{Case, chown_tree};

const TEST_USER: HostUser = HostUser {
    uid: 4242,
    gid: 4343,
};

fn owner(path: &std::path::Path) -> (u32, u32) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    (meta.uid(), meta.gid())
}

#[test]
fn docker_runs_as_the_invoking_user() {
    let Some(case) = Case::new("docker_runs_as_user") else {
        return;
    };
    let me = HostUser::current();
    let user = if me.uid == 0 { TEST_USER } else { me };
    // The data folder belongs to the job's user, as staging leaves it.
    chown_tree(case.data.path(), user.uid, user.gid);
    let options = DockerOptions {
        host_user: Some(user),
        ..case.options()
    };
    let (result, outcome) = case.run_with("write_as_user", options);
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    let who = format!("uid={} gid={}\n", user.uid, user.gid);
    assert_eq!(result.stdout.text(), who);
    for file in ["who.txt", "nested/deeper.txt"] {
        assert_eq!(owner(&case.out_file(file)), (user.uid, user.gid), "{file}");
        assert_eq!(std::fs::read_to_string(case.out_file(file)).unwrap(), who);
    }
    case.assert_clean();
}

#[test]
fn docker_root_component_files_are_handed_back() {
    let Some(case) = Case::new("docker_root_handback") else {
        return;
    };
    if HostUser::current().uid != 0 {
        let why = "handing files back needs berth to run as root";
        if std::env::var(REQUIRE_DOCKER_VAR).as_deref() == Ok("1") {
            panic!("docker_root_handback cannot run: {why} ({REQUIRE_DOCKER_VAR}=1)");
        }
        eprintln!("skipped docker_root_handback: {why}");
        return;
    }
    let options = DockerOptions {
        run_as_root: true,
        host_user: Some(TEST_USER),
        ..case.options()
    };
    let (result, outcome) = case.run_with("write_as_user", options);
    assert_eq!(outcome, Outcome::Success, "{}", result.stderr.text());
    // It really ran as root …
    assert_eq!(result.stdout.text(), "uid=0 gid=0\n");
    // … and everything it wrote is the job user's now, owner-writable.
    for file in ["who.txt", "nested", "nested/deeper.txt"] {
        let path = case.out_file(file);
        assert_eq!(owner(&path), (TEST_USER.uid, TEST_USER.gid), "{file}");
        let mode = std::fs::metadata(&path).unwrap().mode();
        assert_eq!(mode & 0o600, 0o600, "{file}: {mode:o}");
    }
    assert_eq!(owner(case.data.path()), (TEST_USER.uid, TEST_USER.gid));
    case.assert_clean();
}
