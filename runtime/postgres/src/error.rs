//! The error type at the crate boundary: every variant names the stage and the subject (the
//! database URL without its password, the job id) so a message alone says what went wrong.

use berth_storage::StorageError;

/// An error from the PostgreSQL backend.
///
/// [`PgError::is_user_error`] separates what the caller got wrong (a malformed URL, an unknown
/// job: exit 1) from failures of the database or of this node's schema (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The storage URL is not a `postgres://` or `postgresql://` URL PostgreSQL accepts.
    #[error("invalid PostgreSQL URL \"{url}\": {reason}")]
    InvalidUrl {
        /// The URL as given, its password replaced by `***`.
        url: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The server could not be reached, or refused the connection.
    #[error("cannot connect to PostgreSQL at {url}: {}", chain(source))]
    Connect {
        /// The URL, its password replaced by `***`.
        url: String,
        /// The driver's error.
        #[source]
        source: postgres::Error,
    },
    /// The database was migrated by a newer berth: this binary does not know its schema and
    /// refuses to touch it.
    #[error(
        "the PostgreSQL database at {url} has schema version {found}, newer than the {known} this berth knows; upgrade berth on this node (the database was left unchanged)"
    )]
    SchemaTooNew {
        /// The URL, its password replaced by `***`.
        url: String,
        /// The version found in the database.
        found: i32,
        /// The newest version this binary has.
        known: i32,
    },
    /// A node tried to change a job another node holds, or one that ended without it (the sweep
    /// ended it after its heartbeats stopped).
    #[error(
        "job {id} is no longer this node's to record: it is {status}{}",
        holder.as_deref().map(|n| format!(" on node \"{n}\"")).unwrap_or_default()
    )]
    JobNotHeld {
        /// The job.
        id: String,
        /// Its status now.
        status: berth_storage::JobStatus,
        /// The node the database has for it.
        holder: Option<String>,
    },
    /// An error Storage defines (an unknown job, a status the database holds that is not one).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The database failed (not the caller's fault).
    #[error("PostgreSQL error while {stage} ({subject}): {}", chain(source))]
    Database {
        /// What the backend was doing.
        stage: &'static str,
        /// What it was doing it to.
        subject: String,
        /// The driver's error (its message is the server's, with SQLSTATE).
        #[source]
        source: postgres::Error,
    },
}

impl PgError {
    /// True when the caller's input is at fault (exit code 1), false for failures of the
    /// database or its schema (exit code 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            Self::InvalidUrl { .. } => true,
            Self::Storage(e) => e.is_user_error(),
            Self::Connect { .. }
            | Self::SchemaTooNew { .. }
            | Self::Database { .. }
            | Self::JobNotHeld { .. } => false,
        }
    }

    /// Wraps a driver error with the stage and subject.
    pub(crate) fn db(
        stage: &'static str,
        subject: impl std::fmt::Display,
    ) -> impl FnOnce(postgres::Error) -> Self {
        let subject = subject.to_string();
        move |source| {
            // Text PostgreSQL cannot hold (a NUL character) is the caller's input, not a failure
            // of the database.
            if source.code() == Some(&postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE) {
                let detail = source
                    .as_db_error()
                    .map_or_else(|| source.to_string(), |e| e.message().to_owned());
                return Self::Storage(StorageError::InvalidOption {
                    reason: format!(
                        "{stage} ({subject}): PostgreSQL text cannot hold a NUL character \
                         ({detail})"
                    ),
                    subject,
                    option: "text",
                });
            }
            Self::Database {
                stage,
                subject,
                source,
            }
        }
    }

    /// The job `id` does not exist.
    pub(crate) fn job_not_found(id: &str) -> Self {
        Self::Storage(StorageError::JobNotFound { id: id.to_owned() })
    }
}

/// How a PostgreSQL error crosses the backend-neutral [`berth_storage::JobQueue`] interface:
/// what Storage defines stays itself (an unknown job is [`StorageError::JobNotFound`]); a bad URL
/// is a user error ([`StorageError::InvalidOption`]); the database failing, unreachable, or
/// migrated by a newer berth is [`StorageError::Database`] with the stage and subject and the
/// driver's error (prefixed `PostgreSQL`) as its source — so [`StorageError::is_user_error`]
/// answers as [`PgError::is_user_error`] did.
impl From<PgError> for StorageError {
    fn from(error: PgError) -> Self {
        let driver = |source: postgres::Error| anyhow::Error::new(source).context("PostgreSQL");
        match error {
            PgError::Storage(e) => e,
            PgError::InvalidUrl { url, reason } => StorageError::InvalidOption {
                subject: url,
                option: "PostgreSQL URL",
                reason,
            },
            PgError::Database {
                stage,
                subject,
                source,
            } => StorageError::Database {
                stage,
                subject,
                source: driver(source),
            },
            PgError::Connect { url, source } => StorageError::Database {
                stage: "connecting to PostgreSQL",
                subject: url,
                source: driver(source),
            },
            PgError::JobNotHeld { ref id, .. } => {
                let subject = id.clone();
                StorageError::Database {
                    stage: "recording a job",
                    subject,
                    source: anyhow::Error::new(error),
                }
            }
            PgError::SchemaTooNew { ref url, .. } => {
                let subject = url.clone();
                StorageError::Database {
                    stage: "checking the schema version",
                    subject,
                    source: anyhow::Error::new(error),
                }
            }
        }
    }
}

/// The driver's error with its causes (the driver's own text is only "db error", "error
/// connecting to server", …; the server's message and the I/O error are its sources).
fn chain(error: &postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
