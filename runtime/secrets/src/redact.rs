//! Hiding secrets in what berth shows and keeps (reference §7.4).
//!
//! A [`Redactor`] knows byte patterns: every secret (a decrypted `#` value, a forwarded token) in
//! each of its forms — as it is, its base64, and its JSON-escaped text the way serde, PHP
//! (`\/`, `\uXXXX`) and Python (`\uXXXX`) write it. Each occurrence becomes `[hidden]`, leftmost
//! and longest first (one Aho–Corasick pass).
//!
//! A component's output arrives in arbitrary pieces, so a secret may be split across two writes.
//! A [`StreamRedactor`] holds back the end of a write only while it could still be the start of
//! a secret (at most the longest pattern − 1 bytes, usually nothing), and releases the rest at
//! once: live output stays live, and no secret gets through in two halves.
//!
//! [`Redactor::message`] is the filter of output messages: invalid UTF-8 dropped, secrets
//! hidden, cut to 60,000 characters with ` [trimmed]`, whitespace trimmed.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// What a secret is replaced with.
pub const HIDDEN: &str = "[hidden]";

/// The longest output message, in characters (JR's `OutputFilter(60000)`).
pub const MAX_MESSAGE_CHARS: usize = 60_000;

/// Appended to a message that was cut.
pub const TRIMMED: &str = " [trimmed]";

/// The forms of `secret` that are hidden: itself, its base64, and its JSON-escaped forms (the
/// text between the quotes) as serde, Python (`ensure_ascii`) and PHP (`\/` too) write them.
pub fn forms(secret: &str) -> Vec<String> {
    if secret.is_empty() {
        return Vec::new();
    }
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json[1..json.len() - 1].to_owned();
    let mut ascii = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    let php = ascii.replace('/', "\\/");
    let mut out = vec![secret.to_owned(), STANDARD.encode(secret), json, ascii, php];
    out.sort();
    out.dedup();
    out
}

struct Patterns {
    search: AhoCorasick,
    /// Sorted, unique: for "is this the start of some pattern" lookups.
    sorted: Vec<Vec<u8>>,
    /// Bytes some pattern starts with.
    first: [bool; 256],
    longest: usize,
}

impl Patterns {
    fn new(mut sorted: Vec<Vec<u8>>) -> Option<Self> {
        sorted.retain(|p| !p.is_empty());
        sorted.sort();
        sorted.dedup();
        if sorted.is_empty() {
            return None;
        }
        let search = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&sorted)
            // Building fails only beyond aho-corasick's size limits (gigabytes of patterns).
            .expect("the secrets fit an Aho-Corasick automaton");
        let mut first = [false; 256];
        for p in &sorted {
            first[usize::from(p[0])] = true;
        }
        let longest = sorted.iter().map(Vec::len).max().unwrap_or(0);
        Some(Self {
            search,
            sorted,
            first,
            longest,
        })
    }

    /// Whether `tail` is a proper prefix of some pattern (so more bytes could make a match).
    fn could_start(&self, tail: &[u8]) -> bool {
        let i = self.sorted.partition_point(|p| p.as_slice() < tail);
        self.sorted[i..]
            .iter()
            .take(2)
            .any(|p| p.len() > tail.len() && p.starts_with(tail))
    }

    /// The first position at or after `from` where the rest of `buf` could still grow into a
    /// match; `buf.len()` when there is none.
    fn hold_from(&self, buf: &[u8], from: usize) -> usize {
        (from..buf.len())
            .find(|&q| self.first[usize::from(buf[q])] && self.could_start(&buf[q..]))
            .unwrap_or(buf.len())
    }

    fn replace_all(&self, input: &[u8], out: &mut Vec<u8>) {
        let mut pos = 0;
        for m in self.search.find_iter(input) {
            out.extend_from_slice(&input[pos..m.start()]);
            out.extend_from_slice(HIDDEN.as_bytes());
            pos = m.end();
        }
        out.extend_from_slice(&input[pos..]);
    }
}

/// Hides a set of secrets. Cheap to clone; the empty redactor changes nothing.
#[derive(Clone, Default)]
pub struct Redactor {
    patterns: Option<Arc<Patterns>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the patterns themselves: they are the secrets.
        f.debug_struct("Redactor")
            .field(
                "patterns",
                &self.patterns.as_ref().map_or(0, |p| p.sorted.len()),
            )
            .finish()
    }
}

