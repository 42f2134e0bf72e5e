//! Reading and writing the exchanged files in the component's [`FileFormat`]: JSON as it is, YAML
//! through `serde-saphyr` for components whose `configuration_format` is `yaml`.
//!
//! YAML a component wrote is hostile input like everything else in `out/`: it is read only
//! after its size was bounded by the caller, with the parser's budgets on (events, nodes,
//! nesting, aliases — no alias bomb expands), duplicate keys refused, YAML 1.1's `yes`/`no`
//! kept as strings (YAML 1.2, as Keboola's Symfony parser reads it), and no snippet of the
//! file in an error message (a state file may hold secrets). What it decodes to is re-encoded as
//! JSON, so every file then passes the same strict JSON validation whatever its format.

use std::borrow::Cow;

use berth_host_api::FileFormat;
use serde::Serialize;
use serde_json::Value;

/// Nesting deeper than this is refused. Lower than the JSON reader's 128: the YAML deserializer
/// recurses with large frames (128 levels overflowed a 2 MiB test thread in the debug profile).
const MAX_DEPTH: usize = 64;

/// `bytes` read in `format`, as JSON: JSON as it is (untouched, so the JSON reader still sees
/// every byte), YAML decoded and re-encoded. `shown` names the file in messages (`Failed to
/// parse <what> "<shown>" as "yaml": <reason>`, `what` being `file` or `manifest file`). Blank
/// text stays blank (the callers give it its meaning, e.g. "no state").
pub fn to_json<'a>(
    format: FileFormat,
    what: &str,
    shown: &str,
    bytes: &'a [u8],
) -> Result<Cow<'a, [u8]>, String> {
    if format == FileFormat::Json {
        return Ok(Cow::Borrowed(bytes));
    }
    let failed = |reason: &dyn std::fmt::Display| {
        format!("Failed to parse {what} \"{shown}\" as \"yaml\": {reason}")
    };
    let text = std::str::from_utf8(bytes).map_err(|_| failed(&"the file is not UTF-8"))?;
    if text.trim().is_empty() {
        return Ok(Cow::Borrowed(b""));
    }
    let value = parse_yaml(text).map_err(|e| failed(&e))?;
    serde_json::to_vec(&value)
        .map(Cow::Owned)
        .map_err(|e| e.to_string())
}

fn parse_yaml(text: &str) -> Result<Value, serde_saphyr::Error> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.with_snippet = false;
    serde_saphyr::from_str_with_options(text, options)
}

/// `value` written in `format`: pretty JSON, or YAML; ends with a newline.
pub fn encode<T: Serialize>(format: FileFormat, value: &T) -> Result<String, String> {
    match format {
        FileFormat::Json => serde_json::to_string_pretty(value)
            .map(|text| text + "\n")
            .map_err(|e| e.to_string()),
        FileFormat::Yaml => {
            // Through a JSON value: numbers, nulls and key order come out as JSON has them.
            let value = serde_json::to_value(value).map_err(|e| e.to_string())?;
            let text = serde_saphyr::to_string(&value).map_err(|e| e.to_string())?;
            Ok(if text.ends_with('\n') {
                text
            } else {
                text + "\n"
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(text: &str) -> Result<Value, String> {
        to_json(FileFormat::Yaml, "file", "out/state.yml", text.as_bytes())
            .map(|json| serde_json::from_slice(&json).unwrap_or(Value::Null))
    }

    #[test]
    fn yaml_round_trips_through_json() {
        let value = json!({"b": [1, 2.5, "x", null, true], "a": {"#secret": "KBC::x", "n": -3}});
        let text = encode(FileFormat::Yaml, &value).unwrap();
        assert_eq!(yaml(&text).unwrap(), value, "{text}");
        // Key order is kept.
        assert!(
            text.find("b:").unwrap() < text.find("a:").unwrap(),
            "{text}"
        );
        // Strings that look like other types stay strings.
        let tricky = json!({"s": ["true", "1", "null", "yes", "", "a: b", "- x"]});
        let text = encode(FileFormat::Yaml, &tricky).unwrap();
        assert_eq!(yaml(&text).unwrap(), tricky, "{text}");
    }

    #[test]
    fn json_is_yaml_and_passes_unchanged_in_json_format() {
        assert_eq!(
            yaml(r#"{"a": [1, {"b": "c"}]}"#).unwrap(),
            json!({"a": [1, {"b": "c"}]})
        );
        assert_eq!(
            *to_json(FileFormat::Json, "file", "x", b"{not json").unwrap(),
            *b"{not json"
        );
    }

    #[test]
    fn json_bytes_are_never_rewritten_and_yaml_must_be_utf8() {
        // Invalid UTF-8 reaches the JSON reader as it is (which refuses it), never as U+FFFD.
        let bytes = b"{\"a\": \"\xff\"}";
        assert_eq!(
            *to_json(FileFormat::Json, "file", "out/state.json", bytes).unwrap(),
            bytes[..]
        );
        let message = to_json(FileFormat::Yaml, "file", "out/state.yml", b"a: \xff\n").unwrap_err();
        assert_eq!(
            message,
            "Failed to parse file \"out/state.yml\" as \"yaml\": the file is not UTF-8"
        );
    }

    #[test]
    fn yaml_1_1_booleans_are_strings_and_blank_stays_blank() {
        assert_eq!(
            yaml("a: yes\nb: true\n").unwrap(),
            json!({"a": "yes", "b": true})
        );
        assert_eq!(
            *to_json(FileFormat::Yaml, "file", "x", b" \n\t\n").unwrap(),
            *b""
        );
    }

    #[test]
    fn hostile_yaml_is_refused_with_the_file_named_and_no_content_shown() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n\
                    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
                    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n\
                    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        let deep = format!("{}x{}", "[".repeat(200), "]".repeat(200));
        // Just under the limit still parses (and does not exhaust the stack).
        let nested = format!(
            "{}x{}",
            "[".repeat(MAX_DEPTH - 2),
            "]".repeat(MAX_DEPTH - 2)
        );
        assert!(yaml(&nested).is_ok());
        for (text, what) in [
            (bomb.to_owned(), "alias bomb"),
            (deep, "deep nesting"),
            ("a: 1\na: 2\n".to_owned(), "duplicate key"),
            ("a: [unclosed\nsecret: hunter2\n".to_owned(), "syntax error"),
            ("a: 1\n---\nb: 2\n".to_owned(), "two documents"),
        ] {
            let message = yaml(&text).expect_err(what);
            assert!(
                message.starts_with("Failed to parse file \"out/state.yml\" as \"yaml\": "),
                "{what}: {message}"
            );
            assert!(!message.contains("hunter2"), "{what}: {message}");
        }
    }
}
