//! The exit-code contract (reference §7.1): 0 is success, 1 is a user error, anything else is an
//! application error.

use std::fmt;

/// How a component's exit code is classified.
///
/// ```
/// use berth_host_api::ExitClass;
/// assert_eq!(ExitClass::from_code(0), ExitClass::Success);
/// assert_eq!(ExitClass::from_code(1), ExitClass::UserError);
/// assert_eq!(ExitClass::from_code(137), ExitClass::ApplicationError);
/// assert_eq!(ExitClass::UserError.code(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitClass {
    /// Exit code 0: the component finished successfully.
    Success,
    /// Exit code 1: the component reports a problem the user can fix; its message is shown.
    UserError,
    /// Any other exit code (2 or more, or negative): a bug or crash; the message is hidden.
    ApplicationError,
}

impl ExitClass {
    /// Classifies an exit code: 0 → success, 1 → user error, anything else → application error.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => Self::Success,
            1 => Self::UserError,
            _ => Self::ApplicationError,
        }
    }

    /// The canonical exit code of the class: 0, 1 or 2.
    pub fn code(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::UserError => 1,
            Self::ApplicationError => 2,
        }
    }

    /// The lower-case name used in job results: `success`, `user` or `application`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::UserError => "user",
            Self::ApplicationError => "application",
        }
    }
}

impl fmt::Display for ExitClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Success => "success",
            Self::UserError => "user error",
            Self::ApplicationError => "application error",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        for (code, class) in [
            (0, ExitClass::Success),
            (1, ExitClass::UserError),
            (2, ExitClass::ApplicationError),
            (255, ExitClass::ApplicationError),
            (-1, ExitClass::ApplicationError),
            (i32::MIN, ExitClass::ApplicationError),
        ] {
            assert_eq!(ExitClass::from_code(code), class, "code {code}");
        }
        for class in [
            ExitClass::Success,
            ExitClass::UserError,
            ExitClass::ApplicationError,
        ] {
            assert_eq!(ExitClass::from_code(class.code()), class);
        }
        assert_eq!(ExitClass::UserError.to_string(), "user error");
    }
}
