//! Storage crash safety: the real `berth` binary killed with SIGKILL in the middle of an import
//! leaves the table exactly as it was, and Storage opens and loads normally afterwards.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use berth_storage::{ExportOptions, ImportOptions, Storage, TableId};
use tempfile::TempDir;

const TABLE: &str = "in.c-main.crash";

fn write_big_csv(path: &Path, rows: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,name,text,extra").unwrap();
    for i in 0..rows {
        writeln!(
            out,
            "{i},name {i},\"some \"\"quoted\"\" text, with a comma {i}\",{}",
            i % 97
        )
        .unwrap();
    }
    out.flush().unwrap();
}

fn import_command(home: &Path, csv: &Path, table: &str, incremental: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.arg("--home")
        .arg(home)
        .args(["table", "import", table])
        .arg(csv)
        .args(["--primary-key", "id"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if incremental {
        cmd.arg("--incremental");
    }
    cmd
}

fn export(storage: &Storage, table: &TableId) -> String {
    let mut out = Vec::new();
    storage
        .export_csv(table, &mut out, &ExportOptions::default())
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn sigkill_mid_import_leaves_the_table_as_it_was() {
    use std::os::unix::process::ExitStatusExt;

    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    let table = TableId::parse(TABLE).unwrap();
    let original = "id,name,text,extra\n1,original,kept,x\n";
    let small = dir.path().join("small.csv");
    std::fs::write(&small, original).unwrap();
    {
        let mut storage = Storage::open(home.join("storage")).unwrap();
        let options = ImportOptions {
            primary_key: vec!["id".into()],
            ..ImportOptions::default()
        };
        storage.import_csv(&table, &small, &options).unwrap();
    }
    let expected = "\"id\",\"name\",\"text\",\"extra\"\n\"1\",\"original\",\"kept\",\"x\"\n";

    let big = dir.path().join("big.csv");
    write_big_csv(&big, 600_000);
    let reset = |storage: &mut Storage, id: &TableId| {
        let options = ImportOptions {
            primary_key: vec!["id".into()],
            ..ImportOptions::default()
        };
        storage.import_csv(id, &small, &options).unwrap();
    };

    // A kill before the commit must leave the original rows; a kill that lands after the
    // commit (while the process closes the database) must leave the complete import. Nothing in
    // between is allowed, and most kills must land before the commit.
    for incremental in [false, true] {
        // How long a complete import of this kind takes, on a scratch table in the same state.
        let timing = TableId::parse("in.c-main.timing").unwrap();
        reset(&mut Storage::open(home.join("storage")).unwrap(), &timing);
        let started = Instant::now();
        let status = import_command(&home, &big, timing.to_string().as_str(), incremental)
            .status()
            .unwrap();
        assert!(status.success(), "the timing import failed: {status}");
        let full = started.elapsed();

        let mut untouched = 0;
        for fraction in [0.1, 0.25, 0.4, 0.6] {
            let mut child = import_command(&home, &big, TABLE, incremental)
                .spawn()
                .unwrap();
            std::thread::sleep(full.mul_f64(fraction));
            let killed = match child.try_wait().unwrap() {
                Some(status) => {
                    assert!(status.success(), "the import failed on its own: {status}");
                    false
                }
                None => {
                    child.kill().unwrap();
                    let status = child.wait().unwrap();
                    assert_eq!(status.signal(), Some(9), "killed with SIGKILL");
                    true
                }
            };

            let mut storage = Storage::open(home.join("storage")).unwrap();
            let info = storage.table(&table).unwrap();
            assert_eq!(info.primary_key, ["id"]);
            if info.rows == 1 {
                assert_eq!(
                    export(&storage, &table),
                    expected,
                    "after SIGKILL at {fraction} of an import (incremental: {incremental})"
                );
                untouched += 1;
            } else {
                // Committed before the kill (or not killed): every row is there, none
                // half-written. Both loads end with one row per id 0..600000 (id 1 upserted).
                assert_eq!(
                    info.rows, 600_000,
                    "a partial import is visible (killed: {killed})"
                );
                reset(&mut storage, &table);
            }
        }
        eprintln!(
            "incremental: {incremental}: {untouched} of 4 kills landed before the commit (a full import takes {full:?})"
        );
        assert!(
            untouched >= 2,
            "too few kills landed before the commit (incremental: {incremental}); a full run took {full:?}"
        );
    }

    // Storage still works: a complete import afterwards succeeds.
    let status = import_command(&home, &big, TABLE, true).status().unwrap();
    assert!(status.success());
    let storage = Storage::open(home.join("storage")).unwrap();
    assert_eq!(storage.table(&table).unwrap().rows, 600_000);
}
