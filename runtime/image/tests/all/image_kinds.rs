//! Image kinds decided from the manifest: a skopeo-copied OCI layout, a `wasi/wasm` platform
//! image (module in a tar layer, entrypoint from its config), a container image, local `.wasm`
//! files and `docker://` references.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use berth_image::{ImageKind, ImageRef};

use crate::image_support::{
    GREETING, TempHome, descriptor, guest, options, push_raw, registry, run_module, sha256,
    unique_repo, wasm_artifact, write_guest,
};

/// Writes an OCI image layout holding one manifest tagged `tag`.
fn write_layout(dir: &Path, tag: &str, manifest: &[u8], blobs: &[&[u8]]) {
    let blob_dir = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blob_dir).unwrap();
    for blob in blobs.iter().chain([&manifest]) {
        let digest = sha256(blob);
        std::fs::write(blob_dir.join(&digest["sha256:".len()..]), blob).unwrap();
    }
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut entry = descriptor("application/vnd.oci.image.manifest.v1+json", manifest);
    entry["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [entry]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn skopeo_copied_layout_resolves_to_wasi_and_runs() {
    let Some(reg) = registry("skopeo_copied_layout_resolves_to_wasi_and_runs") else {
        return;
    };
    if Command::new("skopeo").arg("--version").output().is_err() {
        if std::env::var("BERTH_REQUIRE_REGISTRY").as_deref() == Ok("1") {
            panic!("skopeo is not installed (BERTH_REQUIRE_REGISTRY=1)");
        }
        eprintln!("SKIPPED skopeo_copied_layout_resolves_to_wasi_and_runs: no skopeo");
        return;
    }
    let work = tempfile::TempDir::new().unwrap();
    let module = guest("skopeo");
    let (config, manifest) = wasm_artifact(&module);
    let layout = work.path().join("layout");
    write_layout(&layout, "v1", &manifest, &[&config, &module]);
    let repo = unique_repo("skopeo");
    let output = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!("docker://{reg}/{repo}:v1"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let home = TempHome::new();
    let image = ImageRef::parse(&format!("{reg}/{repo}:v1")).unwrap();
    let resolved = home.store.resolve(&image, &options()).unwrap();
    let ImageKind::Wasi { module_path, .. } = &resolved.kind else {
        panic!("{resolved:?}")
    };
    assert_eq!(std::fs::read(module_path).unwrap(), module);
    let (_, stdout) = run_module(home.compiled_cache(), module_path);
    assert_eq!(stdout, GREETING);
}

fn tar_gz(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    builder.append_data(&mut header, name, bytes).unwrap();
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn wasi_platform_image_resolves_with_its_entrypoint_and_runs() {
    let Some(reg) = registry("wasi_platform_image_resolves_with_its_entrypoint_and_runs") else {
        return;
    };
    let module = guest("wasi-platform");
    let layer = tar_gz("app/guest.wasm", &module);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "wasm",
        "os": "wasi",
        "config": {"Entrypoint": ["/app/guest.wasm"], "Cmd": ["--verbose"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&module)]},
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", &layer)],
    }))
    .unwrap();
    let repo = unique_repo("wasi-platform");
    let digest = push_raw(&reg, &repo, "v1", &manifest, &[&config, &layer]);

    let home = TempHome::new();
    let image = ImageRef::parse(&format!("{reg}/{repo}:v1")).unwrap();
    let resolved = home.store.resolve(&image, &options()).unwrap();
    assert_eq!(resolved.digest, digest);
    let ImageKind::Wasi {
        module_path,
        module_digest,
        entrypoint,
        args,
    } = &resolved.kind
    else {
        panic!("{resolved:?}")
    };
    assert_eq!(entrypoint, &["/app/guest.wasm"]);
    assert_eq!(args, &["--verbose"]);
    assert_eq!(*module_digest, sha256(&module));
    assert_eq!(std::fs::read(module_path).unwrap(), module);
    let (_, stdout) = run_module(home.compiled_cache(), module_path);
    assert_eq!(stdout, GREETING);

    // The extracted module survives garbage collection and resolves again from the store.
    home.store.gc().unwrap();
    let again = home.store.resolve_stored(match &image {
        ImageRef::Registry(r) => r,
        _ => unreachable!(),
    });
    assert_eq!(again.unwrap().unwrap(), resolved);
    let listed = home.store.list().unwrap();
    assert_eq!(listed[0].platform, "wasi/wasm");
}

#[test]
fn other_images_are_containers_and_their_layers_stay_remote() {
    let Some(reg) = registry("other_images_are_containers_and_their_layers_stay_remote") else {
        return;
    };
    let layer = tar_gz("true", b"#!/bin/true\n");
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/true"]},
        "rootfs": {"type": "layers", "diff_ids": []},
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", &layer)],
    }))
    .unwrap();
    let repo = unique_repo("container");
    let digest = push_raw(&reg, &repo, "v1", &manifest, &[&config, &layer]);

    let home = TempHome::new();
    let image = ImageRef::parse(&format!("{reg}/{repo}:v1")).unwrap();
    let resolved = home.store.resolve(&image, &options()).unwrap();
    assert_eq!(
        resolved.kind,
        ImageKind::Container {
            reference: format!("{reg}/{repo}@{digest}")
        }
    );
    let layer_blob = home
        .store
        .layout()
        .root()
        .join("blobs/sha256")
        .join(&sha256(&layer)[7..]);
    assert!(!layer_blob.exists(), "Docker pulls container layers itself");
    let listed = home.store.list().unwrap();
    assert_eq!(
        (listed[0].kind.as_str(), listed[0].platform.as_str()),
        ("container", "linux/amd64")
    );
}

#[test]
fn local_wasm_files_and_docker_references_resolve_without_a_registry() {
    let home = TempHome::new();
    let path = write_guest(home.dir.path(), "local.wasm", "local");
    let resolved = home
        .store
        .resolve(
            &ImageRef::parse(path.to_str().unwrap()).unwrap(),
            &options(),
        )
        .unwrap();
    let module = guest("local");
    assert_eq!(resolved.digest, sha256(&module));
    assert!(matches!(
        &resolved.kind,
        ImageKind::Wasi { module_path, module_digest, .. }
            if *module_path == path.canonicalize().unwrap() && *module_digest == sha256(&module)
    ));

    let not_wasm = home.dir.path().join("text.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    let err = home
        .store
        .resolve(&ImageRef::LocalWasm(not_wasm), &options())
        .unwrap_err();
    assert!(err.to_string().contains("not a wasm binary"), "{err}");

    let docker = ImageRef::parse("docker://busybox:1.36").unwrap();
    let resolved = home.store.resolve(&docker, &options()).unwrap();
    assert_eq!(
        resolved.kind,
        ImageKind::Container {
            reference: "busybox:1.36".into()
        }
    );
    assert_eq!(resolved.pinned_reference(), "docker://busybox:1.36");
}
