//! The master key of a berth home and the key files of a rotation.
//!
//! A key file holds one line, `berth-master-key-v1 <key id> <key>`: an 8-byte key id (hex) that
//! every cipher carries, and a 256-bit AES key (base64). The home's key is
//! `<home>/keys/master.key`, created on first use with mode 0600 in a 0700 directory, unless
//! `BERTH_MASTER_KEY_FILE` names another file (which must then exist).
//!
//! A rotation writes the new key beside the current one (`master.key.new`), re-encrypts every
//! stored cipher under it, then renames it over the current key. Until that rename, a
//! [`Keyring`] holds both keys and opens a cipher with the key its id names, so a rotation
//! stopped at any point leaves every cipher readable. New ciphers always use the current key.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// The environment variable naming a master key file to use instead of the home's.
pub const MASTER_KEY_ENV: &str = "BERTH_MASTER_KEY_FILE";

/// The first word of a key file.
const MAGIC: &str = "berth-master-key-v1";

/// Length of a key id in bytes.
pub const KEY_ID_LEN: usize = 8;

/// Why a key could not be used. Always berth's problem, never the user's input: an application
/// error.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file does not exist (and may not be created here).
    #[error("the master key {path} is missing")]
    Missing {
        /// The key file.
        path: PathBuf,
    },
    /// The key file is not a berth master key.
    #[error("the master key {path} is malformed: {reason}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a key file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The system's random generator failed.
    #[error("the system random generator failed")]
    Random,
}

/// One AES-256-GCM key with its id.
pub struct MasterKey {
    id: [u8; KEY_ID_LEN],
    /// The raw key, kept to write it to its file (ring does not hand keys back).
    bytes: [u8; 32],
    key: LessSafeKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id_hex())
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A new random key with a new random id.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let mut id = [0u8; KEY_ID_LEN];
        let mut bytes = [0u8; 32];
        rng.fill(&mut id).map_err(|_| KeyError::Random)?;
        rng.fill(&mut bytes).map_err(|_| KeyError::Random)?;
        Ok(Self::from_parts(id, &bytes))
    }

    fn from_parts(id: [u8; KEY_ID_LEN], bytes: &[u8; 32]) -> Self {
        // A 32-byte slice is always a valid AES-256 key.
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte AES-256 key");
        Self {
            id,
            bytes: *bytes,
            key: LessSafeKey::new(unbound),
        }
    }

    /// The key id every cipher made with this key carries.
    pub fn id(&self) -> [u8; KEY_ID_LEN] {
        self.id
    }

    /// The key id as hex (shown by `berth info` and `berth key rotate`).
    pub fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn aead(&self) -> &LessSafeKey {
        &self.key
    }

    fn read(path: &Path) -> Result<Option<Self>, KeyError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(KeyError::Io {
                    action: "reading the master key",
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let malformed = |reason: &str| KeyError::Malformed {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let mut words = text.split_whitespace();
        if words.next() != Some(MAGIC) {
            return Err(malformed("it does not start with berth-master-key-v1"));
        }
        let id_hex = words.next().ok_or_else(|| malformed("no key id"))?;
        let key_b64 = words.next().ok_or_else(|| malformed("no key"))?;
        if words.next().is_some() {
            return Err(malformed("unexpected text after the key"));
        }
        let id_bytes = decode_hex(id_hex).ok_or_else(|| malformed("the key id is not hex"))?;
        let id: [u8; KEY_ID_LEN] = id_bytes
            .try_into()
            .map_err(|_| malformed("the key id is not 8 bytes"))?;
        let key: [u8; 32] = STANDARD
            .decode(key_b64)
            .map_err(|_| malformed("the key is not base64"))?
            .try_into()
            .map_err(|_| malformed("the key is not 32 bytes"))?;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                "the master key {} is readable by other users (mode {:o}); it should be 0600",
                path.display(),
                meta.permissions().mode() & 0o777
            );
        }
        Ok(Some(Self::from_parts(id, &key)))
    }

    /// Writes the key to a temporary file beside `path` (mode 0600) and renames it into place;
    /// `replace: false` keeps an existing file (returns false then).
    fn write(&self, path: &Path, replace: bool) -> Result<bool, KeyError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let io = |action| {
            move |source| KeyError::Io {
                action,
                path: path.to_owned(),
                source,
            }
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".master.key.")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(io("creating the master key"))?;
        writeln!(
            tmp,
            "{MAGIC} {} {}",
            self.id_hex(),
            STANDARD.encode(self.bytes)
        )
        .map_err(io("writing the master key"))?;
        tmp.as_file()
            .sync_all()
            .map_err(io("writing the master key"))?;
        if replace {
            tmp.persist(path)
                .map_err(|e| e.error)
                .map_err(io("storing the master key"))?;
        } else {
            match tmp.persist_noclobber(path) {
                Ok(_) => {}
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
                Err(e) => return Err(io("storing the master key")(e.error)),
            }
        }
        sync_dir(dir)?;
        Ok(true)
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| KeyError::Io {
            action: "creating the key directory",
            path: dir.to_owned(),
            source,
        })
}

fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| KeyError::Io {
            action: "syncing the key directory",
            path: dir.to_owned(),
            source,
        })
}

/// Where a home's keys live: the current key file and, during a rotation, the pending one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    current: PathBuf,
    pending: PathBuf,
    create: bool,
}

