//! How contract files are read: JSON text → [`Value`] → shape pass → typed struct.
//!
//! Each file type declares its key tree as a static [`Shape`]. The shape pass walks the parsed
//! value along it and
//! - turns PHP's empty array `[]` into `{}` wherever an object belongs (the reference runner is
//!   PHP, and its own sample config has `"image_parameters": []`);
//! - in strict mode, rejects any key the shape does not list, naming the path and the available
//!   keys (`Unrecognized option "foo" under "storage.input.tables.0". Available options are ...`).
//!
//! Then serde deserialises the value into the typed struct, and [`serde_path_to_error`] supplies the
//! path of a wrong type or a missing key. The typed structs never use `deny_unknown_fields`, so the
//! same structs serve the lenient (forward-compatible) readers. A unit test in each file module
//! checks that its shape lists exactly the struct's serde field names, so the two cannot drift.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ContractError;

/// The expected form of a JSON value.
#[derive(Debug)]
pub(crate) enum Shape {
    /// Anything; not looked into.
    Opaque,
    /// An object with exactly these keys (each optional as far as the shape is concerned).
    Object(&'static [Field]),
    /// An array whose items have this shape.
    ArrayOf(&'static Shape),
    /// An object with free keys whose values have this shape.
    MapOf(&'static Shape),
    /// The same as another (static) shape.
    Ref(&'static Shape),
}

/// One key of an [`Shape::Object`].
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) shape: Shape,
}

/// A key with the given shape.
pub(crate) const fn field(name: &'static str, shape: Shape) -> Field {
    Field { name, shape }
}

/// A key whose value is not looked into.
pub(crate) const fn leaf(name: &'static str) -> Field {
    Field {
        name,
        shape: Shape::Opaque,
    }
}

/// How paths are written in messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PathStyle {
    /// The name of the document root.
    pub(crate) root: &'static str,
    /// Whether nested paths start with the root name (`usage.0`) or not (`storage.input`).
    pub(crate) prefixed: bool,
}

/// Paths in `config.json` and manifests: `root`, `storage.input.tables.0`.
pub(crate) const PLAIN: PathStyle = PathStyle {
    root: "root",
    prefixed: false,
};

/// Renders a path made of segments in the given style.
pub(crate) fn render(style: PathStyle, segments: &[String]) -> String {
    match (segments.is_empty(), style.prefixed) {
        (true, _) => style.root.to_owned(),
        (false, false) => segments.join("."),
        (false, true) => format!("{}.{}", style.root, segments.join(".")),
    }
}

/// Parses JSON text; a syntax error (including an empty text) names `file`.
pub(crate) fn parse_json(file: &str, text: &str) -> Result<Value, ContractError> {
    serde_json::from_str(text).map_err(|e| ContractError::Json {
        file: file.to_owned(),
        message: e.to_string(),
    })
}

/// The shape pass: `[]` → `{}` where an object belongs, and (if `strict`) unknown keys rejected.
pub(crate) fn prepare(
    value: &mut Value,
    shape: &Shape,
    style: PathStyle,
    strict: bool,
) -> Result<(), ContractError> {
    let mut path = Vec::new();
    walk(value, shape, style, strict, &mut path)
}

fn walk(
    value: &mut Value,
    shape: &Shape,
    style: PathStyle,
    strict: bool,
    path: &mut Vec<String>,
) -> Result<(), ContractError> {
    match shape {
        Shape::Opaque => Ok(()),
        Shape::Ref(inner) => walk(value, inner, style, strict, path),
        Shape::Object(fields) => {
            empty_array_to_object(value);
            let Value::Object(map) = value else {
                return Ok(()); // a wrong type is reported by serde, with its path
            };
            if strict
                && let Some(unknown) = map.keys().find(|k| !fields.iter().any(|f| f.name == *k))
            {
                let mut available: Vec<String> = fields.iter().map(|f| f.name.to_owned()).collect();
                available.sort();
                return Err(ContractError::UnrecognizedOption {
                    option: unknown.clone(),
                    path: render(style, path),
                    available,
                });
            }
            for f in fields.iter() {
                if let Some(child) = map.get_mut(f.name) {
                    path.push(f.name.to_owned());
                    walk(child, &f.shape, style, strict, path)?;
                    path.pop();
                }
            }
            Ok(())
        }
        Shape::ArrayOf(item) => {
            if let Value::Array(items) = value {
                for (i, child) in items.iter_mut().enumerate() {
                    path.push(i.to_string());
                    walk(child, item, style, strict, path)?;
                    path.pop();
                }
            }
            Ok(())
        }
        Shape::MapOf(item) => {
            empty_array_to_object(value);
            if let Value::Object(map) = value {
                for (k, child) in map.iter_mut() {
                    path.push(k.clone());
                    walk(child, item, style, strict, path)?;
                    path.pop();
                }
            }
            Ok(())
        }
    }
}

fn empty_array_to_object(value: &mut Value) {
    if matches!(value, Value::Array(a) if a.is_empty()) {
        *value = Value::Object(Default::default());
    }
}

/// Deserialises a prepared value, turning serde's messages into [`ContractError`]s with paths.
pub(crate) fn deserialize<T: DeserializeOwned>(
    value: Value,
    style: PathStyle,
) -> Result<T, ContractError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let segments: Vec<String> = e
            .path()
            .iter()
            .map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => index.to_string(),
                serde_path_to_error::Segment::Map { key } => key.clone(),
                serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                serde_path_to_error::Segment::Unknown => "?".to_owned(),
            })
            .collect();
        classify(render(style, &segments), &e.into_inner().to_string())
    })
}