impl Redactor {
    /// A redactor hiding `secrets` in every form ([`forms`]). Empty secrets are ignored.
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        Self::from_patterns(
            secrets
                .into_iter()
                .flat_map(|s| forms(s.as_ref()))
                .map(String::into_bytes)
                .collect(),
        )
    }

    /// A redactor hiding exactly these byte patterns.
    pub fn from_patterns(patterns: Vec<Vec<u8>>) -> Self {
        Self {
            patterns: Patterns::new(patterns).map(Arc::new),
        }
    }

    /// A redactor hiding what `self` and `other` hide.
    pub fn union(&self, other: &Redactor) -> Redactor {
        let mut all = self.patterns();
        all.extend(other.patterns());
        Self::from_patterns(all)
    }

    /// The patterns hidden (secrets in every form).
    pub fn patterns(&self) -> Vec<Vec<u8>> {
        self.patterns
            .as_ref()
            .map(|p| p.sorted.clone())
            .unwrap_or_default()
    }

    /// Whether there is nothing to hide.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_none()
    }

    /// The longest pattern, in bytes.
    pub fn longest(&self) -> usize {
        self.patterns.as_ref().map_or(0, |p| p.longest)
    }

    /// `input` with every occurrence hidden.
    pub fn redact_bytes(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        match &self.patterns {
            Some(p) => p.replace_all(input, &mut out),
            None => out.extend_from_slice(input),
        }
        out
    }

    /// `text` with every occurrence hidden.
    pub fn redact(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_owned();
        }
        // Patterns are whole UTF-8 strings, so a match never splits a character.
        String::from_utf8(self.redact_bytes(text.as_bytes()))
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Whether `bytes` contain anything this redactor hides.
    pub fn finds(&self, bytes: &[u8]) -> bool {
        self.patterns
            .as_ref()
            .is_some_and(|p| p.search.find(bytes).is_some())
    }

    /// An output message as §7.4 filters it: invalid UTF-8 (and the replacement characters a
    /// lossy decoding left for it) dropped, secrets hidden, cut to 60,000 characters with
    /// ` [trimmed]`, trimmed.
    pub fn message(&self, text: &str) -> String {
        let stripped: String = if text.contains('\u{FFFD}') {
            text.chars().filter(|&c| c != '\u{FFFD}').collect()
        } else {
            text.to_owned()
        };
        let redacted = self.redact(&stripped);
        let cut = match redacted.char_indices().nth(MAX_MESSAGE_CHARS) {
            Some((end, _)) => format!("{}{TRIMMED}", &redacted[..end]),
            None => redacted,
        };
        cut.trim().to_owned()
    }

    /// [`Redactor::message`] of raw output bytes.
    pub fn message_bytes(&self, bytes: &[u8]) -> String {
        self.message(&String::from_utf8_lossy(bytes))
    }

    /// Hides secrets in every string (and key) of a JSON document.
    pub fn redact_json(&self, value: &mut Value) {
        if self.is_empty() {
            return;
        }
        match value {
            Value::String(s) if self.finds(s.as_bytes()) => *s = self.redact(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut child) in entries {
                    self.redact_json(&mut child);
                    map.insert(self.redact(&key), child);
                }
            }
            _ => {}
        }
    }

    /// The text of a JSON file with secrets hidden: as JSON (the file stays valid JSON) when it
    /// parses and that hides everything, else as text.
    pub fn redact_json_text(&self, bytes: &[u8]) -> Vec<u8> {
        if !self.finds(bytes) {
            return bytes.to_vec();
        }
        if let Ok(mut value) = serde_json::from_slice::<Value>(bytes) {
            self.redact_json(&mut value);
            let mut text = serde_json::to_vec_pretty(&value).unwrap_or_default();
            text.push(b'\n');
            if !self.finds(&text) {
                return text;
            }
        }
        self.redact_bytes(bytes)
    }

    /// A filter for one stream of output.
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor {
            patterns: self.patterns.clone(),
            held: Vec::new(),
        }
    }
}

/// Hides secrets in a stream that arrives in pieces (see the [module docs](self)).
pub struct StreamRedactor {
    patterns: Option<Arc<Patterns>>,
    held: Vec<u8>,
}

impl std::fmt::Debug for StreamRedactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamRedactor")
            .field("held", &self.held.len())
            .finish()
    }
}

