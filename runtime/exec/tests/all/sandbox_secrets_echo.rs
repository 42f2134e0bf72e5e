//! The `secrets_echo` guest prints its `#` values in every form, whole and split into separate
//! writes, on both streams, in its error message and in `out/state.json` — and an output filter
//! on the request sees every byte of both streams before the capture does.

use std::sync::Arc;

use berth_exec::testing::{Run, data_dir};
use berth_exec::{Outcome, OutputFilter, StreamFilter};
use components_artifacts as guests;

const SECRET: &str = "Zebra/Zulu\"Zé";

#[test]
fn prints_every_form_on_both_streams_and_fails_with_them() {
    let dir = data_dir(&serde_json::json!({"parameters": {"#token": SECRET, "exit_code": 1}}));
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let (result, outcome) = Run::new(guests::SECRETS_ECHO, dir.path()).run();
    let (stdout, stderr) = (result.stdout.text(), result.stderr.text());
    for form in [
        SECRET,
        "WmVicmEvWnVsdSJaw6k=",
        "Zebra/Zulu\\\"Zé",
        "Zebra/Zulu\\\"Z\\u00e9",
        "Zebra\\/Zulu\\\"Z\\u00e9",
    ] {
        assert!(stdout.contains(form), "stdout lacks {form}: {stdout}");
        assert!(stderr.contains(form), "stderr lacks {form}: {stderr}");
    }
    assert!(matches!(&outcome, Outcome::UserError { message } if message.contains(SECRET)));
    let state = std::fs::read_to_string(dir.path().join("out/state.json")).unwrap();
    assert!(state.contains("Zebra"), "{state}");
}

/// Replaces every `Z` with `*`, byte by byte (so it needs no look-ahead).
#[derive(Debug)]
struct HideZ;

impl OutputFilter for HideZ {
    fn stream(&self) -> Box<dyn StreamFilter> {
        Box::new(HideZ)
    }
}

impl StreamFilter for HideZ {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.extend(input.iter().map(|&b| if b == b'Z' { b'*' } else { b }));
    }
    fn finish(&mut self, _out: &mut Vec<u8>) {}
}

#[test]
fn the_request_filter_sees_both_streams_and_the_error_message() {
    let dir = data_dir(&serde_json::json!({"parameters": {"#token": SECRET, "exit_code": 2}}));
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let (result, outcome) = Run::new(guests::SECRETS_ECHO, dir.path())
        .filter(Arc::new(HideZ))
        .run();
    assert!(!result.stdout.bytes.contains(&b'Z'));
    assert!(!result.stderr.bytes.contains(&b'Z'));
    assert!(result.stdout.text().contains("*ebra"));
    assert!(!outcome.message().contains('Z'), "{}", outcome.message());
}
