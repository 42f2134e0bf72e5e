//! Cipher kinds and what they are bound to (reference §8.1).
//!
//! A cipher's prefix names its [`Kind`]; the kind says which attributes (component, project,
//! configuration, branch type) the cipher is bound to. A [`Scope`] is the set of attribute values
//! given when encrypting (the encrypt API's query parameters), and it decides the kind. A
//! [`Context`] is what a decryption knows (a job: its component, project, configuration and
//! branch type); a cipher opens only when every attribute it is bound to is in the context with
//! the same value — the "subset of the context" rule of §8.3.

use std::fmt;

/// The branch types a cipher can be bound to.
pub const BRANCH_TYPES: [&str; 2] = ["default", "dev"];

/// One attribute a cipher can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    /// The component id.
    Component,
    /// The project id.
    Project,
    /// The configuration id.
    Config,
    /// The branch type (`default` or `dev`).
    BranchType,
}

impl Attribute {
    /// How the attribute is named in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Component => "component",
            Self::Project => "project",
            Self::Config => "configuration",
            Self::BranchType => "branch type",
        }
    }
}

/// The cipher kinds berth makes and opens, one per prefix of §8.1 (the AWS family's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `KBC::Secure::`: the stack (the berth home's key) only.
    Secure,
    /// `KBC::ComponentSecure::`: a component.
    ComponentSecure,
    /// `KBC::ProjectSecure::`: a component in a project (the default for configurations).
    ProjectSecure,
    /// `KBC::ConfigSecure::`: one configuration of a component in a project.
    ConfigSecure,
    /// `KBC::ProjectWideSecure::`: a project, any component.
    ProjectWideSecure,
    /// `KBC::BranchTypeSecure::`: a component in a project, on one branch type.
    BranchTypeSecure,
    /// `KBC::BranchTypeConfigSecure::`: one configuration, on one branch type.
    BranchTypeConfigSecure,
    /// `KBC::ProjectWideBranchTypeSecure::`: a project, on one branch type.
    ProjectWideBranchTypeSecure,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 8] = [
        Kind::Secure,
        Kind::ComponentSecure,
        Kind::ProjectSecure,
        Kind::ConfigSecure,
        Kind::ProjectWideSecure,
        Kind::BranchTypeSecure,
        Kind::BranchTypeConfigSecure,
        Kind::ProjectWideBranchTypeSecure,
    ];

    /// The cipher prefix, e.g. `KBC::ProjectSecure::`.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Secure => "KBC::Secure::",
            Kind::ComponentSecure => "KBC::ComponentSecure::",
            Kind::ProjectSecure => "KBC::ProjectSecure::",
            Kind::ConfigSecure => "KBC::ConfigSecure::",
            Kind::ProjectWideSecure => "KBC::ProjectWideSecure::",
            Kind::BranchTypeSecure => "KBC::BranchTypeSecure::",
            Kind::BranchTypeConfigSecure => "KBC::BranchTypeConfigSecure::",
            Kind::ProjectWideBranchTypeSecure => "KBC::ProjectWideBranchTypeSecure::",
        }
    }

    /// The attributes a cipher of this kind is bound to, in the order they are stored.
    pub fn attributes(self) -> &'static [Attribute] {
        use Attribute::*;
        match self {
            Kind::Secure => &[],
            Kind::ComponentSecure => &[Component],
            Kind::ProjectSecure => &[Component, Project],
            Kind::ConfigSecure => &[Component, Project, Config],
            Kind::ProjectWideSecure => &[Project],
            Kind::BranchTypeSecure => &[Component, Project, BranchType],
            Kind::BranchTypeConfigSecure => &[Component, Project, Config, BranchType],
            Kind::ProjectWideBranchTypeSecure => &[Project, BranchType],
        }
    }

    /// The kind whose prefix `value` starts with.
    pub fn of(value: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| value.starts_with(k.prefix()))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix().trim_end_matches("::"))
    }
}

