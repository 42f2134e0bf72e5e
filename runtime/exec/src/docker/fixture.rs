//! Test and bench support for the Docker executor (feature `testing`): whether a daemon is there,
//! and `FROM scratch` images built from workspace packages, nothing downloaded.
//!
//! [`scratch_image`] builds one binary of a workspace package as a static Linux executable
//! (`-C target-feature=+crt-static` for the host triple, in its own target folder so the flags
//! never invalidate the shared build), packs it alone with a three-line Dockerfile into a build
//! context and has the daemon build it. The tag is named after the binary and its content hash,
//! so an unchanged binary is not rebuilt into a new image.
//!
//! [`docker_available`] decides whether Docker tests run: with `BERTH_REQUIRE_DOCKER=1` a missing
//! daemon fails the test loudly; otherwise the test prints a skip line and returns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result, bail};
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::client::{self, DaemonAddress};

/// Environment variable that turns a missing daemon from a skip into a failure.
pub const REQUIRE_DOCKER_VAR: &str = "BERTH_REQUIRE_DOCKER";

/// Whether a Docker daemon answers. When none does: panics if `BERTH_REQUIRE_DOCKER=1`,
/// otherwise prints `skipped <test>: …` and returns `false`.
pub fn docker_available(test: &str) -> bool {
    static REACHABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let reachable = REACHABLE.get_or_init(|| {
        block_on(client::connect(&DaemonAddress::resolve(None)))
            .map(drop)
            .map_err(|err| format!("{err:#}"))
    });
    match reachable {
        Ok(()) => true,
        Err(err) if std::env::var(REQUIRE_DOCKER_VAR).as_deref() == Ok("1") => {
            panic!("{REQUIRE_DOCKER_VAR}=1 but Docker is unavailable: {err}")
        }
        Err(err) => {
            eprintln!(
                "skipped {test}: Docker is unavailable ({err}); set {REQUIRE_DOCKER_VAR}=1 to fail instead"
            );
            false
        }
    }
}

/// Builds binary `bin` of workspace package `package` statically and returns the tag of a
/// `FROM scratch` image holding it as `/<bin>` (the entrypoint). Safe to call from parallel tests.
pub fn scratch_image(package: &str, bin: &str) -> Result<String> {
    static BUILT: OnceLock<Mutex<HashMap<(String, String), String>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let key = (package.to_owned(), bin.to_owned());
    if let Some(tag) = built.get(&key) {
        return Ok(tag.clone());
    }
    let binary = static_binary(package, bin)?;
    let tag = block_on(build_image(&binary, bin))?;
    built.insert(key, tag.clone());
    Ok(tag)
}

/// Builds `bin` of `package` with `+crt-static` for the host triple and returns its path.
pub fn static_binary(package: &str, bin: &str) -> Result<PathBuf> {
    let workspace = workspace_root();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("static-fixtures");
    let triple = host_triple()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&workspace)
        .args(["build", "--release", "--quiet", "-p", package, "--bin", bin])
        .args(["--target", &triple])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .status()
        .context("running cargo build for a static fixture")?;
    if !status.success() {
        bail!("cargo build of {package}/{bin} (static, {triple}) failed: {status}");
    }
    let binary = target_dir.join(&triple).join("release").join(bin);
    if !binary.is_file() {
        bail!(
            "cargo built {package}/{bin} but {} is missing",
            binary.display()
        );
    }
    Ok(binary)
}

/// The workspace root (two levels above this crate, `runtime/exec`).
fn workspace_root() -> PathBuf {
    let exec = Path::new(env!("CARGO_MANIFEST_DIR"));
    exec.ancestors().nth(2).unwrap_or(exec).to_owned()
}

fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .context("rustc -vV printed no host triple")
}

async fn build_image(binary: &Path, bin: &str) -> Result<String> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let hash = hex::encode(&Sha256::digest(&bytes)[..8]);
    let tag = format!("berth-fixture/{}:{hash}", bin.replace('_', "-"));
    let docker = client::connect(&DaemonAddress::resolve(None)).await?;
    if docker.inspect_image(&tag).await.is_ok() {
        return Ok(tag);
    }
    let dockerfile = format!("FROM scratch\nCOPY {bin} /{bin}\nENTRYPOINT [\"/{bin}\"]\n");
    let context = build_context(&[
        ("Dockerfile", dockerfile.as_bytes(), 0o644),
        (bin, &bytes, 0o755),
    ])?;
    let options = BuildImageOptionsBuilder::new()
        .t(&tag)
        .rm(true)
        .forcerm(true)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        let info = item.with_context(|| format!("building image {tag}"))?;
        if let Some(err) = info.error_detail {
            bail!("building image {tag}: {}", err.message.unwrap_or_default());
        }
    }
    Ok(tag)
}

/// A tar build context holding `files` (name, content, mode).
fn build_context(files: &[(&str, &[u8], u32)]) -> Result<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    for (name, content, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(*mode);
        header.set_cksum();
        archive
            .append_data(&mut header, name, *content)
            .with_context(|| format!("packing {name}"))?;
    }
    archive.into_inner().context("finishing the build context")
}

/// Runs `future` on a throwaway current-thread runtime.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for Docker test support")
        .block_on(future)
}

/// Lists the containers (running or not) carrying `label=value`.
pub fn containers_labelled(label: &str, value: &str) -> Result<Vec<String>> {
    list_labelled(label, value, None)
}

/// Lists the running containers carrying `label=value`.
pub fn running_containers_labelled(label: &str, value: &str) -> Result<Vec<String>> {
    list_labelled(label, value, Some("running"))
}

fn list_labelled(label: &str, value: &str, status: Option<&str>) -> Result<Vec<String>> {
    block_on(async {
        let docker = client::connect(&DaemonAddress::resolve(None)).await?;
        let mut filters = HashMap::from([("label", vec![format!("{label}={value}")])]);
        if let Some(status) = status {
            filters.insert("status", vec![status.to_owned()]);
        }
        let options = bollard::query_parameters::ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = docker.list_containers(Some(options)).await?;
        Ok(list.into_iter().filter_map(|c| c.id).collect())
    })
}

/// The host's address on Docker's default `bridge` network (the `docker0` address): the
/// network's IPAM gateway, else the first address of its subnet, which is what the daemon gives
/// `docker0` unless told otherwise.
pub fn bridge_gateway() -> Result<std::net::Ipv4Addr> {
    let ipam = block_on(async {
        let docker = client::connect(&DaemonAddress::resolve(None)).await?;
        let network = docker
            .inspect_network("bridge", None)
            .await
            .context("inspecting the bridge network")?;
        anyhow::Ok(network.ipam.and_then(|i| i.config).unwrap_or_default())
    })?;
    for config in ipam {
        if let Some(gateway) = config.gateway.as_deref().and_then(|g| g.parse().ok()) {
            return Ok(gateway);
        }
        let subnet = config.subnet.as_deref().and_then(|s| s.split_once('/'));
        if let Some(network) = subnet.and_then(|(ip, _)| ip.parse::<std::net::Ipv4Addr>().ok()) {
            return Ok(std::net::Ipv4Addr::from(u32::from(network) + 1));
        }
    }
    bail!("the bridge network has no IPv4 gateway or subnet")
}
