//! Secrets: the cost of one value's encryption and decryption, and the streaming redactor's
//! throughput on component output.
//!
//! - encryption and decryption of a 32-byte value (AES-256-GCM with a fresh random nonce, base64)
//!   per value, with a document's whole `#` walk for a configuration of 20 secrets;
//! - the streaming redactor with 10 secrets (50 patterns with their base64 and JSON forms) over
//!   `BERTH_BENCH_REDACT_MB` (default 64) MB of log-like output written in 8 KiB pieces, against a
//!   plain copy of the same pieces (the baseline, in the same run).

use std::time::Duration;

use berth_benches::{median_of, print_ratios};
use berth_secrets::{Context, Keyring, MasterKey, Redactor, Scope, cipher, walk};
use criterion::{Criterion, Throughput};

fn output(bytes: usize, secrets: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 256);
    let mut i = 0u64;
    while out.len() < bytes {
        let line = if i % 1000 == 7 {
            format!(
                "{i} INFO connecting with token {}\n",
                secrets[(i as usize / 1000) % secrets.len()]
            )
        } else {
            format!(
                "{i} INFO processed batch {} of rows, 512 rows, elapsed {} ms\n",
                i % 977,
                i % 13
            )
        };
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out
}

fn main() {
    let mb: usize = std::env::var("BERTH_BENCH_REDACT_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let keyring = Keyring::single(MasterKey::generate().unwrap());
    let scope = Scope::project("acme.ex", "1");
    let context = Context {
        component: Some("acme.ex".into()),
        project: Some("1".into()),
        config: Some("9".into()),
        branch_type: Some("default".into()),
    };
    let value = "0123456789abcdef0123456789abcdef";
    let cipher_text = cipher::encrypt(&keyring, &scope, value).unwrap();
    let mut config = serde_json::json!({"parameters": {}});
    for i in 0..20 {
        config["parameters"][format!("#secret{i}")] = serde_json::json!(format!("{value}{i}"));
        config["parameters"][format!("plain{i}")] = serde_json::json!(i);
    }
    let mut encrypted = config.clone();
    walk::encrypt_document(&mut encrypted, &keyring, &scope).unwrap();

    let secrets: Vec<String> = (0..10).map(|i| format!("tok-{i}-{value}")).collect();
    let redactor = Redactor::new(&secrets);
    let data = output(mb << 20, &secrets);
    let pieces: Vec<&[u8]> = data.chunks(8192).collect();

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    {
        let mut group = criterion.benchmark_group("secrets_value");
        group.bench_function("encrypt", |b| {
            b.iter(|| cipher::encrypt(&keyring, &scope, value).unwrap())
        });
        group.bench_function("decrypt", |b| {
            b.iter(|| cipher::decrypt(&keyring, &context, &cipher_text).unwrap())
        });
        group.bench_function("decrypt_document_20", |b| {
            b.iter(|| {
                let mut doc = encrypted.clone();
                walk::decrypt_document(&mut doc, &keyring, &context, &mut Vec::new()).unwrap();
                doc
            })
        });
        group.finish();
    }
    {
        let mut group = criterion.benchmark_group("secrets_redact");
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function("plain_copy", |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(data.len());
                for piece in &pieces {
                    out.extend_from_slice(piece);
                }
                out
            })
        });
        group.bench_function("stream_redactor", |b| {
            b.iter(|| {
                let mut stream = redactor.stream();
                let mut out = Vec::with_capacity(data.len());
                for piece in &pieces {
                    stream.push(piece, &mut out);
                }
                stream.finish(&mut out);
                out
            })
        });
        group.finish();
    }

    // The figures to read: per value, and MB/s against the plain copy.
    let per = |f: &mut dyn FnMut()| median_of(2000, f);
    let encrypt = per(&mut || {
        cipher::encrypt(&keyring, &scope, value).unwrap();
    });
    let decrypt = per(&mut || {
        cipher::decrypt(&keyring, &context, &cipher_text).unwrap();
    });
    print_ratios(
        "one 32-byte value",
        "encrypt",
        &[("encrypt", encrypt), ("decrypt", decrypt)],
    );
    let copy = median_of(5, || {
        let mut out = Vec::with_capacity(data.len());
        for piece in &pieces {
            out.extend_from_slice(piece);
        }
        std::hint::black_box(out);
    });
    let redact = median_of(5, || {
        let mut stream = redactor.stream();
        let mut out = Vec::with_capacity(data.len());
        for piece in &pieces {
            stream.push(piece, &mut out);
        }
        stream.finish(&mut out);
        std::hint::black_box(out);
    });
    print_ratios(
        &format!("{mb} MB of output in 8 KiB writes, 10 secrets"),
        "plain_copy",
        &[("plain_copy", copy), ("stream_redactor", redact)],
    );
    let mbps = |d: Duration| data.len() as f64 / (1 << 20) as f64 / d.as_secs_f64();
    println!(
        "  plain copy {:.0} MB/s, stream redactor {:.0} MB/s",
        mbps(copy),
        mbps(redact)
    );
}