/// Prefixes berth recognises but cannot open: Keboola's legacy ciphers (§8.1: "recognised but no
/// longer implemented") and the other clouds' families (`…KV::`, `…GKMS::`), which are bound to
/// another stack's keys. A value starting with one is never encrypted again and never decrypts.
pub fn foreign_prefix(value: &str) -> Option<&'static str> {
    const LEGACY: [&str; 3] = [
        "KBC::Encrypted==",
        "KBC::ComponentEncrypted==",
        "KBC::ComponentProjectEncrypted==",
    ];
    const FAMILIES: [&str; 16] = [
        "KBC::SecureKV::",
        "KBC::ComponentSecureKV::",
        "KBC::ProjectSecureKV::",
        "KBC::ConfigSecureKV::",
        "KBC::ProjectWideSecureKV::",
        "KBC::BranchTypeSecureKV::",
        "KBC::BranchTypeConfigSecureKV::",
        "KBC::ProjectWideBranchTypeSecureKV::",
        "KBC::SecureGKMS::",
        "KBC::ComponentSecureGKMS::",
        "KBC::ProjectSecureGKMS::",
        "KBC::ConfigSecureGKMS::",
        "KBC::ProjectWideSecureGKMS::",
        "KBC::BranchTypeSecureGKMS::",
        "KBC::BranchTypeConfigSecureGKMS::",
        "KBC::ProjectWideBranchTypeSecureGKMS::",
    ];
    LEGACY
        .into_iter()
        .chain(FAMILIES)
        .find(|p| value.starts_with(p))
}

/// Whether `value` starts with a cipher prefix berth knows (its own or a foreign one): such a
/// value is left as it is by encryption (§8.1).
pub fn is_cipher(value: &str) -> bool {
    Kind::of(value).is_some() || foreign_prefix(value).is_some()
}

/// Attribute values: what a cipher is bound to when made ([`Scope`]), or what a decryption knows
/// ([`Context`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// The component id.
    pub component: Option<String>,
    /// The project id.
    pub project: Option<String>,
    /// The configuration id.
    pub config: Option<String>,
    /// The branch type, `default` or `dev`.
    pub branch_type: Option<String>,
}

impl Attributes {
    /// The value of `attribute`, if given.
    pub fn get(&self, attribute: Attribute) -> Option<&str> {
        match attribute {
            Attribute::Component => self.component.as_deref(),
            Attribute::Project => self.project.as_deref(),
            Attribute::Config => self.config.as_deref(),
            Attribute::BranchType => self.branch_type.as_deref(),
        }
        .filter(|v| !v.is_empty())
    }
}

/// What a decryption knows: a cipher opens when all it is bound to is here, with equal values.
pub type Context = Attributes;

/// Why a set of attributes cannot make a cipher (the encrypt API's parameter rules, §8.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScopeError(pub String);

/// What a new cipher is bound to: a valid combination of attributes, which decides its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    kind: Kind,
    values: Attributes,
}

