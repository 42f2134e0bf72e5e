//! Limit overrides as people write them: a component definition's `limits` object and the berth
//! home's `[limits]` table carry the same keys, each optional. What the limits mean, their
//! defaults and where they are enforced belong to staging (`berth_staging::limits`); Storage only
//! stores and validates the overrides with the component.
//!
//! Sizes are a number of bytes or a text with a unit: `"16m"`, `"1g"`, `"512k"` (powers of 1024,
//! as the component's `memory`).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A size in bytes, written as a number or as a text with a `k`, `m` or `g` unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses digits followed by an optional unit `b`, `k`/`kb`, `m`/`mb`, `g`/`gb`, `t`/`tb`
    /// (any case, powers of 1024): `"256m"`, `"1G"`, `"4096"`. `None` when malformed or too
    /// large for 64 bits.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => text.split_at(i),
            None => (text.as_str(), ""),
        };
        let n: u64 = digits.parse().ok()?;
        let factor: u64 = match unit.trim() {
            "" | "b" => 1,
            "k" | "kb" => 1 << 10,
            "m" | "mb" => 1 << 20,
            "g" | "gb" => 1 << 30,
            "t" | "tb" => 1 << 40,
            _ => return None,
        };
        n.checked_mul(factor).map(Self)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: a number of bytes or a text such as \"16m\"")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("a size cannot be negative ({v})")))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).ok_or_else(|| {
                    E::custom(format!(
                        "\"{v}\" is not a size such as \"16m\" (units: k, m, g, t)"
                    ))
                })
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// Overrides of the limits on what a component leaves and what berth reads of it. Every key is
/// optional; an absent one keeps the next level's value (component definition → home
/// `settings.toml` → berth's default). Unknown keys are refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// Largest manifest (`out/tables/*.manifest`, `out/files/*.manifest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_bytes: Option<ByteSize>,
    /// Largest `out/state.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_bytes: Option<ByteSize>,
    /// Largest `out/usage.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_bytes: Option<ByteSize>,
    /// Longest single CSV field of an output table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_field_bytes: Option<ByteSize>,
    /// Most entries (files, folders, anything) under `out/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_entries: Option<u64>,
    /// Deepest folder nesting under `out/` (`out/files/a` is depth 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_depth: Option<u32>,
    /// Most bytes a job's output mapping may load (table sources, decompressed slices, files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<ByteSize>,
    /// Free space the Storage volume must keep after the output is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_space_margin_bytes: Option<ByteSize>,
}

impl LimitOverrides {
    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_numbers_or_text() {
        assert_eq!(ByteSize::parse("16m"), Some(ByteSize(16 << 20)));
        assert_eq!(ByteSize::parse(" 2G "), Some(ByteSize(2 << 30)));
        assert_eq!(ByteSize::parse("1024"), Some(ByteSize(1024)));
        assert_eq!(ByteSize::parse("1kb"), Some(ByteSize(1024)));
        assert_eq!(ByteSize::parse("12x"), None);
        assert_eq!(ByteSize::parse("99999999999999999999g"), None);
        assert_eq!(ByteSize::parse("100000000t"), None);
        let o: LimitOverrides = serde_json::from_str(
            r#"{"manifest_bytes": "2m", "out_entries": 10, "state_bytes": 4096}"#,
        )
        .unwrap();
        assert_eq!(o.manifest_bytes, Some(ByteSize(2 << 20)));
        assert_eq!(o.state_bytes, Some(ByteSize(4096)));
        assert_eq!(o.out_entries, Some(10));
        let err = serde_json::from_str::<LimitOverrides>(r#"{"manifest_byte": 1}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `manifest_byte`"),
            "{err}"
        );
        let err = serde_json::from_str::<LimitOverrides>(r#"{"usage_bytes": "lots"}"#).unwrap_err();
        assert!(err.to_string().contains("\"lots\" is not a size"), "{err}");
        let err = serde_json::from_str::<LimitOverrides>(r#"{"usage_bytes": -1}"#).unwrap_err();
        assert!(err.to_string().contains("cannot be negative"), "{err}");
    }

    #[test]
    fn overrides_round_trip_as_bytes() {
        let o = LimitOverrides {
            output_bytes: Some(ByteSize(10 << 30)),
            out_depth: Some(4),
            ..LimitOverrides::default()
        };
        let text = serde_json::to_string(&o).unwrap();
        assert_eq!(text, r#"{"out_depth":4,"output_bytes":10737418240}"#);
        assert_eq!(serde_json::from_str::<LimitOverrides>(&text).unwrap(), o);
    }
}
