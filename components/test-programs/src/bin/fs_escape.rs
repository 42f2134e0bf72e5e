//! Tries every way out of /data it knows and prints one JSON object on stdout with one entry per
//! attempt, in a fixed set: `"ok: …"` when it worked, `"errno N"` when it failed with WASI errno
//! N. (A path under no preopened directory fails in the guest's own libc with `noent`, 44,
//! without reaching the host: such attempts prove what is preopened. The host's refusals of a
//! path that leaves /data are `perm`, 63.)
//!
//! `OUTSIDE` is a host folder outside /data (its absolute host path) holding `secret.txt`, and
//! `OUTSIDE_UP` the same folder relative to `/data/out`. The host plants `in/file-link` (to
//! `secret.txt`) and `in/dir-link` (to the folder) before the run. The two `control_*` attempts
//! must work, so that the refusals mean something; the host asserts each verdict and that the
//! outside folder is unchanged.
use std::collections::BTreeMap;
use std::fs;
use std::io;

/// The verdict of one attempt.
fn verdict(result: io::Result<String>) -> String {
    match result {
        Ok(what) => format!("ok: {what}"),
        Err(error) => match error.raw_os_error() {
            Some(errno) => format!("errno {errno}"),
            None => format!("error: {error}"),
        },
    }
}

fn read(path: &str) -> io::Result<String> {
    fs::read_to_string(path).map(|s| format!("read {} bytes", s.len()))
}

fn write(path: &str) -> io::Result<String> {
    fs::write(path, "escaped").map(|()| "written".to_owned())
}

#[allow(
    deprecated,
    reason = "the one stable way to create a symlink on wasip1 (std::os::wasi::fs::symlink_path is unstable)"
)]
fn symlink(target: &str, link: &str) -> io::Result<String> {
    fs::soft_link(target, link).map(|()| "created".to_owned())
}

fn hard_link(from: &str, to: &str) -> io::Result<String> {
    fs::hard_link(from, to).map(|()| "linked".to_owned())
}

fn rename(from: &str, to: &str) -> io::Result<String> {
    fs::rename(from, to).map(|()| "renamed".to_owned())
}

fn main() {
    let outside = std::env::var("OUTSIDE").expect("OUTSIDE names the host folder to reach");
    let outside_up = std::env::var("OUTSIDE_UP").expect("OUTSIDE_UP: the folder from /data/out");
    let out = |name: &str| format!("{outside}/{name}");
    let mut report: BTreeMap<&str, String> = BTreeMap::new();
    let mut attempt = |name: &'static str, result: io::Result<String>| {
        report.insert(name, verdict(result));
    };

    // Controls: the data folder itself is readable and writable.
    attempt("control_read", read("/data/config.json"));
    attempt("control_write", write("/data/out/control.txt"));

    // Reading out.
    attempt("read_etc_passwd", read("/etc/passwd"));
    attempt("read_dotdot", read("/data/../../../../etc/passwd"));
    attempt("read_relative_dotdot", read("../etc/passwd"));
    attempt("read_outside", read(&out("secret.txt")));
    attempt("read_planted_file_link", read("/data/in/file-link"));
    attempt(
        "read_planted_dir_link",
        read("/data/in/dir-link/secret.txt"),
    );
    attempt(
        "list_root",
        fs::read_dir("/").map(|d| format!("{} entries", d.count())),
    );

    // Writing out.
    attempt("write_outside", write(&out("escaped.txt")));
    attempt("write_dotdot", write("/data/../escaped.txt"));
    attempt(
        "write_planted_dir_link",
        write("/data/in/dir-link/planted.txt"),
    );

    // Making links of its own that point out, then writing through them.
    attempt(
        "create_link_absolute",
        symlink(&outside, "/data/out/abs-link"),
    );
    attempt(
        "write_created_link_absolute",
        write("/data/out/abs-link/created.txt"),
    );
    attempt(
        "create_link_relative",
        symlink(&outside_up, "/data/out/rel-link"),
    );
    attempt(
        "write_created_link_relative",
        write("/data/out/rel-link/created.txt"),
    );

    // Hard links across the boundary, both ways.
    attempt(
        "hard_link_in_through_dir_link",
        hard_link("/data/in/dir-link/secret.txt", "/data/out/stolen.txt"),
    );
    attempt(
        "hard_link_out",
        hard_link("/data/config.json", &out("linked.txt")),
    );
    attempt(
        "hard_link_out_through_dir_link",
        hard_link("/data/config.json", "/data/in/dir-link/linked.txt"),
    );

    // Renames across the boundary, both ways.
    attempt(
        "rename_out",
        rename("/data/out/control.txt", &out("renamed.txt")),
    );
    attempt(
        "rename_out_through_dir_link",
        rename("/data/out/control.txt", "/data/in/dir-link/renamed.txt"),
    );
    attempt(
        "rename_in_through_dir_link",
        rename("/data/in/dir-link/secret.txt", "/data/out/secret.txt"),
    );

    println!(
        "{}",
        serde_json::to_string(&report).expect("a map of strings serialises")
    );
}
