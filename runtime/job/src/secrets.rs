//! Secrets in berth's jobs and Storage (reference §7.4, §8; seed 003): the one place values under
//! `#` keys are encrypted on the way in, decrypted for a job, and hidden afterwards. The CLI and
//! the server both come through here.
//!
//! On the way in ([`create_config`], [`update_config`], [`add_row`], [`update_row`],
//! [`set_state`], [`add_component`], [`update_component`], [`encrypt_config_data`]):
//! - configurations and rows: `KBC::ProjectSecure::` (component + the home's project), the
//!   default for configurations;
//! - `configData` of a job: the same, when the job is submitted (and decrypted again for the run);
//! - component `image_parameters` and `stack_parameters`: `KBC::ComponentSecure::` (component
//!   only: seed 003 says image parameters must be encrypted for the component alone);
//! - OAuth credentials: they are part of the configuration (`authorization.oauth_api`), so they
//!   are encrypted with it; credentials fetched from elsewhere go through
//!   [`JobSecrets::decrypt_oauth_credentials`].
//!
//! For a job ([`JobSecrets`]): the configuration and the stored component state are decrypted with
//! the job's context (component, project, configuration, branch type `default`), image parameters
//! with the component alone; every decrypted value, and a forwarded `KBC_TOKEN`, goes to the job's
//! [`Redactor`], which the executors get as their output filter and which redacts the job record,
//! the kept data folder and the debug archives. `out/state.json` is encrypted with
//! `KBC::ProjectSecure::` before it is stored (seed 003; the issue said "config scope", the seed
//! wins).
//!
//! [`encrypt`] is `berth encrypt` and `POST /encrypt`; [`rotate`] is `berth key rotate`.
//!
//! Key rotation and everyone else: what stores a cipher holds the Storage handle it stores with
//! from before it reads the key, and a job holds the handle it reads its configuration with until
//! it has decrypted it ([`berth_storage::Catalog::hold_keys`]: on the embedded Storage its file
//! lock, on PostgreSQL a lock in the database), so no cipher is made with a key being replaced
//! and none is read across a promotion. A job's keyring read before a rotation goes back to the
//! key files once when a document read later names a key it lacks.

use std::sync::Arc;

use berth_exec::{OutputFilter, StreamFilter};
use berth_secrets::keys::KeyFiles;
use berth_secrets::registry::{self, Registration};
use berth_secrets::walk::{self, secret_values};
use berth_secrets::{
    Attributes, Context, Keyring, Kind, Redactor, Scope, SecretError, StreamRedactor,
};
use berth_storage::{Catalog, ComponentDefinition, NewConfig, RewriteError, StorageError};
use serde_json::{Map, Value};

use crate::home::Home;
use crate::settings::SettingsError;

/// The branch type of every berth job (berth has no development branches yet).
pub const BRANCH_TYPE: &str = "default";

/// Why storing or encrypting failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A secret could not be encrypted (a legacy cipher, bad encrypt parameters, no key).
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Storage refused or failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The home's settings are unusable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// Stored OAuth credentials could not be re-encrypted (a key rotation).
    #[error(transparent)]
    Oauth(Box<crate::oauth::OauthError>),
}

impl StoreError {
    /// Whether the user's input is at fault (exit 1) rather than berth (exit 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            Self::Secret(e) => e.is_user_error(),
            Self::Storage(e) => e.is_user_error(),
            Self::Settings(_) => true,
            Self::Oauth(e) => e.is_user_error(),
        }
    }
}

/// The home's key files.
pub fn key_files(home: &Home) -> KeyFiles {
    KeyFiles::for_home(home.root())
}

/// The keyring for encrypting: the master key is created on first use.
pub fn keyring_for_encryption(home: &Home) -> Result<Keyring, SecretError> {
    Ok(key_files(home).open_or_create()?)
}

