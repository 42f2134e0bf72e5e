//! Shared helpers of the image tests: finding the test registries (or skipping), tiny guest
//! modules made with `wat`, raw pushes of hand-built manifests, a fake registry for tampered
//! answers, and running a resolved module.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_exec::compiled_cache::CacheStatus;
use berth_exec::wasm::{EngineOptions, WasmEngine};
use berth_exec::{ExecRequest, Executor, JobEnvironment, Limits, StdoutMode};
use berth_image::{ImageStore, PullOptions, RegistrySettings};
use tempfile::TempDir;

pub(crate) use berth_image::testing::{
    AUTH_PASSWORD, AUTH_USER, GREETING, auth_registry, guest, registry, unique_repo, write_guest,
};

/// A fresh berth home with its image store.
pub(crate) struct TempHome {
    pub(crate) dir: TempDir,
    pub(crate) store: ImageStore,
}

impl TempHome {
    pub(crate) fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let home = dir.path().join("home");
        let store = ImageStore::open(&home.join("images"), &home.join("cache/compiled")).unwrap();
        Self { dir, store }
    }

    /// The compiled-module cache pulls precompile into.
    pub(crate) fn compiled_cache(&self) -> &Path {
        self.store.compiled_cache()
    }
}

/// Options without environment influence: no credentials, quick retries, no progress bars.
pub(crate) fn options() -> PullOptions {
    PullOptions {
        settings: RegistrySettings {
            progress: false,
            backoff: Duration::from_millis(10),
            ..RegistrySettings::default()
        },
        ..PullOptions::default()
    }
}

/// Loads `module` with an engine on the compiled cache `cache_dir` and runs it once; returns how
/// the compiled module was obtained and the guest's stdout.
pub(crate) fn run_module(cache_dir: &Path, module: &Path) -> (CacheStatus, String) {
    let engine = WasmEngine::new(&EngineOptions::with_cache_dir(cache_dir)).expect("engine");
    let component = engine.load(module, "image-guest").expect("module loads");
    let status = component.cache_status();
    let data = TempDir::new().unwrap();
    std::fs::write(data.path().join("config.json"), r#"{"parameters":{}}"#).unwrap();
    let request = ExecRequest {
        data_dir: data.path().to_path_buf(),
        action: "run".into(),
        env: JobEnvironment::local("image-guest", "test-config").to_vars(),
        limits: Limits::for_action("run"),
        stdout: StdoutMode::Capture,
        cancel: None,
    };
    let result = component.execute(&request).expect("module runs");
    (status, result.stdout.text())
}

/// Pushes hand-made `blobs` and then `manifest` (OCI image manifest) to `registry/repo:tag`;
/// returns the manifest digest.
pub(crate) fn push_raw(
    registry: &str,
    repo: &str,
    tag: &str,
    manifest: &[u8],
    blobs: &[&[u8]],
) -> String {
    use oci_client::client::{ClientConfig, ClientProtocol};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = oci_client::Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    });
    let reference: oci_client::Reference = format!("{registry}/{repo}:{tag}").parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let auth = oci_client::secrets::RegistryAuth::Anonymous;
        client.store_auth_if_needed(registry, &auth).await;
        for blob in blobs {
            let digest = sha256(blob);
            client
                .push_blob(&reference, blob.to_vec(), &digest)
                .await
                .expect("push blob");
        }
        client
            .push_manifest_raw(
                &reference,
                manifest.to_vec(),
                http::HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json"),
            )
            .await
            .expect("push manifest");
    });
    sha256(manifest)
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// An OCI descriptor as JSON.
pub(crate) fn descriptor(media_type: &str, bytes: &[u8]) -> serde_json::Value {
    serde_json::json!({"mediaType": media_type, "digest": sha256(bytes), "size": bytes.len()})
}

/// A CNCF wasm artifact: (config, manifest) for `module`.
pub(crate) fn wasm_artifact(module: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let config = br#"{"architecture":"wasm","os":"wasip1"}"#.to_vec();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.wasm.config.v0+json",
        "config": descriptor("application/vnd.wasm.config.v0+json", &config),
        "layers": [descriptor("application/wasm", module)],
    });
    (config, serde_json::to_vec(&manifest).unwrap())
}

/// One canned answer of the fake registry.
#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
    /// Answer 503 to this many requests first.
    pub(crate) fail_first: usize,
}

/// A minimal HTTP/1.1 registry on a loopback port serving canned routes (`/v2/...` paths), for
/// answers a real registry never gives: wrong bytes for a digest, transient 503s.
pub(crate) struct FakeRegistry {
    pub(crate) addr: String,
    pub(crate) hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl FakeRegistry {
    pub(crate) fn start(routes: HashMap<String, Route>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let counts = hits.clone();
        std::thread::spawn(move || {
            // Bounded: a test makes a handful of requests.
            for stream in listener.incoming().take(200) {
                let Ok(stream) = stream else { continue };
                let _ = serve(stream, &routes, &counts);
            }
        });
        Self { addr, hits }
    }

    pub(crate) fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn serve(
    stream: TcpStream,
    routes: &HashMap<String, Route>,
    hits: &Mutex<HashMap<String, usize>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts
        .next()
        .unwrap_or("")
        .split('?')
        .next()
        .unwrap_or("")
        .to_string();
    let count = {
        let mut hits = hits.lock().unwrap();
        let n = hits.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let (status, content_type, body) = if path == "/v2/" {
        ("200 OK", "application/json", b"{}".to_vec())
    } else if let Some(route) = routes.get(&path) {
        if count <= route.fail_first {
            (
                "503 Service Unavailable",
                "text/plain",
                b"try again".to_vec(),
            )
        } else {
            ("200 OK", route.content_type, route.body.clone())
        }
    } else {
        (
            "404 Not Found",
            "application/json",
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#.to_vec(),
        )
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        stream.write_all(&body)?;
    }
    stream.flush()
}

/// Routes serving a CNCF wasm artifact for `module` at `/v2/{repo}/manifests/{tag}`, with the
/// layer answered by `served_layer` (the module itself, or tampered bytes).
pub(crate) fn artifact_routes(
    repo: &str,
    tag: &str,
    module: &[u8],
    served_layer: &[u8],
) -> HashMap<String, Route> {
    let (config, manifest) = wasm_artifact(module);
    let route = |content_type, body: &[u8]| Route {
        content_type,
        body: body.to_vec(),
        fail_first: 0,
    };
    HashMap::from([
        (
            format!("/v2/{repo}/manifests/{tag}"),
            route("application/vnd.oci.image.manifest.v1+json", &manifest),
        ),
        (
            format!("/v2/{repo}/blobs/{}", sha256(&config)),
            route("application/octet-stream", &config),
        ),
        (
            format!("/v2/{repo}/blobs/{}", sha256(module)),
            route("application/octet-stream", served_layer),
        ),
    ])
}
