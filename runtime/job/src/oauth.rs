//! OAuth credentials (reference §1.1 `authorization`): stored in the home per component
//! (`berth oauth add COMPONENT --file creds.json` → an id), their `#` values encrypted on the way
//! in through the secrets path (`KBC::ProjectSecure::` of the component), and injected into a job
//! whose configuration names them with `authorization.oauth_api.id` as
//! `authorization.oauth_api.credentials`, decrypted for the job (and hidden in its output).
//!
//! What reaches `config.json` of `authorization` is only `oauth_api.credentials` and `app_proxy`
//! (DB `Runner/Authorization`, ConfigFile): the OAuth `id` and `version`, a stored `workspace` and
//! a stored `context` are dropped.
//!
//! On the embedded Storage, credentials are kept as files, `oauth/<component>/<id>.json` under
//! the home (written to a temporary file and renamed, so a reader never sees half a file). On a
//! home put on PostgreSQL ([`Home::on_postgres`]) they are kept in the shared database instead,
//! so a job finds them on whichever node runs it. Either way ids and component ids are letters,
//! digits, `.`, `-` and `_`.

use std::fs;
use std::io;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value, json};

use berth_staging::{Stage, StagingError};

use crate::home::Home;
use crate::secrets::{self, JobSecrets, StoreError};

/// Why credentials could not be stored, listed or removed.
#[derive(Debug, thiserror::Error)]
pub enum OauthError {
    /// The input is at fault (exit 1): a bad id, unknown component, not an object.
    #[error("{0}")]
    Invalid(String),
    /// No such credentials.
    #[error("OAuth credentials \"{id}\" of component \"{component}\" were not found.")]
    NotFound {
        /// The component.
        component: String,
        /// The credentials id.
        id: String,
    },
    /// Encrypting or reading the component failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The files could not be read or written.
    #[error("OAuth credentials in {path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// What failed.
        #[source]
        source: io::Error,
    },
}

impl OauthError {
    /// Whether the user's input is at fault (exit 1) rather than berth (exit 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            Self::Invalid(_) | Self::NotFound { .. } => true,
            Self::Store(e) => e.is_user_error(),
            Self::Io { .. } => false,
        }
    }
}

/// Stored credentials as listed (never their values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OauthEntry {
    /// The component.
    pub component: String,
    /// The id a configuration names in `authorization.oauth_api.id`.
    pub id: String,
}

fn io_error(path: &std::path::Path) -> impl FnOnce(io::Error) -> OauthError + '_ {
    move |source| OauthError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Letters, digits, `.`, `-`, `_`; not empty, not `.` or `..`.
fn check_name(what: &str, name: &str) -> Result<(), OauthError> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(OauthError::Invalid(format!(
            "Invalid {what} \"{name}\": use letters, digits, '.', '-' and '_'."
        )))
    }
}

fn root(home: &Home) -> PathBuf {
    home.root().join("oauth")
}

fn file(home: &Home, component: &str, id: &str) -> Result<PathBuf, OauthError> {
    check_name("component id", component)?;
    check_name("credentials id", id)?;
    Ok(root(home).join(component).join(format!("{id}.json")))
}

/// Stores `credentials` for `component` (registered in Storage) under `id` (a new one when
/// `None`); returns the id. `#` values are encrypted first; existing credentials with the same
/// id are refused.
pub fn add(
    home: &Home,
    component: &str,
    id: Option<&str>,
    mut credentials: Value,
) -> Result<String, OauthError> {
    if !credentials.is_object() {
        return Err(OauthError::Invalid(
            "OAuth credentials must be a JSON object.".to_owned(),
        ));
    }
    let storage = home.open_storage().map_err(StoreError::from)?;
    storage.component(component).map_err(|e| match e {
        berth_storage::StorageError::ComponentNotFound { .. } => {
            OauthError::Invalid(format!("Component \"{component}\" not found."))
        }
        e => OauthError::Store(e.into()),
    })?;
    let id = match id {
        Some(id) => id.to_owned(),
        None => berth_exec::environment::new_run_id(),
    };
    let exists = || {
        OauthError::Invalid(format!(
            "OAuth credentials \"{id}\" of component \"{component}\" already exist."
        ))
    };
    let path = file(home, component, &id)?;
    if let Some(shared) = home.shared_storage() {
        drop(storage);
        // Encrypted with the key current while they are stored (no rotation in between).
        let mut db = shared.pool.get().map_err(database)?;
        db.hold_keys().map_err(database)?;
        secrets::encrypt_oauth_credentials(home, component, &mut credentials)?;
        let added = db
            .add_oauth_credentials(component, &id, &credentials)
            .map_err(database)?;
        return if added { Ok(id) } else { Err(exists()) };
    }
    // The embedded Storage stays open until the file is written: its lock keeps a key rotation
    // (and another process adding the same id) out meanwhile.
    if path.exists() {
        return Err(exists());
    }
    secrets::encrypt_oauth_credentials(home, component, &mut credentials)?;
    write_file(&path, &credentials)?;
    drop(storage);
    Ok(id)
}

/// Writes `credentials` to `path` through a temporary file and a rename (a reader never sees
/// half a file).
fn write_file(path: &std::path::Path, credentials: &Value) -> Result<(), OauthError> {
    let dir = path.parent().expect("a component folder");
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    let text = serde_json::to_string_pretty(credentials).expect("JSON serialises");
    fs::write(&tmp, text).map_err(io_error(&tmp))?;
    fs::rename(&tmp, path).map_err(io_error(path))
}