impl KeyFiles {
    /// The keys of the home at `home_root`: `BERTH_MASTER_KEY_FILE` if set (never created), else
    /// `<home>/keys/master.key` (created on first use).
    pub fn for_home(home_root: &Path) -> Self {
        match std::env::var_os(MASTER_KEY_ENV).filter(|v| !v.is_empty()) {
            Some(file) => Self::given(PathBuf::from(file)),
            None => Self::created_at(home_root.join("keys").join("master.key")),
        }
    }

    /// A key file that must exist.
    pub fn given(path: PathBuf) -> Self {
        Self {
            pending: pending_path(&path),
            current: path,
            create: false,
        }
    }

    /// A key file created on first use.
    pub fn created_at(path: PathBuf) -> Self {
        Self {
            pending: pending_path(&path),
            current: path,
            create: true,
        }
    }

    /// The current key file.
    pub fn current(&self) -> &Path {
        &self.current
    }

    /// The file of a rotation's new key, beside the current one.
    pub fn pending(&self) -> &Path {
        &self.pending
    }

    /// The keyring, creating the current key when it is missing and may be created.
    pub fn open_or_create(&self) -> Result<Keyring, KeyError> {
        if self.create && !self.current.exists() && !self.pending.exists() {
            // Two processes creating the key at once: the first rename wins, both use it.
            MasterKey::generate()?.write(&self.current, false)?;
        }
        self.open()
    }

    /// The keyring; a missing current key is an error.
    pub fn open(&self) -> Result<Keyring, KeyError> {
        let Some(current) = MasterKey::read(&self.current)? else {
            return Err(KeyError::Missing {
                path: self.current.clone(),
            });
        };
        let pending = MasterKey::read(&self.pending)?;
        Ok(Keyring {
            current,
            pending,
            files: self.clone(),
        })
    }

    /// The key a rotation re-encrypts to: the pending key of an interrupted rotation, else a new
    /// one written (durably) as the pending key. The boolean says whether it was resumed.
    pub fn begin_rotation(&self) -> Result<(MasterKey, bool), KeyError> {
        if let Some(key) = MasterKey::read(&self.pending)? {
            return Ok((key, true));
        }
        let key = MasterKey::generate()?;
        key.write(&self.pending, true)?;
        Ok((key, false))
    }

    /// Makes the pending key the current one (an atomic rename; the old key is gone).
    pub fn promote(&self) -> Result<(), KeyError> {
        fs::rename(&self.pending, &self.current).map_err(|source| KeyError::Io {
            action: "promoting the new master key",
            path: self.pending.clone(),
            source,
        })?;
        sync_dir(self.current.parent().unwrap_or(Path::new(".")))
    }
}

fn pending_path(current: &Path) -> PathBuf {
    let mut name = current.file_name().unwrap_or_default().to_owned();
    name.push(".new");
    current.with_file_name(name)
}

/// The keys a home can open ciphers with: the current key, and the pending key of a rotation
/// that has not been promoted yet.
#[derive(Debug)]
pub struct Keyring {
    current: MasterKey,
    pending: Option<MasterKey>,
    files: KeyFiles,
}

impl Keyring {
    /// A keyring of one key (tests, benches).
    pub fn single(key: MasterKey) -> Self {
        Self {
            current: key,
            pending: None,
            files: KeyFiles::given(PathBuf::new()),
        }
    }

    /// The key new ciphers are made with.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// The new key of an unfinished rotation.
    pub fn pending(&self) -> Option<&MasterKey> {
        self.pending.as_ref()
    }

    /// Where the keys live.
    pub fn files(&self) -> &KeyFiles {
        &self.files
    }

    /// The key with `id`.
    pub fn by_id(&self, id: &[u8]) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(self.pending.as_ref())
            .find(|k| k.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyFiles::created_at(dir.path().join("keys/master.key"));
        let first = files.open_or_create().unwrap().current().id();
        let again = files.open_or_create().unwrap().current().id();
        assert_eq!(first, again);
        let mode = fs::metadata(files.current()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(dir.path().join("keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn a_given_key_file_must_exist_and_be_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("given.key");
        let files = KeyFiles::given(path.clone());
        assert!(matches!(
            files.open_or_create(),
            Err(KeyError::Missing { .. })
        ));
        fs::write(&path, "berth-master-key-v1 0011 AAAA\n").unwrap();
        let err = files.open().unwrap_err().to_string();
        assert!(err.contains("malformed"), "{err}");
        fs::write(&path, "something else\n").unwrap();
        assert!(matches!(files.open(), Err(KeyError::Malformed { .. })));
    }

    #[test]
    fn rotation_files() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyFiles::created_at(dir.path().join("master.key"));
        let old = files.open_or_create().unwrap().current().id();
        let (new, resumed) = files.begin_rotation().unwrap();
        assert!(!resumed);
        let (again, resumed) = files.begin_rotation().unwrap();
        assert!(resumed);
        assert_eq!(again.id(), new.id());
        let ring = files.open().unwrap();
        assert_eq!(ring.current().id(), old, "new ciphers keep the current key");
        assert!(ring.by_id(&new.id()).is_some() && ring.by_id(&old).is_some());
        files.promote().unwrap();
        let ring = files.open().unwrap();
        assert_eq!(ring.current().id(), new.id());
        assert!(ring.pending().is_none() && ring.by_id(&old).is_none());
    }
}
