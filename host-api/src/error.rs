//! [`ContractError`]: every way a contract file (`config.json`, a manifest, the state or the usage
//! file) can be wrong, each naming the file or the path inside it.
//!
//! The messages follow the wording of the reference implementation's Symfony config trees
//! (reference §1.2), e.g. `Unrecognized option "foo" under "storage.input.tables.0". Available
//! options are "changed_since", "column_types", ...`. Paths are dotted, array indices are plain
//! numbers, and the document root is called `root` (or the file's own root name: `state`, `usage`).

use thiserror::Error;

/// A contract file that does not parse or does not follow the rules.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContractError {
    /// The file is not valid JSON at all (this includes a 0-byte file).
    #[error("Invalid JSON in \"{file}\": {message}")]
    Json {
        /// The file, relative to the data folder (e.g. `config.json`, `out/state.json`).
        file: String,
        /// What the JSON parser says, with line and column.
        message: String,
    },
    /// An object holds a key the contract does not know.
    #[error(
        "Unrecognized option \"{option}\" under \"{path}\". {}",
        available_options(available)
    )]
    UnrecognizedOption {
        /// The unknown key.
        option: String,
        /// The dotted path of the object holding it (`root` for the top level).
        path: String,
        /// The keys that are allowed there, sorted.
        available: Vec<String>,
    },
    /// A value has the wrong JSON type (e.g. a string where an array belongs).
    #[error("Invalid type for path \"{path}\". {message}")]
    InvalidType {
        /// The dotted path of the value.
        path: String,
        /// What was expected and what was found.
        message: String,
    },
    /// A required key is missing.
    #[error("The child config \"{option}\" under \"{path}\" must be configured.")]
    MissingOption {
        /// The missing key.
        option: String,
        /// The dotted path of the object that lacks it.
        path: String,
    },
    /// A required value is `null` or `""`.
    #[error("The path \"{path}\" cannot contain an empty value, but got {got}.")]
    EmptyValue {
        /// The dotted path of the value.
        path: String,
        /// The empty value as JSON (`null` or `""`).
        got: String,
    },
    /// A value outside a fixed set (e.g. `data_type_support`).
    #[error(
        "The value \"{value}\" is not allowed for path \"{path}\". Permissible values: {}",
        quoted_list(allowed)
    )]
    NotAllowed {
        /// The dotted path of the value.
        path: String,
        /// The value found.
        value: String,
        /// The values allowed there.
        allowed: Vec<String>,
    },
    /// A rule across keys is violated, e.g.
    /// `When "where_column" is set, "where_values" must be provided.`
    #[error("Invalid configuration for path \"{path}\": {message}")]
    Invalid {
        /// The dotted path of the object (or value) that breaks the rule.
        path: String,
        /// The rule's message, verbatim from reference §1.2 where it gives one.
        message: String,
    },
    /// An output manifest that does not parse (reference §2.4): invalid JSON, an unknown key or a
    /// wrong type.
    #[error(
        "Failed to parse manifest file \"{file}\" as \"json\": {}",
        reason(source)
    )]
    Manifest {
        /// The manifest's path as given by the caller.
        file: String,
        /// What is wrong with it.
        source: Box<ContractError>,
    },
    /// A stored state that does not have the shape of reference §5.
    #[error("Invalid state: {0}")]
    State(Box<ContractError>),
    /// An `out/usage.json` that breaks the strict usage format (reference §6).
    #[error("Invalid usage file \"out/usage.json\": {0}")]
    Usage(Box<ContractError>),
}

impl ContractError {
    /// The dotted path inside the file the error points at, when it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Json { .. } => None,
            Self::UnrecognizedOption { path, .. }
            | Self::InvalidType { path, .. }
            | Self::MissingOption { path, .. }
            | Self::EmptyValue { path, .. }
            | Self::NotAllowed { path, .. }
            | Self::Invalid { path, .. } => Some(path),
            Self::Manifest { source, .. } => source.path(),
            Self::State(inner) | Self::Usage(inner) => inner.path(),
        }
    }

    /// Wraps `self` as an error of the output manifest `file`.
    pub fn in_manifest(self, file: impl Into<String>) -> Self {
        Self::Manifest {
            file: file.into(),
            source: Box::new(self),
        }
    }
}

/// `Available options are "a", "b".` or `Available option is "a".`
fn available_options(available: &[String]) -> String {
    match available {
        [one] => format!("Available option is \"{one}\"."),
        _ => format!("Available options are {}.", quoted_list(available)),
    }
}

/// `"a", "b", "c"`
fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The reason shown after `Failed to parse manifest file ...: `: the parser's own message for
/// invalid JSON, else the full inner message.
fn reason(source: &ContractError) -> String {
    match source {
        ContractError::Json { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrecognized_option_message() {
        let e = ContractError::UnrecognizedOption {
            option: "foo".into(),
            path: "storage.input.tables.0".into(),
            available: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            e.to_string(),
            r#"Unrecognized option "foo" under "storage.input.tables.0". Available options are "a", "b"."#
        );
        let e = ContractError::UnrecognizedOption {
            option: "foo".into(),
            path: "root".into(),
            available: vec!["a".into()],
        };
        assert_eq!(
            e.to_string(),
            r#"Unrecognized option "foo" under "root". Available option is "a"."#
        );
    }

    #[test]
    fn manifest_wraps_json_reason() {
        let e = ContractError::Json {
            file: "x".into(),
            message: "EOF".into(),
        }
        .in_manifest("out/tables/a.csv.manifest");
        assert_eq!(
            e.to_string(),
            r#"Failed to parse manifest file "out/tables/a.csv.manifest" as "json": EOF"#
        );
        assert_eq!(e.path(), None);
    }
}
