//! A registry that lies, run against the real `berth image pull`: a manifest over the size
//! limit (declared, or streamed without end), a layer declaring more than the layer limit, and a
//! small gzip layer that unpacks to far more than the unpack limit. Each: exit 2 (the registry
//! sent too much) or 1 (the image is over the limits) naming the limit,
//! bounded memory and time, nothing stored under the reference.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::hostile_support::measure;
use crate::support::berth;

/// How one route answers.
#[derive(Clone)]
enum Body {
    /// These bytes, with their length.
    Bytes(Vec<u8>),
    /// This many bytes of `{`, chunked, with no length announced.
    Endless(u64),
}

/// A loopback registry serving canned routes, one thread per connection.
struct HostileRegistry {
    addr: String,
}

impl HostileRegistry {
    fn start(routes: HashMap<String, Body>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let routes = Arc::new(routes);
        std::thread::spawn(move || {
            for stream in listener.incoming().take(500) {
                let Ok(stream) = stream else { continue };
                let routes = routes.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &routes);
                });
            }
        });
        Self { addr }
    }
}

fn serve(stream: TcpStream, routes: &HashMap<String, Body>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut stream = stream;
    let content_type = if path.contains("/manifests/") {
        "application/vnd.oci.image.manifest.v1+json"
    } else {
        "application/octet-stream"
    };
    match (path.as_str(), routes.get(&path)) {
        ("/v2/", _) => write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        )?,
        (_, Some(Body::Bytes(body))) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(body)?;
        }
        (_, Some(Body::Endless(total))) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )?;
            let chunk = vec![b'{'; 64 << 10];
            let mut sent = 0;
            while sent < *total {
                write!(stream, "{:x}\r\n", chunk.len())?;
                stream.write_all(&chunk)?;
                stream.write_all(b"\r\n")?;
                sent += chunk.len() as u64;
            }
            stream.write_all(b"0\r\n\r\n")?;
        }
        _ => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 67\r\nConnection: close\r\n\r\n{{\"errors\":[{{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}}]}}"
        )?,
    }
    stream.flush()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// `berth image pull` of `reference` in a fresh home with `settings`.
fn pull(addr: &str, tag: &str, settings: &str) -> crate::hostile_support::Measured {
    let home = tempfile::TempDir::new().unwrap();
    std::fs::write(home.path().join("settings.toml"), settings).unwrap();
    let mut command = berth();
    command.arg("--home").arg(home.path()).args([
        "image",
        "pull",
        &format!("{addr}/hostile/repo:{tag}"),
    ]);
    let m = measure(command);
    let images = home.path().join("images/index.json");
    let index = std::fs::read_to_string(images).unwrap_or_default();
    assert!(!index.contains(tag), "{tag} was stored: {index}");
    m
}

/// A `wasi/wasm` image whose one layer is `layer` (declared as `declared` bytes).
fn wasi_image(repo_routes: &mut HashMap<String, Body>, tag: &str, layer: &[u8], declared: u64) {
    let config = br#"{"architecture":"wasm","os":"wasip1","config":{}}"#.to_vec();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(layer), "size": declared}],
    });
    repo_routes.insert(
        format!("/v2/hostile/repo/manifests/{tag}"),
        Body::Bytes(serde_json::to_vec(&manifest).unwrap()),
    );
    repo_routes.insert(
        format!("/v2/hostile/repo/blobs/{}", sha256(&config)),
        Body::Bytes(config),
    );
    repo_routes.insert(
        format!("/v2/hostile/repo/blobs/{}", sha256(layer)),
        Body::Bytes(layer.to_vec()),
    );
}

/// A tar.gz holding `filler` zero bytes and then a tiny module (about a MiB per GiB of filler).
fn bomb_layer(filler: u64) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(filler);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "filler", std::io::repeat(0).take_exact(filler))
        .unwrap();
    let module = b"\0asm\x01\0\0\0";
    let mut header = tar::Header::new_gnu();
    header.set_size(module.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "app.wasm", &module[..])
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

trait TakeExact: std::io::Read + Sized {
    fn take_exact(self, n: u64) -> std::io::Take<Self> {
        std::io::Read::take(self, n)
    }
}
impl<R: std::io::Read> TakeExact for R {}

#[test]
fn hostile_registry_bounds_hold() {
    let mut routes = HashMap::new();
    routes.insert(
        "/v2/hostile/repo/manifests/big".to_owned(),
        Body::Bytes(vec![b' '; 5 << 20]),
    );
    routes.insert(
        "/v2/hostile/repo/manifests/endless".to_owned(),
        Body::Endless(1 << 30),
    );
    wasi_image(&mut routes, "declared", b"tiny", 10 << 30);
    let bomb = bomb_layer(1 << 30);
    wasi_image(&mut routes, "bomb", &bomb, bomb.len() as u64);
    let registry = HostileRegistry::start(routes);
    let addr = registry.addr.as_str();

    pull(addr, "big", "").assert_refused(
        "manifest over the size limit",
        2,
        &["limit of 4194304 bytes (registry.manifest_bytes)"],
    );
    pull(addr, "endless", "").assert_refused(
        "endless manifest",
        2,
        &["limit of 4194304 bytes (registry.manifest_bytes)"],
    );
    // An image over the limits is refused as the user's choice (exit 1); a registry sending
    // more than it may is the registry's failure (exit 2).
    pull(addr, "declared", "").assert_refused(
        "layer declaring 10 GiB",
        1,
        &["declares 10737418240 bytes", "(registry.layer_bytes)"],
    );
    pull(addr, "bomb", "[registry]\nunpacked_bytes = \"64m\"\n").assert_refused(
        "gzip bomb layer",
        1,
        &["limit of 67108864 bytes (registry.unpacked_bytes)"],
    );
}