impl Scope {
    /// The scope of the given attributes (empty strings count as not given), following the
    /// encrypt API: component → `ComponentSecure`; + project → `ProjectSecure`; + configuration →
    /// `ConfigSecure`; project alone → `ProjectWideSecure`; a branch type turns each project kind
    /// into its branch-type variant. A configuration or a branch type needs a project, and a
    /// configuration needs a component.
    pub fn new(values: Attributes) -> Result<Self, ScopeError> {
        let has = |a| values.get(a).is_some();
        use Attribute::*;
        if let Some(branch) = values.get(BranchType)
            && !BRANCH_TYPES.contains(&branch)
        {
            return Err(ScopeError(format!(
                "The branch type \"{branch}\" is not valid; use \"default\" or \"dev\"."
            )));
        }
        if has(Config) && !has(Project) {
            return Err(ScopeError(
                "A configuration id needs a project id.".to_owned(),
            ));
        }
        if has(BranchType) && !has(Project) {
            return Err(ScopeError("A branch type needs a project id.".to_owned()));
        }
        if has(Config) && !has(Component) {
            return Err(ScopeError(
                "A configuration id needs a component id.".to_owned(),
            ));
        }
        let kind = match (has(Component), has(Project), has(Config), has(BranchType)) {
            (false, false, _, _) => Kind::Secure,
            (true, false, _, _) => Kind::ComponentSecure,
            (true, true, false, false) => Kind::ProjectSecure,
            (true, true, true, false) => Kind::ConfigSecure,
            (true, true, false, true) => Kind::BranchTypeSecure,
            (true, true, true, true) => Kind::BranchTypeConfigSecure,
            (false, true, _, false) => Kind::ProjectWideSecure,
            (false, true, _, true) => Kind::ProjectWideBranchTypeSecure,
        };
        Ok(Self { kind, values })
    }

    /// `ComponentSecure` for `component`.
    pub fn component(component: &str) -> Self {
        Self {
            kind: Kind::ComponentSecure,
            values: Attributes {
                component: Some(component.to_owned()),
                ..Attributes::default()
            },
        }
    }

    /// `ProjectSecure` for `component` in `project` (configurations, rows, `configData`, state).
    pub fn project(component: &str, project: &str) -> Self {
        Self {
            kind: Kind::ProjectSecure,
            values: Attributes {
                component: Some(component.to_owned()),
                project: Some(project.to_owned()),
                ..Attributes::default()
            },
        }
    }

    /// The kind of cipher this scope makes.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The values bound, in the kind's attribute order.
    pub fn bound_values(&self) -> Vec<&str> {
        self.kind
            .attributes()
            .iter()
            .map(|a| self.values.get(*a).unwrap_or_default())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(c: &str, p: &str, cfg: &str, b: &str) -> Attributes {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Attributes {
            component: opt(c),
            project: opt(p),
            config: opt(cfg),
            branch_type: opt(b),
        }
    }

    #[test]
    fn parameters_pick_the_kind() {
        let kind = |c, p, cfg, b| Scope::new(attrs(c, p, cfg, b)).map(|s| s.kind());
        assert_eq!(kind("c", "", "", ""), Ok(Kind::ComponentSecure));
        assert_eq!(kind("c", "1", "", ""), Ok(Kind::ProjectSecure));
        assert_eq!(kind("c", "1", "9", ""), Ok(Kind::ConfigSecure));
        assert_eq!(kind("", "1", "", ""), Ok(Kind::ProjectWideSecure));
        assert_eq!(kind("c", "1", "", "dev"), Ok(Kind::BranchTypeSecure));
        assert_eq!(kind("c", "1", "9", "dev"), Ok(Kind::BranchTypeConfigSecure));
        assert_eq!(
            kind("", "1", "", "default"),
            Ok(Kind::ProjectWideBranchTypeSecure)
        );
        assert_eq!(kind("", "", "", ""), Ok(Kind::Secure));
        assert!(
            kind("c", "", "9", "").is_err(),
            "configuration without project"
        );
        assert!(
            kind("c", "", "", "dev").is_err(),
            "branch type without project"
        );
        assert!(
            kind("", "1", "9", "").is_err(),
            "configuration without component"
        );
        assert!(kind("c", "1", "", "prod").is_err(), "unknown branch type");
    }

    #[test]
    fn prefixes_are_recognised() {
        for kind in Kind::ALL {
            assert_eq!(Kind::of(&format!("{}abc", kind.prefix())), Some(kind));
        }
        assert!(is_cipher("KBC::Encrypted==abc"));
        assert!(is_cipher("KBC::ProjectSecureKV::abc"));
        assert!(!is_cipher("KBC::Something::abc"));
        assert!(!is_cipher("secret"));
    }
}