/// Master-key rotation on the embedded Storage: calls `rewrite` on every stored credentials
/// document of the home and writes back those it changed (it returns `true` for those), each
/// file replaced atomically. Returns how many changed. Runs before the new key is promoted, so
/// an interrupted rotation leaves every document readable and running it again finishes it.
pub(crate) fn rewrite_files(
    home: &Home,
    mut rewrite: impl FnMut(&mut Value) -> bool,
) -> Result<usize, OauthError> {
    let mut changed = 0;
    for entry in list(home, None)? {
        let mut credentials = load(home, &entry.component, &entry.id)?;
        if rewrite(&mut credentials) {
            write_file(&file(home, &entry.component, &entry.id)?, &credentials)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// The stored credentials (of `component`, or of every component), ordered.
pub fn list(home: &Home, component: Option<&str>) -> Result<Vec<OauthEntry>, OauthError> {
    if let Some(shared) = home.shared_storage() {
        if let Some(c) = component {
            check_name("component id", c)?;
        }
        let stored = shared
            .pool
            .get()
            .and_then(|db| db.list_oauth_credentials(component))
            .map_err(database)?;
        return Ok(stored
            .into_iter()
            .map(|(component, id)| OauthEntry { component, id })
            .collect());
    }
    let root = root(home);
    let components: Vec<String> = match component {
        Some(c) => {
            check_name("component id", c)?;
            vec![c.to_owned()]
        }
        None => match fs::read_dir(&root) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_error(&root)(e)),
        },
    };
    let mut out = Vec::new();
    for component in components {
        let dir = root.join(&component);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&dir)(e)),
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json").filter(|n| !n.starts_with('.')) {
                out.push(OauthEntry {
                    component: component.clone(),
                    id: id.to_owned(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.component, &a.id).cmp(&(&b.component, &b.id)));
    Ok(out)
}

/// Removes stored credentials.
pub fn remove(home: &Home, component: &str, id: &str) -> Result<(), OauthError> {
    let path = file(home, component, id)?;
    if let Some(shared) = home.shared_storage() {
        let removed = shared
            .pool
            .get()
            .and_then(|mut db| db.remove_oauth_credentials(component, id))
            .map_err(database)?;
        return if removed {
            Ok(())
        } else {
            Err(not_found(component, id))
        };
    }
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(not_found(component, id)),
        Err(e) => Err(io_error(&path)(e)),
    }
}

fn not_found(component: &str, id: &str) -> OauthError {
    OauthError::NotFound {
        component: component.to_owned(),
        id: id.to_owned(),
    }
}

/// The shared database failed (or refused the input: a NUL stays the user's error).
fn database(error: berth_postgres::PgError) -> OauthError {
    OauthError::Store(StoreError::Storage(error.into()))
}

/// The stored (still encrypted) credentials.
pub fn load(home: &Home, component: &str, id: &str) -> Result<Value, OauthError> {
    let path = file(home, component, id)?;
    if let Some(shared) = home.shared_storage() {
        return shared
            .pool
            .get()
            .and_then(|db| db.oauth_credentials(component, id))
            .map_err(database)?
            .ok_or_else(|| not_found(component, id));
    }
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(not_found(component, id));
        }
        Err(e) => return Err(io_error(&path)(e)),
    };
    serde_json::from_str(&text).map_err(|e| OauthError::Io {
        path: path.display().to_string(),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    })
}

/// Resolves `authorization` of a (decrypted) configuration document for the component: stored
/// credentials named by `oauth_api.id` fetched and decrypted, then only `oauth_api.credentials`
/// and `app_proxy` kept.
pub fn resolve_authorization(
    home: &Home,
    component: &str,
    document: &mut Value,
    secrets: &mut JobSecrets,
) -> Result<(), StagingError> {
    let Some(Value::Object(auth)) = document.get_mut("authorization") else {
        return Ok(());
    };
    let user = |m: String| StagingError::user(Stage::Configuration, component, m);
    let mut kept = Map::new();
    if let Some(oauth) = auth.get("oauth_api").filter(|v| !v.is_null()) {
        let given = oauth.get("credentials").filter(|c| !c.is_null()).cloned();
        let id = match oauth.get("id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let credentials = match (given, id) {
            (Some(credentials), _) => Some(credentials),
            (None, Some(id)) => {
                let mut stored = load(home, component, &id).map_err(|e| {
                    if e.is_user_error() {
                        user(e.to_string())
                    } else {
                        StagingError::app(Stage::Configuration, component, e)
                    }
                })?;
                secrets
                    .decrypt_oauth_credentials(&mut stored)
                    .map_err(|e| crate::runner::secret_error(Stage::Configuration, component, e))?;
                Some(stored)
            }
            (None, None) => None,
        };
        if let Some(credentials) = credentials {
            kept.insert("oauth_api".into(), json!({ "credentials": credentials }));
        }
    }
    if let Some(app_proxy) = auth.get("app_proxy").filter(|v| !v.is_null()) {
        kept.insert("app_proxy".into(), app_proxy.clone());
    }
    *auth = kept;
    Ok(())
}
