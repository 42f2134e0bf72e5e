//! Digest verification and retries, against a fake loopback registry (no real one needed):
//! wrong bytes served for a layer, a pinned digest the manifest does not have, a blob corrupted
//! in the local store, transient 503 answers.

use berth_image::{ImageError, ImageKind, ImageRef, RegistryRef, Stage};

use crate::image_support::{
    FakeRegistry, TempHome, artifact_routes, guest, options, sha256, wasm_artifact,
};

fn registry_ref(text: &str) -> RegistryRef {
    match ImageRef::parse(text).unwrap() {
        ImageRef::Registry(r) => r,
        other => panic!("{text} is {other:?}"),
    }
}

#[test]
fn a_registry_serving_wrong_bytes_is_rejected() {
    let module = guest("served-wrong");
    let mut tampered = module.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    let fake = FakeRegistry::start(artifact_routes("evil/mod", "v1", &module, &tampered));
    let home = TempHome::new();
    let image = registry_ref(&format!("{}/evil/mod:v1", fake.addr));

    let err = home.store.pull(&image, &options()).unwrap_err();
    let ImageError::DigestMismatch {
        stage,
        reference,
        expected,
        actual,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*stage, Stage::PullLayer);
    assert_eq!(*reference, image.to_string());
    assert_eq!(*expected, sha256(&module));
    assert_eq!(*actual, sha256(&tampered));
    let text = err.to_string();
    assert!(
        text.contains(&image.to_string()) && text.contains(expected) && text.contains(actual),
        "{text}"
    );
    // Nothing was recorded or kept.
    assert!(home.store.list().unwrap().is_empty());
    assert!(
        !home
            .store
            .layout()
            .root()
            .join("blobs/sha256")
            .join(&expected[7..])
            .exists()
    );
}

#[test]
fn a_pinned_digest_the_manifest_does_not_have_is_rejected() {
    let module = guest("pinned");
    let (_, manifest) = wasm_artifact(&module);
    let wrong = format!("sha256:{}", "0".repeat(64));
    let mut routes = artifact_routes("evil/pin", "v1", &module, &module);
    let route = routes["/v2/evil/pin/manifests/v1"].clone();
    routes.insert(format!("/v2/evil/pin/manifests/{wrong}"), route);
    let fake = FakeRegistry::start(routes);
    let image = registry_ref(&format!("{}/evil/pin@{wrong}", fake.addr));
    let err = TempHome::new().store.pull(&image, &options()).unwrap_err();
    assert!(
        matches!(
            &err,
            ImageError::DigestMismatch {
                stage: Stage::PullManifest,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&wrong) && text.contains(&sha256(&manifest)),
        "{text}"
    );
}

#[test]
fn a_blob_corrupted_in_the_store_is_rejected_and_a_pull_repairs_it() {
    let module = guest("corrupt-local");
    let fake = FakeRegistry::start(artifact_routes("ok/mod", "v1", &module, &module));
    let home = TempHome::new();
    let image = registry_ref(&format!("{}/ok/mod:v1", fake.addr));
    let mut no_precompile = options();
    no_precompile.precompile = false;
    let pulled = home.store.pull(&image, &no_precompile).unwrap();
    let ImageKind::Wasi { module_path, .. } = &pulled.kind else {
        panic!("{pulled:?}")
    };

    let mut bytes = std::fs::read(module_path).unwrap();
    bytes[10] ^= 0x55;
    std::fs::write(module_path, &bytes).unwrap();

    let err = home
        .store
        .resolve(&ImageRef::Registry(image.clone()), &no_precompile)
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            ImageError::DigestMismatch {
                stage: Stage::Verify,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(text.contains(&image.to_string()), "{text}");
    assert!(
        text.contains(&sha256(&module)) && text.contains(&sha256(&bytes)),
        "{text}"
    );
    assert_eq!(home.store.list().unwrap()[0].kind, "broken");

    let repaired = home.store.pull(&image, &no_precompile).unwrap();
    assert_eq!(repaired, pulled);
    assert_eq!(std::fs::read(module_path).unwrap(), module);
}

#[test]
fn transient_failures_are_retried() {
    let module = guest("flaky");
    let mut routes = artifact_routes("flaky/mod", "v1", &module, &module);
    routes
        .get_mut("/v2/flaky/mod/manifests/v1")
        .unwrap()
        .fail_first = 2;
    let layer_path = format!("/v2/flaky/mod/blobs/{}", sha256(&module));
    routes.get_mut(&layer_path).unwrap().fail_first = 1;
    let fake = FakeRegistry::start(routes);
    let home = TempHome::new();
    let image = registry_ref(&format!("{}/flaky/mod:v1", fake.addr));
    let mut no_precompile = options();
    no_precompile.precompile = false;
    let pulled = home.store.pull(&image, &no_precompile).unwrap();
    assert_eq!(pulled.kind.name(), "wasi");
    assert_eq!(fake.hits("/v2/flaky/mod/manifests/v1"), 3);
    assert_eq!(fake.hits(&layer_path), 2);

    // Retries give up after the configured count.
    let mut routes = artifact_routes("down/mod", "v1", &module, &module);
    routes
        .get_mut("/v2/down/mod/manifests/v1")
        .unwrap()
        .fail_first = 100;
    let fake = FakeRegistry::start(routes);
    let image = registry_ref(&format!("{}/down/mod:v1", fake.addr));
    let err = home.store.pull(&image, &no_precompile).unwrap_err();
    assert!(matches!(err, ImageError::Registry { .. }), "{err:?}");
    assert_eq!(
        fake.hits("/v2/down/mod/manifests/v1"),
        4,
        "1 try + 3 retries"
    );
}

#[test]
fn a_precompiled_layer_is_never_taken_from_an_artifact() {
    // A "wasm" layer holding native code (what a smuggled .cwasm is) is refused before anything
    // could load it; berth only ever compiles application/wasm itself.
    let native = b"\x7fELF\x02\x01\x01\0precompiled-code".to_vec();
    let fake = FakeRegistry::start(artifact_routes("evil/cwasm", "v1", &native, &native));
    let home = TempHome::new();
    let image = registry_ref(&format!("{}/evil/cwasm:v1", fake.addr));
    let err = home.store.pull(&image, &options()).unwrap_err();
    assert!(
        matches!(
            &err,
            ImageError::Unsupported {
                stage: Stage::Classify,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("is not a wasm binary"), "{err}");
    assert!(home.store.list().unwrap().is_empty());
    assert!(!home.compiled_cache().exists());
}
