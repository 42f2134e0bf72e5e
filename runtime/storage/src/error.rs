//! The error type at the Storage boundary: every variant names the stage and the subject (table,
//! column, file, component, configuration, CSV line) so a message alone says what went wrong.

use std::path::PathBuf;

/// An error from an embedded Storage operation.
///
/// [`StorageError::is_user_error`] separates bad input (the CLI exits 1) from failures of
/// Storage itself (database or disk; the CLI exits 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A table id is not `stage.c-bucket.table`.
    #[error("invalid table id \"{id}\": {reason}")]
    InvalidTableId {
        /// The id as given.
        id: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The table does not exist.
    #[error("table \"{id}\" does not exist")]
    TableNotFound {
        /// The table id.
        id: String,
    },
    /// A column name is not allowed (header, `columns`, primary key).
    #[error("table \"{table}\": invalid column name \"{column}\": {reason}")]
    InvalidColumnName {
        /// The table id.
        table: String,
        /// The column name as given.
        column: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A column named in an option does not exist in the table (or the CSV).
    #[error(
        "table \"{table}\": {option} column \"{column}\" does not exist (columns: {available})"
    )]
    UnknownColumn {
        /// The table id.
        table: String,
        /// Which option named the column (`primary key`, `where_column`, `columns`, ...).
        option: &'static str,
        /// The column name as given.
        column: String,
        /// The table's columns, comma-separated.
        available: String,
    },
    /// The CSV lacks columns the existing table has.
    #[error(
        "table \"{table}\": some columns are missing in the CSV file; missing: {missing}; expected: {expected}"
    )]
    MissingColumns {
        /// The table id.
        table: String,
        /// The missing columns, comma-separated.
        missing: String,
        /// The table's columns, comma-separated.
        expected: String,
    },
    /// The CSV file is malformed at a given line (wrong field count, bad UTF-8, bad quoting).
    #[error("table \"{table}\": CSV file {path}, line {line}: {message}")]
    Csv {
        /// The table id.
        table: String,
        /// The CSV file.
        path: PathBuf,
        /// The 1-based line number where the record starts.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// The existing rows are not unique under the requested primary key.
    #[error(
        "table \"{table}\": cannot set primary key ({primary_key}): the rows contain duplicate values"
    )]
    DuplicatePrimaryKey {
        /// The table id.
        table: String,
        /// The primary key columns, comma-separated.
        primary_key: String,
    },
    /// An option has an invalid value.
    #[error("{subject}: invalid {option}: {reason}")]
    InvalidOption {
        /// What the option was for (a table id, a file, ...).
        subject: String,
        /// The option name.
        option: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A user-supplied input file cannot be read.
    #[error("cannot read {what} {path}: {source}")]
    ReadInput {
        /// What the file was meant to be (`CSV file`, `file`, `component definition`, ...).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The Storage file does not exist.
    #[error("file {id} does not exist")]
    FileNotFound {
        /// The file id.
        id: u64,
    },
    /// A file id is not a positive integer.
    #[error("invalid file id \"{id}\": expected a positive integer")]
    InvalidFileId {
        /// The id as given.
        id: String,
    },
    /// A file query does not parse.
    #[error(
        "invalid file query \"{}\" at character {position}: {message}",
        excerpt(query)
    )]
    InvalidQuery {
        /// The query as given.
        query: String,
        /// 1-based character position of the problem.
        position: usize,
        /// What was expected or found.
        message: String,
    },
    /// The component is not defined.
    #[error("component \"{id}\" does not exist")]
    ComponentNotFound {
        /// The component id.
        id: String,
    },
    /// A component definition does not validate.
    #[error("invalid component definition{}: {message}", .id.as_ref().map(|id| format!(" \"{id}\"")).unwrap_or_default())]
    InvalidComponent {
        /// The component id, when known.
        id: Option<String>,
        /// What is wrong (serde names the unknown or mistyped key).
        message: String,
    },
    /// The configuration does not exist.
    #[error("configuration \"{config}\" of component \"{component}\" does not exist")]
    ConfigNotFound {
        /// The component id.
        component: String,
        /// The configuration id.
        config: String,
    },
    /// The configuration row does not exist.
    #[error(
        "row \"{row}\" of configuration \"{config}\" of component \"{component}\" does not exist"
    )]
    ConfigRowNotFound {
        /// The component id.
        component: String,
        /// The configuration id.
        config: String,
        /// The row id.
        row: String,
    },
    /// A configuration with this id already exists.
    #[error("configuration \"{config}\" of component \"{component}\" already exists")]
    ConfigExists {
        /// The component id.
        component: String,
        /// The configuration id.
        config: String,
    },
    /// A row with this id already exists in the configuration.
    #[error(
        "row \"{row}\" of configuration \"{config}\" of component \"{component}\" already exists"
    )]
    ConfigRowExists {
        /// The component id.
        component: String,
        /// The configuration id.
        config: String,
        /// The row id.
        row: String,
    },
    /// A component still has configurations and removing it was not forced.
    #[error(
        "component \"{id}\" has {configs} configuration(s) ({}); remove them first, or force the removal (`berth component rm --force`, `?force=true`) to delete them with it",
        .examples.join(", ")
    )]
    ComponentInUse {
        /// The component id.
        id: String,
        /// How many configurations it has.
        configs: usize,
        /// Some of their ids.
        examples: Vec<String>,
    },
    /// A configuration (or row, or state) document does not validate.
    #[error(
        "invalid {what} for configuration \"{config}\" of component \"{component}\": {message}"
    )]
    InvalidConfig {
        /// `configuration`, `row configuration`, `state`, `configuration id`.
        what: &'static str,
        /// The component id.
        component: String,
        /// The configuration id.
        config: String,
        /// What is wrong.
        message: String,
    },
    /// The job does not exist.
    #[error("job \"{id}\" does not exist")]
    JobNotFound {
        /// The job id.
        id: String,
    },
    /// The token does not exist.
    #[error("token \"{id}\" does not exist")]
    TokenNotFound {
        /// The token id.
        id: String,
    },
    /// Another process holds the Storage database.
    #[error("storage {path} is in use by another process: {message}")]
    Locked {
        /// The database file.
        path: PathBuf,
        /// DuckDB's message.
        message: String,
    },
    /// The database failed (not the caller's fault).
    #[error("storage database error while {stage} ({subject}): {source:#}")]
    Database {
        /// What Storage was doing.
        stage: &'static str,
        /// What it was doing it to.
        subject: String,
        /// The cause.
        #[source]
        source: anyhow::Error,
    },
    /// Disk I/O inside the Storage directory failed (not the caller's fault).
    #[error("storage I/O error while {stage} ({path}): {source}")]
    Io {
        /// What Storage was doing.
        stage: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl StorageError {
    /// True when the caller's input is at fault (exit code 1), false for internal failures of
    /// Storage itself (exit code 2).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, Self::Database { .. } | Self::Io { .. })
    }

    /// Wraps a database error with the stage and subject.
    pub(crate) fn db(
        stage: &'static str,
        subject: impl std::fmt::Display,
    ) -> impl FnOnce(duckdb::Error) -> Self {
        let subject = subject.to_string();
        move |source| Self::Database {
            stage,
            subject,
            source: source.into(),
        }
    }

    /// Wraps an I/O error inside the Storage directory.
    pub(crate) fn io(
        stage: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            stage,
            path,
            source,
        }
    }
}

/// The longest query an error message quotes whole; a longer one is cut (a configuration author
/// can write a query of megabytes, and the message is printed and stored).
const QUOTED_QUERY_CHARS: usize = 120;

/// `query`, or its start and its length when it is longer than [`QUOTED_QUERY_CHARS`].
fn excerpt(query: &str) -> String {
    let length = query.chars().count();
    if length <= QUOTED_QUERY_CHARS {
        return query.to_owned();
    }
    let start: String = query.chars().take(QUOTED_QUERY_CHARS).collect();
    format!("{start}… ({length} characters)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_query_is_quoted_cut() {
        let short = StorageError::InvalidQuery {
            query: "tags:(a".into(),
            position: 8,
            message: "expected \")\"".into(),
        };
        assert_eq!(
            short.to_string(),
            "invalid file query \"tags:(a\" at character 8: expected \")\""
        );
        let long = StorageError::InvalidQuery {
            query: "(".repeat(200_000),
            position: 65,
            message: "nests deeper than 64 levels".into(),
        };
        let text = long.to_string();
        assert!(text.len() < 300, "{}", text.len());
        assert!(
            text.ends_with("… (200000 characters)\" at character 65: nests deeper than 64 levels"),
            "{text}"
        );
    }
}
