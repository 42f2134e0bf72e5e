//! Embeds the WASI 0.2 WIT files of the wasmtime-wasi crate this workspace links (the interfaces
//! berth's WASI executor implements) for `berth image build --python`: componentize-py needs
//! them to build a `wasi:cli/command` component. Nothing is copied into the repository; the
//! files are found through `cargo metadata` in the crate's own source.

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let crate_dir = from_metadata(&manifest).or_else(from_registry).expect(
        "the wasmtime-wasi 48 sources (through cargo metadata or in CARGO_HOME/registry/src)",
    );
    let deps = crate_dir.join("src/p2/wit/deps");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&deps)
        .unwrap_or_else(|e| panic!("reading {}: {e}", deps.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wit"))
        .collect();
    files.sort();
    let cli = std::fs::read_to_string(deps.join("cli.wit")).expect("cli.wit");
    let cli_version = cli
        .lines()
        .find_map(|l| l.trim().strip_prefix("package wasi:cli@"))
        .and_then(|v| v.strip_suffix(';'))
        .expect("cli.wit declares package wasi:cli@VERSION");
    let mut generated = String::new();
    writeln!(
        generated,
        "/// The version of `wasi:cli` these files define.\npub(super) const CLI_VERSION: &str = {cli_version:?};"
    )
    .unwrap();
    writeln!(
        generated,
        "/// The WIT files: name and text.\npub(super) const FILES: &[(&str, &str)] = &["
    )
    .unwrap();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        writeln!(
            generated,
            "    ({name:?}, include_str!({:?})),",
            file.display().to_string()
        )
        .unwrap();
        println!("cargo:rerun-if-changed={}", file.display());
    }
    generated.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("wasi_wit.rs"), generated).expect("writing wasi_wit.rs");
    println!("cargo:rerun-if-changed=build.rs");
}

/// The wasmtime-wasi 48 package folder, as `cargo metadata` reports it.
fn from_metadata(manifest: &std::path::Path) -> Option<PathBuf> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
        ])
        .arg(env::var("TARGET").ok()?)
        .arg("--manifest-path")
        .arg(manifest.join("Cargo.toml"))
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    // Every package's `"manifest_path":"…/Cargo.toml"`; the one of wasmtime-wasi 48.
    text.split("\"manifest_path\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|path| PathBuf::from(path).parent().map(PathBuf::from))
        .find(|dir| is_wasmtime_wasi(dir))
}

/// The wasmtime-wasi 48 package folder in cargo's registry sources.
fn from_registry() -> Option<PathBuf> {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .filter_map(|index| std::fs::read_dir(index.ok()?.path()).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|dir| is_wasmtime_wasi(dir))
        .collect();
    found.sort();
    found.pop()
}

fn is_wasmtime_wasi(dir: &std::path::Path) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("wasmtime-wasi-48."))
}