/// Encrypts `document` for `scope` when it holds any `#` value to encrypt (no key is created for a
/// document without secrets).
fn encrypt_if_needed(home: &Home, document: &mut Value, scope: &Scope) -> Result<(), SecretError> {
    let needs = secret_values(document)
        .iter()
        .any(|v| Kind::of(v).is_none());
    if needs {
        walk::encrypt_document(document, &keyring_for_encryption(home)?, scope)?;
    }
    Ok(())
}

/// The scope of configurations, rows, `configData` and state: `ProjectSecure`.
fn project_scope(home: &Home, component_id: &str) -> Result<Scope, SettingsError> {
    Ok(Scope::project(component_id, &home.settings()?.project.id))
}

/// Encrypts the `#` values of OAuth credentials stored for `component_id`
/// (`KBC::ProjectSecure::`, as configurations: any configuration of the component may use them).
pub fn encrypt_oauth_credentials(
    home: &Home,
    component_id: &str,
    credentials: &mut Value,
) -> Result<(), StoreError> {
    let scope = project_scope(home, component_id)?;
    encrypt_if_needed(home, credentials, &scope)?;
    Ok(())
}

/// Encrypts the `#` values of a configuration and its rows (`KBC::ProjectSecure::`).
pub fn encrypt_config(
    home: &Home,
    component_id: &str,
    new: &mut NewConfig,
) -> Result<(), StoreError> {
    let scope = project_scope(home, component_id)?;
    encrypt_if_needed(home, &mut new.configuration, &scope)?;
    for row in &mut new.rows {
        encrypt_if_needed(home, &mut row.configuration, &scope)?;
    }
    Ok(())
}

/// Stores a configuration with its `#` values encrypted; returns its id.
pub fn create_config(
    home: &Home,
    storage: &mut dyn Catalog,
    component_id: &str,
    mut new: NewConfig,
) -> Result<String, StoreError> {
    storage.hold_keys()?;
    encrypt_config(home, component_id, &mut new)?;
    Ok(storage.create_config(component_id, &new)?)
}

/// Changes a stored configuration, a new document's `#` values encrypted as at creation.
pub fn update_config(
    home: &Home,
    storage: &mut dyn Catalog,
    component_id: &str,
    config_id: &str,
    mut update: berth_storage::ConfigUpdate,
) -> Result<berth_storage::Config, StoreError> {
    if let Some(configuration) = &mut update.configuration {
        let scope = project_scope(home, component_id)?;
        storage.hold_keys()?;
        encrypt_if_needed(home, configuration, &scope)?;
    }
    Ok(storage.update_config(component_id, config_id, &update)?)
}

/// Adds a row to a stored configuration, its `#` values encrypted as at creation.
pub fn add_row(
    home: &Home,
    storage: &mut dyn Catalog,
    component_id: &str,
    config_id: &str,
    mut row: berth_storage::NewConfigRow,
) -> Result<berth_storage::ConfigRow, StoreError> {
    let scope = project_scope(home, component_id)?;
    storage.hold_keys()?;
    encrypt_if_needed(home, &mut row.configuration, &scope)?;
    Ok(storage.add_row(component_id, config_id, &row)?)
}

/// Changes a row, a new document's `#` values encrypted as at creation.
pub fn update_row(
    home: &Home,
    storage: &mut dyn Catalog,
    component_id: &str,
    config_id: &str,
    row_id: &str,
    mut update: berth_storage::RowUpdate,
) -> Result<berth_storage::ConfigRow, StoreError> {
    if let Some(configuration) = &mut update.configuration {
        let scope = project_scope(home, component_id)?;
        storage.hold_keys()?;
        encrypt_if_needed(home, configuration, &scope)?;
    }
    Ok(storage.update_row(component_id, config_id, row_id, &update)?)
}

