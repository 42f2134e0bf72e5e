//! Leaks its secrets every way a component can, so the host's redaction can be tested.
//!
//! The secrets are every `#` value in /data/config.json (parameters and image_parameters) and in
//! /data/in/state.json. `parameters.script` says what to do, in order; without it the guest does
//! everything: each secret in each form to stdout and stderr, whole and split byte by byte into
//! separate writes, into `out/state.json` (under `#` keys and plain ones), then exits with
//! `parameters.exit_code` (default 0) after an error message holding the secrets.
//!
//! Script steps (`stream` is `stdout` or `stderr`; `form` is `plain`, `base64`, `json`
//! (escaped, serde style), `json_ascii` (`\uXXXX`, Python style), `php` (`\/` too) or
//! `quoted` (a JSON string with its quotes)):
//! - `{"emit": form, "stream": s, "chunk": n}`: every secret in `form`, `n` bytes per write;
//! - `{"text": "...", "stream": s}`: plain text;
//! - `{"state": form}`: writes `out/state.json` holding every secret in `form`;
//! - `{"exit": code, "form": form}`: the secrets in `form` on stderr, then exit with `code`.
use std::io::Write;

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn form(secret: &str, form: &str) -> String {
    let quoted = serde_json::to_string(secret).expect("a string serialises");
    let json = quoted[1..quoted.len() - 1].to_owned();
    let ascii: String = json
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect();
    match form {
        "base64" => base64(secret.as_bytes()),
        "json" => json,
        "json_ascii" => ascii,
        "php" => ascii.replace('/', "\\/"),
        "quoted" => quoted,
        _ => secret.to_owned(),
    }
}

fn collect(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) if k.starts_with('#') && !s.is_empty() => {
                        out.push(s.clone())
                    }
                    _ => collect(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

fn emit(stream: &str, bytes: &[u8], chunk: usize) {
    for piece in bytes.chunks(chunk.max(1)) {
        if stream == "stderr" {
            let mut err = std::io::stderr();
            let _ = err.write_all(piece);
            let _ = err.flush();
        } else {
            let mut out = std::io::stdout();
            let _ = out.write_all(piece);
            let _ = out.flush();
        }
    }
}

const FORMS: [&str; 6] = ["plain", "base64", "json", "json_ascii", "php", "quoted"];

fn main() {
    let data = std::env::var("KBC_DATADIR").unwrap_or_else(|_| "/data".to_owned());
    let data = std::path::Path::new(&data);
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("config.json")).expect("config.json"),
    )
    .expect("config.json is JSON");
    let mut secrets = Vec::new();
    collect(&config["parameters"], &mut secrets);
    collect(&config["image_parameters"], &mut secrets);
    if let Ok(text) = std::fs::read_to_string(data.join("in/state.json"))
        && let Ok(state) = serde_json::from_str::<serde_json::Value>(&text)
    {
        collect(&state, &mut secrets);
    }
    let all = |f: &str| -> String {
        secrets
            .iter()
            .map(|s| form(s, f))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let write_state = |f: &str| {
        let state = serde_json::json!({
            "#saved": secrets.first().map(|s| form(s, f)).unwrap_or_default(),
            "copy": all(f),
        });
        std::fs::write(data.join("out/state.json"), state.to_string()).expect("out/state.json");
    };
    let params = &config["parameters"];
    let Some(script) = params["script"].as_array() else {
        for f in FORMS {
            for stream in ["stdout", "stderr"] {
                emit(stream, format!("{f}: {}\n", all(f)).as_bytes(), usize::MAX);
                emit(stream, format!("{f} split: {}\n", all(f)).as_bytes(), 1);
            }
        }
        write_state("plain");
        let code = params["exit_code"].as_i64().unwrap_or(0) as i32;
        if code != 0 {
            eprint!("failed with {}", all("plain"));
        }
        std::process::exit(code);
    };
    for step in script {
        let stream = step["stream"].as_str().unwrap_or("stdout");
        if let Some(f) = step["emit"].as_str() {
            let chunk = step["chunk"].as_u64().unwrap_or(u64::MAX) as usize;
            emit(stream, all(f).as_bytes(), chunk);
        } else if let Some(text) = step["text"].as_str() {
            emit(stream, text.as_bytes(), usize::MAX);
        } else if let Some(f) = step["state"].as_str() {
            write_state(f);
        } else if let Some(code) = step["exit"].as_i64() {
            eprint!("{}", all(step["form"].as_str().unwrap_or("plain")));
            std::process::exit(code as i32);
        }
    }
}
