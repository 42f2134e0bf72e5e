//! Compiles the guests to wasm32-wasip1 (test programs and examples) and the test programs also
//! to wasm32-wasip2 (components), and writes `gen.rs` with their paths.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Example components built alongside the test programs: (package, binary). The incremental
/// example's binary cannot be called `incremental` (cargo reserves that name).
const EXAMPLES: &[(&str, &str)] = &[
    ("multiplier", "multiplier"),
    ("incremental", "incremental_component"),
    ("processor-move-files", "processor_move_files"),
    ("processor-create-manifest", "processor_create_manifest"),
];

/// Core modules (WASI preview 1): every guest.
const TARGET: &str = "wasm32-wasip1";
/// Components (WASI preview 2): the test programs, so the sandbox cases run against both kinds.
const TARGET_P2: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let components = manifest_dir.parent().expect("components/").to_path_buf();
    let workspace = components.parent().expect("workspace root").to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));
    let target_dir = out_dir.join("guests");

    let programs = test_program_names(&components.join("test-programs/src/bin"));

    let examples: Vec<&str> = EXAMPLES.iter().map(|(package, _)| *package).collect();
    build_guests(&workspace, &target_dir, TARGET, &examples);
    build_guests(&workspace, &target_dir, TARGET_P2, &[]);

    let release = target_dir.join(TARGET).join("release");
    let mut generated = String::new();
    let guests = programs
        .iter()
        .map(|p| (p.as_str(), p.as_str()))
        .chain(EXAMPLES.iter().copied());
    write_consts(&mut generated, &release, TARGET, guests);
    generated.push_str(
        "/// The test programs built for wasm32-wasip2: components with the same names and \
         behaviour.\npub mod p2 {\n",
    );
    let release_p2 = target_dir.join(TARGET_P2).join("release");
    write_consts(
        &mut generated,
        &release_p2,
        TARGET_P2,
        programs.iter().map(|p| (p.as_str(), p.as_str())),
    );
    write_program_list(&mut generated, &programs);
    generated.push_str("}\n");
    write_program_list(&mut generated, &programs);
    writeln!(
        generated,
        "/// Calls `$mac!(name)` for every test program.\n#[macro_export]\nmacro_rules! foreach_test_program {{\n    ($mac:ident) => {{\n{}    }};\n}}",
        programs
            .iter()
            .map(|p| format!("        $mac!({p});\n"))
            .collect::<String>()
    )
    .unwrap();
    fs::write(out_dir.join("gen.rs"), generated).expect("writing gen.rs");

    // A new file in src/bin is not in any .d file yet, so watch the directories too.
    for dir in [
        "test-programs/src",
        "test-programs/src/bin",
        "test-programs/Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", components.join(dir).display());
    }
    for (package, _) in EXAMPLES {
        println!(
            "cargo:rerun-if-changed={}",
            components.join(package).display()
        );
    }
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("guest-sdk/src").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("host-api/src").display()
    );
}

/// Builds the test programs and `packages` for `target` with a nested cargo.
fn build_guests(workspace: &Path, target_dir: &Path, target: &str, packages: &[&str]) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace)
        .args([
            "build",
            "--release",
            "--target",
            target,
            "-p",
            "test-programs",
        ])
        .env("CARGO_TARGET_DIR", target_dir)
        // The outer build's flags are for the host; guests get only `-D warnings`.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env("RUSTFLAGS", "-D warnings");
    for package in packages {
        build.args(["-p", package]);
    }
    let status = build.status().expect("running cargo for the guests");
    if !status.success() {
        panic!(
            "building the guests for {target} failed ({status}); is the target installed? \
             `rustup target add {target}` (rust-toolchain.toml lists it)"
        );
    }
}

/// One `pub const NAME: &str` per guest (the path of its binary in `release`), and `TARGET`.
fn write_consts<'a>(
    generated: &mut String,
    release: &Path,
    target: &str,
    guests: impl Iterator<Item = (&'a str, &'a str)>,
) {
    writeln!(
        generated,
        "/// The target these guests were built for.\npub const TARGET: &str = {target:?};"
    )
    .unwrap();
    for (name, binary) in guests {
        let wasm = release.join(format!("{binary}.wasm"));
        assert!(
            wasm.is_file(),
            "expected {} after the guest build",
            wasm.display()
        );
        writeln!(
            generated,
            "/// The `{name}` guest, built for {target}.\npub const {}: &str = {:?};",
            name.to_uppercase().replace('-', "_"),
            wasm.display().to_string()
        )
        .unwrap();
        emit_dependencies(&release.join(format!("{binary}.d")));
    }
}

/// `TEST_PROGRAMS`: the name and path of every test program.
fn write_program_list(generated: &mut String, programs: &[String]) {
    writeln!(
        generated,
        "/// Every test program: its name and the path of its binary.\npub const TEST_PROGRAMS: &[(&str, &str)] = &[{}];",
        programs
            .iter()
            .map(|p| format!("({p:?}, {})", p.to_uppercase()))
            .collect::<Vec<_>>()
            .join(", ")
    )
    .unwrap();
}

fn test_program_names(bin_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(bin_dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", bin_dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    names
}

/// Re-runs the build when any source file a guest was built from changes.
fn emit_dependencies(dep_info: &Path) {
    let Ok(text) = fs::read_to_string(dep_info) else {
        return;
    };
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        for dep in deps.split_whitespace() {
            if !dep.contains("/registry/") {
                println!("cargo:rerun-if-changed={dep}");
            }
        }
    }
}