/// Replaces the stored state of a configuration (or `row_id`), its `#` values encrypted
/// (`KBC::ProjectSecure::`, as the state a job leaves).
pub fn set_state(
    home: &Home,
    storage: &mut dyn Catalog,
    component_id: &str,
    config_id: &str,
    row_id: Option<&str>,
    state: berth_storage::State,
) -> Result<(), StoreError> {
    let scope = project_scope(home, component_id)?;
    let mut value = serde_json::to_value(&state).map_err(|err| StorageError::Database {
        stage: "serialising the state",
        subject: format!("{component_id}/{config_id}"),
        source: err.into(),
    })?;
    storage.hold_keys()?;
    encrypt_if_needed(home, &mut value, &scope)?;
    let state: berth_storage::State =
        serde_json::from_value(value).map_err(|err| StorageError::Database {
            stage: "serialising the state",
            subject: format!("{component_id}/{config_id}"),
            source: err.into(),
        })?;
    Ok(storage.set_state(component_id, config_id, row_id, &state)?)
}

/// Replaces an existing component's definition, its `#` parameters encrypted as at
/// registration.
pub fn update_component(
    home: &Home,
    storage: &mut dyn Catalog,
    mut definition: ComponentDefinition,
) -> Result<(), StoreError> {
    storage.hold_keys()?;
    encrypt_component(home, &mut definition)?;
    Ok(storage.update_component(&definition)?)
}

/// Encrypts the `#` values of a component's image and stack parameters
/// (`KBC::ComponentSecure::`).
pub fn encrypt_component(
    home: &Home,
    definition: &mut ComponentDefinition,
) -> Result<(), StoreError> {
    let scope = Scope::component(&definition.id);
    for params in [
        &mut definition.image_parameters,
        &mut definition.stack_parameters,
    ] {
        let mut value = Value::Object(std::mem::take(params));
        let result = encrypt_if_needed(home, &mut value, &scope);
        if let Value::Object(map) = value {
            *params = map;
        }
        result?;
    }
    Ok(())
}

/// Registers a component with its `#` parameters encrypted; true when one was replaced.
pub fn add_component(
    home: &Home,
    storage: &mut dyn Catalog,
    mut definition: ComponentDefinition,
) -> Result<bool, StoreError> {
    storage.hold_keys()?;
    encrypt_component(home, &mut definition)?;
    Ok(storage.add_component(&definition)?)
}

/// `configData` as a job is submitted: its `#` values encrypted (`KBC::ProjectSecure::`).
pub fn encrypt_config_data(
    home: &Home,
    component_id: &str,
    mut document: Value,
) -> Result<Value, StoreError> {
    let scope = project_scope(home, component_id)?;
    encrypt_if_needed(home, &mut document, &scope)?;
    Ok(document)
}

/// The parameters of an encryption (`berth encrypt`, `POST /encrypt?componentId=&projectId=&
/// configId=&branchType=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptRequest {
    /// `componentId`.
    pub component_id: Option<String>,
    /// `projectId`: must be the home's project when given.
    pub project_id: Option<String>,
    /// `configId`.
    pub config_id: Option<String>,
    /// `branchType`: `default` or `dev`.
    pub branch_type: Option<String>,
}

/// What to encrypt.
#[derive(Debug, Clone, PartialEq)]
pub enum EncryptInput {
    /// `text/plain`: the whole string.
    Text(String),
    /// `application/json`: only the `#` scalars of the document.
    Json(Value),
}

/// `berth encrypt` and `POST /encrypt` (reference §9.4): the text or the document's `#` values as
/// ciphers of the scope the parameters select (§8.1). There is no way back.
pub fn encrypt(
    home: &Home,
    request: &EncryptRequest,
    input: EncryptInput,
) -> Result<EncryptInput, StoreError> {
    let project = home.settings()?.project.id;
    if let Some(asked) = request.project_id.as_deref().filter(|p| !p.is_empty())
        && asked != project
    {
        return Err(SecretError::Scope(berth_secrets::ScopeError(format!(
            "Project \"{asked}\" is not this berth home's project (\"{project}\")."
        )))
        .into());
    }
    let scope = Scope::new(Attributes {
        component: request.component_id.clone(),
        project: request.project_id.clone(),
        config: request.config_id.clone(),
        branch_type: request.branch_type.clone(),
    })
    .map_err(SecretError::from)?;
    if scope.kind() == Kind::Secure {
        return Err(SecretError::Scope(berth_secrets::ScopeError(
            "Specify a component id or a project id.".to_owned(),
        ))
        .into());
    }
    let keyring = keyring_for_encryption(home)?;
    Ok(match input {
        EncryptInput::Text(text) => {
            if berth_secrets::scope::is_cipher(&text) {
                // Re-encrypting a cipher leaves it; a legacy one is refused.
                let mut probe = serde_json::json!({"#value": text});
                walk::encrypt_document(&mut probe, &keyring, &scope)?;
                EncryptInput::Text(text)
            } else {
                EncryptInput::Text(berth_secrets::cipher::encrypt(&keyring, &scope, &text)?)
            }
        }
        EncryptInput::Json(mut value) => {
            walk::encrypt_document(&mut value, &keyring, &scope)?;
            EncryptInput::Json(value)
        }
    })
}

