//! [`Error`]: what a component handler returns. [`Error::User`] is a problem the user can fix
//! (exit 1, the message is shown to them); every other variant is an application error (exit 2).

use std::path::Path;

use berth_host_api::{ContractError, ExitClass};

/// A component's failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A problem the user can fix: bad parameters, a missing input table, a malformed row.
    /// The runner shows the message to the user; the component exits with 1.
    #[error("{0}")]
    User(String),
    /// File-system failure, naming the path.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// CSV reading or writing failure, naming the table.
    #[error("{context}: {source}")]
    Csv {
        /// What was being done, naming the table.
        context: String,
        /// The underlying error.
        #[source]
        source: csv::Error,
    },
    /// A contract file (config.json, a manifest, state, usage) that does not parse.
    #[error(transparent)]
    Contract(#[from] ContractError),
    /// Any other application error.
    #[error("{0}")]
    Application(String),
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A user error (exit 1) with this message.
    pub fn user(message: impl Into<String>) -> Self {
        Self::User(message.into())
    }

    /// An application error (exit 2) with this message.
    pub fn application(message: impl Into<String>) -> Self {
        Self::Application(message.into())
    }

    /// Whether this is a user error.
    pub fn is_user(&self) -> bool {
        matches!(self, Self::User(_))
    }

    /// The exit class: [`ExitClass::UserError`] for [`Error::User`], else
    /// [`ExitClass::ApplicationError`].
    pub fn exit_class(&self) -> ExitClass {
        if self.is_user() {
            ExitClass::UserError
        } else {
            ExitClass::ApplicationError
        }
    }

    pub(crate) fn io(action: &str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            context: format!("{action} \"{}\"", path.display()),
            source,
        }
    }
}

/// Builds an [`Error::User`] from a format string: `return Err(user_error!("bad row {n}"))`.
#[macro_export]
macro_rules! user_error {
    ($($arg:tt)*) => {
        $crate::Error::User(::std::format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(
            crate::user_error!("x {}", 1).exit_class(),
            ExitClass::UserError
        );
        assert_eq!(Error::user("x").to_string(), "x");
        assert_eq!(
            Error::application("y").exit_class(),
            ExitClass::ApplicationError
        );
        let io = Error::io(
            "reading",
            Path::new("/data/a"),
            std::io::ErrorKind::NotFound.into(),
        );
        assert!(io.to_string().starts_with("reading \"/data/a\": "));
        assert_eq!(io.exit_class(), ExitClass::ApplicationError);
    }
}
