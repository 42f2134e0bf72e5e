//! The berth home: one directory holding everything berth keeps between runs.
//!
//! `$XDG_DATA_HOME/berth` (else `~/.local/share/berth`) by default, so every command of a user
//! sees one Storage wherever it runs; `--home DIR` or `BERTH_HOME` to override. Each subsystem
//! owns one subdirectory and creates it on first use.
//!
//! Storage is the home's embedded one (`storage/`, DuckDB) unless the home is put on a
//! PostgreSQL database several nodes share ([`Home::on_postgres`]); either way berth opens it
//! through [`Home::open_storage`] and [`Home::open_queue`], so jobs, actions and the server run
//! the same on both. The rest of the home (images, compiled modules, temporary job folders,
//! settings, the master key) stays a directory of this machine.

use std::path::{Path, PathBuf};

use berth_image::{ImageError, ImageStore, PullOptions};
use berth_postgres::PgPool;
use berth_storage::{Backend, JobQueue, Storage, StorageError};

/// The environment variable that overrides the default home directory.
pub const HOME_ENV: &str = "BERTH_HOME";

/// The environment variable that moves the build tools out of the home (see [`Home::tools`]).
pub const TOOLS_ENV: &str = "BERTH_TOOLS";

/// The home directory berth used by default before it followed the XDG base directories (and
/// still uses when neither `XDG_DATA_HOME` nor `HOME` is set), relative to the current directory.
pub const DEFAULT_HOME: &str = ".berth";

/// The home used when neither `--home` nor `BERTH_HOME` is given.
pub fn default_root() -> PathBuf {
    default_root_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

/// `XDG_DATA_HOME/berth` when that is an absolute path (the XDG spec ignores a relative one),
/// else `HOME/.local/share/berth`, else `./.berth`.
fn default_root_from(
    xdg_data_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> PathBuf {
    if let Some(xdg) = xdg_data_home.map(PathBuf::from).filter(|p| p.is_absolute()) {
        return xdg.join("berth");
    }
    match home.filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/berth"),
        None => PathBuf::from(DEFAULT_HOME),
    }
}

/// A resolved berth home directory, and where its Storage is.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
    shared: Option<SharedStorage>,
}

/// Storage in a PostgreSQL database several nodes share, as one node sees it.
#[derive(Debug, Clone)]
pub struct SharedStorage {
    /// Connections to the database.
    pub pool: PgPool,
    /// This node's name: what its claims and heartbeats are recorded under.
    pub node: String,
}

impl PartialEq for Home {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
            && self.shared.as_ref().map(|s| (s.pool.url(), &s.node))
                == other.shared.as_ref().map(|s| (s.pool.url(), &s.node))
    }
}

impl Eq for Home {}

impl Home {
    /// A home rooted at `root` (not created until a subsystem needs it), its Storage embedded.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            shared: None,
        }
    }

    /// This home with its Storage in the PostgreSQL database `pool` connects to, working as
    /// node `node`.
    pub fn on_postgres(mut self, pool: PgPool, node: impl Into<String>) -> Self {
        self.shared = Some(SharedStorage {
            pool,
            node: node.into(),
        });
        self
    }

    /// The shared PostgreSQL Storage, when the home is on one.
    pub fn shared_storage(&self) -> Option<&SharedStorage> {
        self.shared.as_ref()
    }

    /// Opens Storage: tables, files, tokens and the catalog.
    pub fn open_storage(&self) -> Result<Box<dyn Backend + Send>, StorageError> {
        Ok(match &self.shared {
            Some(shared) => Box::new(shared.pool.get()?),
            None => Box::new(Storage::open(self.storage())?),
        })
    }

    /// Opens the job queue (and the job records and events).
    pub fn open_queue(&self) -> Result<Box<dyn JobQueue + Send>, StorageError> {
        Ok(match &self.shared {
            Some(shared) => Box::new(shared.pool.get()?.for_node(shared.node.clone())),
            None => Box::new(Storage::open(self.storage())?),
        })
    }

    /// `explicit` if given, else `BERTH_HOME`, else [`default_root`]. A `./.berth` left in the
    /// current directory by an older berth is not used silently: a warning names it.
    pub fn resolve(explicit: Option<&Path>) -> Self {
        match explicit {
            Some(path) => Self::new(path),
            None => match std::env::var_os(HOME_ENV) {
                Some(value) if !value.is_empty() => Self::new(PathBuf::from(value)),
                _ => {
                    let root = default_root();
                    let local = Path::new(DEFAULT_HOME);
                    if root != local && local.join("storage").is_dir() {
                        tracing::warn!(
                            "using the berth home {}; the ./{DEFAULT_HOME} here is not used \
                             (pass --home {DEFAULT_HOME} or set BERTH_HOME to use it)",
                            root.display()
                        );
                    }
                    Self::new(root)
                }
            },
        }
    }

    /// The home directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Host-private cache of precompiled modules (never shared with artifacts).
    pub fn compiled_cache(&self) -> PathBuf {
        self.root.join("cache").join("compiled")
    }

    /// The embedded Storage's directory: tables (DuckDB), files, components and configurations
    /// (not used when the home is [on PostgreSQL](Home::on_postgres)).
    pub fn storage(&self) -> PathBuf {
        self.root.join("storage")
    }

    /// Local OCI image store (image-layout form).
    pub fn images(&self) -> PathBuf {
        self.root.join("images")
    }

    /// Build tools berth installs on first use (componentize-py for Python components):
    /// `BERTH_TOOLS` when set (one install shared by several homes), else `HOME/tools`.
    pub fn tools(&self) -> PathBuf {
        match std::env::var_os(TOOLS_ENV) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => self.root.join("tools"),
        }
    }

    /// The home's settings file (`settings.toml`).
    pub fn settings_file(&self) -> PathBuf {
        self.root.join(crate::settings::SETTINGS_FILE)
    }

    /// The home's settings (defaults when there is no settings file).
    pub fn settings(
        &self,
    ) -> Result<crate::settings::HomeSettings, crate::settings::SettingsError> {
        crate::settings::HomeSettings::load(&self.settings_file())
    }

    /// Pull options from the environment with this home's `[registry]` limits.
    pub fn pull_options(&self) -> Result<PullOptions, ImageError> {
        let mut options = PullOptions::from_env()?;
        let settings = self.settings().map_err(|e| ImageError::InvalidReference {
            stage: berth_image::Stage::Parse,
            reference: e.path.clone(),
            reason: e.reason.clone(),
        })?;
        options.settings.limits = settings.registry.apply(options.settings.limits);
        Ok(options)
    }

    /// The local image store, precompiling pulled modules into this home's compiled cache.
    pub fn image_store(&self) -> Result<ImageStore, ImageError> {
        ImageStore::open(&self.images(), &self.compiled_cache())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_home_follows_the_xdg_base_directories() {
        let some = |s: &str| Some(std::ffi::OsString::from(s));
        assert_eq!(
            default_root_from(some("/data/xdg"), some("/home/u")),
            PathBuf::from("/data/xdg/berth")
        );
        // A relative XDG_DATA_HOME is ignored, as the specification says.
        assert_eq!(
            default_root_from(some("relative"), some("/home/u")),
            PathBuf::from("/home/u/.local/share/berth")
        );
        assert_eq!(
            default_root_from(None, some("/home/u")),
            PathBuf::from("/home/u/.local/share/berth")
        );
        assert_eq!(default_root_from(None, None), PathBuf::from(".berth"));
        assert_eq!(default_root_from(None, some("")), PathBuf::from(".berth"));
    }
}