/// The secrets of one job: the keys (read when the first cipher needs them), what the job's
/// values may be decrypted for, and everything decrypted so far, to hide.
pub struct JobSecrets {
    files: KeyFiles,
    keyring: Option<Keyring>,
    context: Context,
    project_id: String,
    component_id: String,
    values: Vec<String>,
    redactor: Redactor,
    registration: Option<Registration>,
}

impl std::fmt::Debug for JobSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobSecrets")
            .field("context", &self.context)
            .field("values", &self.values.len())
            .finish()
    }
}

impl JobSecrets {
    /// The secrets of a job of `component_id` with `config_id` in `project_id` of `home`.
    pub fn new(home: &Home, component_id: &str, project_id: &str, config_id: Option<&str>) -> Self {
        Self {
            files: key_files(home),
            keyring: None,
            context: Attributes {
                component: Some(component_id.to_owned()),
                project: Some(project_id.to_owned()),
                config: config_id.map(str::to_owned),
                branch_type: Some(BRANCH_TYPE.to_owned()),
            },
            project_id: project_id.to_owned(),
            component_id: component_id.to_owned(),
            values: Vec::new(),
            redactor: Redactor::default(),
            registration: None,
        }
    }

    /// The keyring; a missing key is an error only when a berth cipher needs it (a plain `#`
    /// value is the user's error whether or not a key exists).
    fn keyring_for(&mut self, document: &Value) -> Result<&Keyring, SecretError> {
        if self.keyring.is_none() {
            let keyring = match self.files.open() {
                Ok(keyring) => keyring,
                Err(berth_secrets::KeyError::Missing { .. })
                    if !secret_values(document)
                        .iter()
                        .any(|v| Kind::of(v).is_some()) =>
                {
                    // Nothing here can open with any key: a throwaway key gives the user's error.
                    return Ok(self
                        .keyring
                        .insert(Keyring::single(berth_secrets::MasterKey::generate()?)));
                }
                Err(e) => return Err(e.into()),
            };
            self.keyring = Some(keyring);
        }
        Ok(self.keyring.as_ref().expect("set above"))
    }

    fn decrypt_with(&mut self, document: &mut Value, context: Context) -> Result<(), SecretError> {
        if secret_values(document).is_empty() {
            return Ok(());
        }
        // A keyring read earlier in the job may predate a rotation whose ciphers this document
        // (read later) carries: a key it does not know sends it back to the key files once.
        let retry = self.keyring.is_some().then(|| document.clone());
        let mut found = Vec::new();
        let keyring = self.keyring_for(document)?;
        let mut result = walk::decrypt_document(document, keyring, &context, &mut found);
        if let (Some(original), Err(SecretError::NotEncrypted { reason, .. })) = (retry, &result)
            && matches!(reason, berth_secrets::Refusal::UnknownKey(_))
        {
            *document = original;
            found.clear();
            self.keyring = None;
            let keyring = self.keyring_for(document)?;
            result = walk::decrypt_document(document, keyring, &context, &mut found);
        }
        self.remember(found);
        result
    }

    /// Decrypts a job's configuration (stored, merged with its row, or `configData`).
    pub fn decrypt_config(&mut self, document: &mut Value) -> Result<(), SecretError> {
        self.decrypt_with(document, self.context.clone())
    }

