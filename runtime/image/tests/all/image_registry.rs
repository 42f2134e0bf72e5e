//! Pull and push against the real test registries (Debian's docker-registry on loopback):
//! round trip, pull by digest, tag resolution, missing repository and tag, credentials, the CLI.

use berth_exec::compiled_cache::CacheStatus;
use berth_image::{ImageError, ImageKind, ImageRef, PullPolicy, RegistryRef, auth::Credential};

use crate::image_support::{
    AUTH_PASSWORD, AUTH_USER, GREETING, TempHome, auth_registry, guest, options, registry,
    run_module, unique_repo, write_guest,
};

fn registry_ref(text: &str) -> RegistryRef {
    match ImageRef::parse(text).unwrap() {
        ImageRef::Registry(r) => r,
        other => panic!("{text} is {other:?}"),
    }
}

#[test]
fn push_then_pull_round_trip_precompiles_and_runs() {
    let Some(reg) = registry("push_then_pull_round_trip_precompiles_and_runs") else {
        return;
    };
    let pusher = TempHome::new();
    let module = write_guest(pusher.dir.path(), "guest.wasm", "round-trip");
    let target = registry_ref(&format!("{reg}/{}:v1", unique_repo("round-trip")));
    let pushed = pusher
        .store
        .push_wasm(&module, &target, &options())
        .unwrap();
    assert_eq!(pushed.reference, target.to_string());
    assert!(pushed.pinned.ends_with(&pushed.digest));

    let puller = TempHome::new();
    let resolved = puller.store.pull(&target, &options()).unwrap();
    assert_eq!(
        resolved.digest, pushed.digest,
        "same manifest bytes both ways"
    );
    assert_eq!(resolved.pinned_reference(), pushed.pinned);
    let ImageKind::Wasi {
        module_path,
        module_digest,
        entrypoint,
        args,
    } = &resolved.kind
    else {
        panic!("{resolved:?}")
    };
    assert_eq!(std::fs::read(module_path).unwrap(), guest("round-trip"));
    assert_eq!(*module_digest, pushed.layer_digest);
    assert!(module_path.starts_with(puller.store.layout().root()));
    assert!(entrypoint.is_empty() && args.is_empty());

    // Pull precompiled the module: the first run is warm.
    let (status, stdout) = run_module(puller.compiled_cache(), module_path);
    assert_eq!(status, CacheStatus::Hit);
    assert_eq!(stdout, GREETING);

    let listed = puller.store.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].reference, target.to_string());
    assert_eq!(listed[0].kind, "wasi");
    assert_eq!(listed[0].platform, "wasip1/wasm");

    let details = puller.store.inspect(&ImageRef::Registry(target)).unwrap();
    assert_eq!(details.kind.name(), "wasi");
    assert_eq!(
        details.artifact_type.as_deref(),
        Some("application/vnd.wasm.config.v0+json")
    );
    assert_eq!(
        details.annotations["org.opencontainers.image.title"],
        "guest.wasm"
    );
    assert!(
        details
            .annotations
            .contains_key("org.opencontainers.image.created")
    );
    assert_eq!(details.layers.len(), 1);
    assert_eq!(details.layers[0].media_type, "application/wasm");
}

#[test]
fn pull_by_digest_and_resolve_a_tag_once() {
    let Some(reg) = registry("pull_by_digest_and_resolve_a_tag_once") else {
        return;
    };
    let home = TempHome::new();
    let repo = unique_repo("by-digest");
    let tagged = registry_ref(&format!("{reg}/{repo}:v1"));
    let first = write_guest(home.dir.path(), "first.wasm", "digest-1");
    let pushed = home.store.push_wasm(&first, &tagged, &options()).unwrap();

    // By digest, into a fresh home.
    let other = TempHome::new();
    let pinned = registry_ref(&pushed.pinned);
    let resolved = other.store.pull(&pinned, &options()).unwrap();
    assert_eq!(resolved.digest, pushed.digest);
    assert_eq!(resolved.reference, pushed.pinned);
    assert!(other.store.resolve_stored(&pinned).unwrap().is_some());

    // The tag resolves to a digest once; a later push under the same tag does not move it...
    let reader = TempHome::new();
    let image = ImageRef::Registry(tagged.clone());
    let once = reader.store.resolve(&image, &options()).unwrap();
    assert_eq!(once.digest, pushed.digest);
    let second = write_guest(home.dir.path(), "second.wasm", "digest-2");
    let repushed = home.store.push_wasm(&second, &tagged, &options()).unwrap();
    assert_ne!(repushed.digest, pushed.digest);
    let again = reader.store.resolve(&image, &options()).unwrap();
    assert_eq!(again.digest, pushed.digest, "resolved from the store");
    // ...until asked to pull again.
    let mut always = options();
    always.policy = PullPolicy::Always;
    let fresh = reader.store.resolve(&image, &always).unwrap();
    assert_eq!(fresh.digest, repushed.digest);
    // The old content is still reachable by digest.
    assert!(reader.store.resolve_stored(&pinned).unwrap().is_some());

    // --tag override.
    let v2 = image.with_tag("v2").unwrap();
    assert_eq!(v2.to_string(), format!("{reg}/{repo}:v2"));
    let mut never = options();
    never.policy = PullPolicy::Never;
    let err = reader.store.resolve(&v2, &never).unwrap_err();
    assert!(matches!(err, ImageError::NotInStore { .. }), "{err}");
}