/// Maps a serde message (deserialising from a `Value` carries no line/column) to an error kind.
fn classify(path: String, message: &str) -> ContractError {
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((got, expected)) = rest.split_once(", expected ")
        {
            return ContractError::InvalidType {
                path,
                message: format!("Expected {expected}, but got {got}."),
            };
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        return ContractError::MissingOption {
            option: rest.trim_end_matches('`').to_owned(),
            path,
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((value, allowed)) = rest.split_once('`')
    {
        return ContractError::NotAllowed {
            path,
            value: value.to_owned(),
            allowed: allowed
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect(),
        };
    }
    ContractError::Invalid {
        path,
        message: message.to_owned(),
    }
}

/// Serde helpers shared by the file modules.
pub(crate) mod de {
    use serde::{Deserialize, Deserializer};

    /// `null` (or absent, with `#[serde(default)]`) → `T::default()`.
    pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default,
    {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    /// `""` and `null` → `None`.
    pub(crate) fn empty_string_as_none<'de, D>(d: D) -> Result<Option<String>, D::Error>
    where
        D: Deserializer<'de>,
    {
        Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Checks that a shape lists exactly the serde field names of a struct.

    use serde::de::{self, Deserialize, Deserializer, Visitor};
    use std::cell::Cell;

    struct Probe<'a>(&'a Cell<&'static [&'static str]>);

    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Stop
        }
    }

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.set(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    /// The serde field names of `T` (a struct deriving `Deserialize`).
    pub(crate) fn fields_of<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
        let cell = Cell::new(&[][..]);
        let _ = T::deserialize(Probe(&cell));
        let mut v = cell.get().to_vec();
        v.sort();
        v
    }

    /// Asserts that `shape` is an object shape listing exactly the serde fields of `T`.
    pub(crate) fn assert_shape<T: for<'de> Deserialize<'de>>(shape: &super::Shape) {
        let shape = match shape {
            super::Shape::Ref(inner) => inner,
            other => other,
        };
        let super::Shape::Object(fields) = shape else {
            panic!("not an object shape: {shape:?}");
        };
        let mut names: Vec<&str> = fields.iter().map(|f| f.name).collect();
        names.sort();
        assert_eq!(
            names,
            fields_of::<T>(),
            "shape of {}",
            std::any::type_name::<T>()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static ITEM: Shape = Shape::Object(&[leaf("a"), leaf("b")]);
    static ROOT: Shape = Shape::Object(&[field("items", Shape::ArrayOf(&ITEM)), leaf("x")]);

    /// `{"parameters": [[…[1]…]]}` with `depth` levels of nesting in all.
    fn nested(depth: usize) -> String {
        format!(
            "{{\"parameters\": {}1{}}}",
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    }

    #[test]
    fn documents_nest_at_most_127_levels() {
        // The limit every contract document (config.json, manifests, state, usage) is read
        // under: serde_json's recursion limit (128, which leaves 127 nested arrays and objects).
        assert!(parse_json("config.json", &nested(127)).is_ok());
        let err = parse_json("config.json", &nested(128))
            .unwrap_err()
            .to_string();
        assert!(err.contains("recursion limit exceeded"), "{err}");
        assert!(err.contains("config.json"), "{err}");
        // Far deeper is the same error, not a stack overflow.
        let err = parse_json("config.json", &nested(1_000_000))
            .unwrap_err()
            .to_string();
        assert!(err.contains("recursion limit exceeded"), "{err}");
        let err = crate::ConfigFile::from_json_strict(&nested(200)).unwrap_err();
        assert!(
            err.to_string().contains("recursion limit exceeded"),
            "{err}"
        );
        let err = crate::OutputTableManifest::from_json("m", &nested(200)).unwrap_err();
        assert!(
            err.to_string().contains("recursion limit exceeded"),
            "{err}"
        );
        let err = crate::state::read_out_state(Some(nested(200).as_bytes())).unwrap_err();
        assert!(
            err.to_string().contains("recursion limit exceeded"),
            "{err}"
        );
        let err = crate::usage::parse_usage(&nested(200)).unwrap_err();
        assert!(
            err.to_string().contains("recursion limit exceeded"),
            "{err}"
        );
    }

    #[test]
    fn strict_names_path_and_sorted_options() {
        let mut v: Value = serde_json::json!({"items": [{"a": 1}, {"b": 2, "zz": 3}]});
        let err = prepare(&mut v, &ROOT, PLAIN, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"Unrecognized option "zz" under "items.1". Available options are "a", "b"."#
        );
        let mut v: Value = serde_json::json!({"q": 1});
        let err = prepare(&mut v, &ROOT, PLAIN, true).unwrap_err();
        assert_eq!(err.path(), Some("root"));
        assert!(prepare(&mut v, &ROOT, PLAIN, false).is_ok());
    }

    #[test]
    fn empty_array_becomes_object() {
        let mut v: Value = serde_json::json!({"items": [[]]});
        prepare(&mut v, &ROOT, PLAIN, true).unwrap();
        assert_eq!(v, serde_json::json!({"items": [{}]}));
    }

    #[test]
    fn classify_messages() {
        let e = classify(
            "p".into(),
            "invalid type: string \"Id\", expected a sequence",
        );
        assert_eq!(
            e.to_string(),
            r#"Invalid type for path "p". Expected a sequence, but got string "Id"."#
        );
        let e = classify("p".into(), "unknown variant `x`, expected one of `a`, `b`");
        assert_eq!(
            e.to_string(),
            r#"The value "x" is not allowed for path "p". Permissible values: "a", "b""#
        );
        let e = classify("p".into(), "missing field `source`");
        assert_eq!(
            e.to_string(),
            r#"The child config "source" under "p" must be configured."#
        );
    }
}