    /// Decrypts the stored component state for `in/state.json`.
    pub fn decrypt_state(&mut self, state: &mut Value) -> Result<(), SecretError> {
        self.decrypt_with(state, self.context.clone())
    }

    /// Decrypts the component's image parameters: for the component alone (seed 003: ciphers
    /// made with a project or configuration are unusable there).
    pub fn decrypt_image_parameters(
        &mut self,
        parameters: &mut Map<String, Value>,
    ) -> Result<(), SecretError> {
        let component = self.component_id.clone();
        self.decrypt_image_parameters_of(&component, parameters)
    }

    /// Decrypts the image parameters of another component of the job (a processor: each gets
    /// its own component's, reference §1.3), for that component alone.
    pub fn decrypt_image_parameters_of(
        &mut self,
        component_id: &str,
        parameters: &mut Map<String, Value>,
    ) -> Result<(), SecretError> {
        let context = Attributes {
            component: Some(component_id.to_owned()),
            ..Attributes::default()
        };
        let mut value = Value::Object(std::mem::take(parameters));
        let result = self.decrypt_with(&mut value, context);
        if let Value::Object(map) = value {
            *parameters = map;
        }
        result
    }

    /// Decrypts OAuth credentials fetched for the job (issue 14 brings them; credentials stored in
    /// the configuration are decrypted with it).
    pub fn decrypt_oauth_credentials(
        &mut self,
        credentials: &mut Value,
    ) -> Result<(), SecretError> {
        self.decrypt_with(credentials, self.context.clone())
    }

    /// Hides `token` too (a forwarded `KBC_TOKEN`).
    pub fn add_token(&mut self, token: &str) {
        self.remember(vec![token.to_owned()]);
    }

    fn remember(&mut self, found: Vec<String>) {
        let new: Vec<String> = found
            .into_iter()
            .filter(|v| !v.is_empty() && !self.values.contains(v))
            .collect();
        if new.is_empty() {
            return;
        }
        self.values.extend(new);
        self.redactor = Redactor::new(&self.values);
        self.registration = Some(registry::register(&self.redactor));
    }

    /// Encrypts the `#` values of a state the component left (`KBC::ProjectSecure::`, seed 003),
    /// with the home's current key read now (a rotation may have happened while the job ran).
    pub fn encrypt_state(&mut self, state: &mut Value) -> Result<(), SecretError> {
        let needs = secret_values(state).iter().any(|v| Kind::of(v).is_none());
        if needs {
            let keyring = self.files.open_or_create()?;
            walk::encrypt_document(
                state,
                &keyring,
                &Scope::project(&self.component_id, &self.project_id),
            )?;
        }
        Ok(())
    }

    /// Everything to hide so far.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The output filter for the executors: the job's redactor as it is now.
    pub fn output_filter(&self) -> Arc<dyn OutputFilter> {
        Arc::new(RedactingFilter(self.redactor.clone()))
    }
}

/// The exec crate's output hook, hiding a job's secrets.
#[derive(Debug)]
struct RedactingFilter(Redactor);

impl OutputFilter for RedactingFilter {
    fn stream(&self) -> Box<dyn StreamFilter> {
        Box::new(RedactingStream(self.0.stream()))
    }
}

struct RedactingStream(StreamRedactor);

impl StreamFilter for RedactingStream {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.0.push(input, out);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.0.finish(out);
    }
}

/// What `berth key rotate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The key that was current before.
    pub old_key: String,
    /// The key that is current now.
    pub new_key: String,
    /// Whether an interrupted rotation was finished (its new key reused).
    pub resumed: bool,
    /// How many stored documents changed.
    pub documents: usize,
    /// How many ciphers were re-encrypted.
    pub ciphers: usize,
    /// Stored ciphers that open with no key of this home, left as they were.
    pub skipped: usize,
}

/// Points where a test can stop a rotation (`BERTH_FAILPOINT=rotate:<point>`, in test builds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationPoint {
    /// The new key is written; nothing is re-encrypted yet.
    KeyWritten,
    /// Inside the transaction, after the first document was rewritten.
    InTransaction,
    /// The transaction is committed; the new key is not promoted yet.
    Committed,
}