impl StreamRedactor {
    /// Takes the next piece of the stream and appends to `out` what can be released: everything
    /// except a tail that could still become a secret.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let Some(p) = &self.patterns else {
            out.extend_from_slice(input);
            return;
        };
        let buf = if self.held.is_empty() {
            input
        } else {
            self.held.extend_from_slice(input);
            &self.held[..]
        };
        // A match starting before `cutoff` cannot reach past the end: it is final.
        let cutoff = buf.len().saturating_sub(p.longest - 1);
        let mut pos = 0;
        for m in p.search.find_iter(buf) {
            if m.start() >= cutoff && m.start() >= p.hold_from(buf, pos.max(cutoff)) {
                break;
            }
            out.extend_from_slice(&buf[pos..m.start()]);
            out.extend_from_slice(HIDDEN.as_bytes());
            pos = m.end();
        }
        let hold = p.hold_from(buf, pos.max(cutoff));
        out.extend_from_slice(&buf[pos..hold]);
        let rest = buf[hold..].to_vec();
        self.held = rest;
    }

    /// The end of the stream: releases what was held back, hidden where it must be.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let held = std::mem::take(&mut self.held);
        match &self.patterns {
            Some(p) => p.replace_all(&held, out),
            None => out.extend_from_slice(&held),
        }
    }

    /// How many bytes are held back now.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stream_all(r: &Redactor, pieces: &[&[u8]]) -> Vec<u8> {
        let mut s = r.stream();
        let mut out = Vec::new();
        for piece in pieces {
            s.push(piece, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn forms_of_a_secret() {
        let f = forms("pa/ss\"wörd");
        assert!(f.contains(&"pa/ss\"wörd".to_owned()));
        assert!(f.contains(&STANDARD.encode("pa/ss\"wörd")));
        assert!(f.contains(&"pa/ss\\\"wörd".to_owned()), "{f:?}");
        assert!(f.contains(&"pa/ss\\\"w\\u00f6rd".to_owned()), "{f:?}");
        assert!(f.contains(&"pa\\/ss\\\"w\\u00f6rd".to_owned()), "{f:?}");
        assert_eq!(forms("abc").len(), 2, "plain ASCII: itself and base64");
        assert!(forms("").is_empty());
    }

    #[test]
    fn hides_every_form() {
        let r = Redactor::new(["s3cr/et"]);
        let text = format!(
            "a s3cr/et b {} c s3cr\\/et d \"s3cr/et\"",
            STANDARD.encode("s3cr/et")
        );
        assert_eq!(
            r.redact(&text),
            "a [hidden] b [hidden] c [hidden] d \"[hidden]\""
        );
    }

    #[test]
    fn partial_secrets_stay() {
        // Reference testPartialSecrets: only whole values are hidden.
        let r = Redactor::new(["password"]);
        assert_eq!(r.redact("pass word passwor"), "pass word passwor");
    }

    #[test]
    fn messages_are_cut_and_sanitised() {
        let r = Redactor::new(["xyz1"]);
        let long = "é".repeat(MAX_MESSAGE_CHARS + 5);
        let m = r.message(&long);
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS + TRIMMED.len());
        assert!(m.ends_with("é [trimmed]"));
        assert_eq!(r.message("  xy\u{FFFD}z1 ok \n"), "[hidden] ok");
        assert_eq!(r.message_bytes(b"bad \xff\xfe bytes"), "bad  bytes");
        assert_eq!(
            r.message(&"a".repeat(MAX_MESSAGE_CHARS)).len(),
            MAX_MESSAGE_CHARS
        );
    }

    #[test]
    fn a_split_secret_is_hidden_and_plain_output_is_not_held() {
        let r = Redactor::new(["supersecret"]);
        assert_eq!(
            stream_all(&r, &[b"x super", b"sec", b"ret y"]),
            b"x [hidden] y"
        );
        let mut s = r.stream();
        let mut out = Vec::new();
        s.push(b"progress 50%\n", &mut out);
        assert_eq!(
            out, b"progress 50%\n",
            "nothing that could start a secret is held"
        );
        s.push(b"ends with sup", &mut out);
        assert_eq!(s.held(), 3);
        s.push(b"per", &mut out);
        s.finish(&mut out);
        assert_eq!(out, b"progress 50%\nends with supper");
    }

    #[test]
    fn longest_match_wins_across_writes() {
        let r = Redactor::from_patterns(vec![b"abc".to_vec(), b"abcdef".to_vec()]);
        assert_eq!(stream_all(&r, &[b"xabc", b"def"]), b"x[hidden]");
        assert_eq!(stream_all(&r, &[b"xabc", b"dxx"]), b"x[hidden]dxx");
    }

    #[test]
    fn json_files_stay_json() {
        let r = Redactor::new(["top"]);
        let text = br##"{"#pw": "top", "top": ["a top b"], "n": 1}"##;
        let out = r.redact_json_text(text);
        let value: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"#pw": "[hidden]", "[hidden]": ["a [hidden] b"], "n": 1})
        );
        assert_eq!(r.redact_json_text(b"not json top"), b"not json [hidden]");
    }

    proptest! {
        /// Streaming in any pieces gives exactly what redacting the whole text gives.
        #[test]
        fn streaming_equals_whole(
            secrets in proptest::collection::vec("[a-d]{1,6}", 1..4),
            text in "[a-e]{0,80}",
            cuts in proptest::collection::vec(0usize..80, 0..8),
        ) {
            let r = Redactor::new(&secrets);
            let bytes = text.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= bytes.len()).collect();
            cuts.sort();
            let mut pieces = Vec::new();
            let mut last = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                pieces.push(&bytes[last..c]);
                last = c;
            }
            prop_assert_eq!(stream_all(&r, &pieces), r.redact_bytes(bytes));
        }

        /// No secret (without brackets) survives redaction, whatever surrounds it.
        #[test]
        fn nothing_survives(
            secret in "[^\\[\\]]{4,12}",
            noise in proptest::collection::vec(".{0,6}", 0..6),
        ) {
            prop_assume!(!HIDDEN.contains(secret.as_str()));
            let r = Redactor::new([&secret]);
            let mut text = String::new();
            for (i, n) in noise.iter().enumerate() {
                text.push_str(n);
                if i % 2 == 0 { text.push_str(&secret) } else { text.push_str(&STANDARD.encode(&secret)) }
            }
            for form in forms(&secret) {
                prop_assert!(!r.redact(&text).contains(&form));
            }
        }
    }
}