#[test]
fn missing_repository_and_missing_tag_have_clear_errors() {
    let Some(reg) = registry("missing_repository_and_missing_tag_have_clear_errors") else {
        return;
    };
    let home = TempHome::new();
    let repo = unique_repo("missing");
    let err = home
        .store
        .pull(&registry_ref(&format!("{reg}/{repo}:v1")), &options())
        .unwrap_err();
    assert!(
        matches!(err, ImageError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("repository {repo} not found in registry {reg}")),
        "{text}"
    );
    assert!(text.starts_with("pull manifest of "), "{text}");

    let module = write_guest(home.dir.path(), "m.wasm", "missing-tag");
    home.store
        .push_wasm(
            &module,
            &registry_ref(&format!("{reg}/{repo}:v1")),
            &options(),
        )
        .unwrap();
    let err = TempHome::new()
        .store
        .pull(&registry_ref(&format!("{reg}/{repo}:v404")), &options())
        .unwrap_err();
    assert!(
        matches!(err, ImageError::ManifestNotFound { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(&format!("tag v404 not found in repository {repo}")),
        "{err}"
    );
}

#[test]
fn unauthorized_and_authorized_access() {
    let Some(reg) = auth_registry("unauthorized_and_authorized_access") else {
        return;
    };
    let home = TempHome::new();
    let module = write_guest(home.dir.path(), "auth.wasm", "auth");
    let target = registry_ref(&format!("{reg}/{}:v1", unique_repo("auth")));

    // Anonymous.
    let err = home
        .store
        .push_wasm(&module, &target, &options())
        .unwrap_err();
    assert!(matches!(err, ImageError::Unauthorized { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("not authorized by registry {reg}")),
        "{text}"
    );
    assert!(text.contains("no credentials configured"), "{text}");
    assert!(text.contains("BERTH_REGISTRY_AUTH"), "{text}");

    // Wrong password: named by user, never by secret.
    let mut wrong = options();
    wrong.settings.credentials.insert(
        reg.clone(),
        Credential::Basic {
            user: AUTH_USER.into(),
            password: "not-the-password".into(),
        },
    );
    let err = home.store.push_wasm(&module, &target, &wrong).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ImageError::Unauthorized { .. }), "{err:?}");
    assert!(text.contains(&format!("user \"{AUTH_USER}\"")), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");

    // Right password from BERTH_REGISTRY_AUTH's format.
    let mut right = options();
    right.settings.credentials =
        berth_image::auth::parse_auth_env(&format!("{reg}={AUTH_USER}:{AUTH_PASSWORD}")).unwrap();
    let pushed = home.store.push_wasm(&module, &target, &right).unwrap();

    // Pull with credentials from a docker config file.
    let docker_dir = tempfile::TempDir::new().unwrap();
    let config = docker_dir.path().join("config.json");
    let auth = base64_encode(&format!("{AUTH_USER}:{AUTH_PASSWORD}"));
    std::fs::write(
        &config,
        format!(r#"{{"auths":{{"{reg}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    let mut from_docker = options();
    from_docker.settings.docker_config = Some(config);
    let puller = TempHome::new();
    let resolved = puller.store.pull(&target, &from_docker).unwrap();
    assert_eq!(resolved.digest, pushed.digest);

    let err = TempHome::new().store.pull(&target, &options()).unwrap_err();
    assert!(matches!(err, ImageError::Unauthorized { .. }), "{err:?}");
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