/// `berth key rotate`: a new master key, every stored cipher re-encrypted under it in one Storage
/// transaction (and, on the embedded Storage, the OAuth credentials files of the home, each
/// replaced atomically), then the new key promoted. A rotation stopped at any point leaves every
/// cipher readable (both keys are used until the promotion), and running it again finishes it.
///
/// What keeps everyone else out meanwhile: the embedded Storage's file lock, or, on PostgreSQL,
/// the database's master-key lock taken exclusively (every node holds it shared while it encrypts
/// what it stores or decrypts what it read: [`berth_storage::Catalog::hold_keys`]). Nodes sharing
/// a database must read one key file (`BERTH_MASTER_KEY_FILE` on a shared path) for the new key
/// to reach them.
pub fn rotate(home: &Home, mut at: impl FnMut(RotationPoint)) -> Result<Rotation, StoreError> {
    // Storage first: its lock keeps other berth processes (or nodes) out until the new key is
    // promoted.
    let mut storage = home.open_storage()?;
    storage.hold_keys_for_rotation()?;
    let files = key_files(home);
    let keyring = files.open_or_create().map_err(SecretError::from)?;
    let old_key = keyring.current().id_hex();
    let (target, resumed) = files.begin_rotation().map_err(SecretError::from)?;
    at(RotationPoint::KeyWritten);
    let keyring = files.open().map_err(SecretError::from)?;
    let mut ciphers = 0;
    let mut skipped = 0;
    let mut seen = 0;
    let mut reencrypt = |value: &mut Value| {
        let done = walk::reencrypt_document(value, &keyring, &target);
        ciphers += done.changed;
        skipped += done.skipped;
        done.changed > 0
    };
    let mut changed = storage
        .rewrite_documents(&mut |_, value| {
            seen += 1;
            if seen == 2 {
                at(RotationPoint::InTransaction);
            }
            Ok(reencrypt(value))
        })
        .map_err(|e| match e {
            RewriteError::Storage(e) => StoreError::Storage(e),
            // Re-encrypting gives up on no document (a cipher no key opens is skipped).
            RewriteError::Rewrite(e) => StoreError::Storage(StorageError::Database {
                stage: "re-encrypting stored documents",
                subject: "berth key rotate".to_owned(),
                source: anyhow::anyhow!(e),
            }),
        })?;
    if home.shared_storage().is_none() {
        // Stored OAuth credentials are files of the home: each rewritten before the promotion.
        changed += crate::oauth::rewrite_files(home, &mut reencrypt).map_err(|e| match e {
            crate::oauth::OauthError::Store(e) => e,
            e => StoreError::Oauth(Box::new(e)),
        })?;
    }
    at(RotationPoint::Committed);
    files.promote().map_err(SecretError::from)?;
    drop(storage);
    Ok(Rotation {
        old_key,
        new_key: target.id_hex(),
        resumed,
        documents: changed,
        ciphers,
        skipped,
    })
}

impl RotationPoint {
    /// The point's name in `BERTH_FAILPOINT=rotate:<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Self::KeyWritten => "key-written",
            Self::InTransaction => "in-transaction",
            Self::Committed => "committed",
        }
    }
}

/// The environment variable naming a failpoint (test builds only).
pub const FAILPOINT_ENV: &str = "BERTH_FAILPOINT";

/// In test builds (feature `testing`), stops the process for good at `point` when
/// `BERTH_FAILPOINT=rotate:<point>`, after saying so on stderr, so a test can `kill -9` it
/// exactly there. Does nothing otherwise.
pub fn rotation_failpoint(point: RotationPoint) {
    #[cfg(feature = "testing")]
    if std::env::var(FAILPOINT_ENV).ok().as_deref() == Some(&format!("rotate:{}", point.name())) {
        eprintln!("berth: failpoint rotate:{} reached", point.name());
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
    #[cfg(not(feature = "testing"))]
    let _ = point;
}
