//! The advisory lock keys berth takes (two-key form: a class naming what is locked, then the
//! object). The classes spell `brt0`, `brt1`, … so they do not collide with another application's
//! locks in a shared database by accident.

/// Held (transaction-level) while migrating the schema.
pub(crate) const MIGRATION_LOCK: (i32, i32) = (0x6272_7430, 0);

/// Class of the lock on one configuration (object: a hash of component and configuration), held
/// while a node claims a job of that configuration.
pub(crate) const CONFIG_LOCK_CLASS: i32 = 0x6272_7431;

/// Class of the lock on one job's event log (object: a hash of the job id), held while appending.
pub(crate) const EVENTS_LOCK_CLASS: i32 = 0x6272_7432;

/// Class of the lock on one Storage table (object: a hash of the table id), held while importing
/// into it or removing it, so two nodes loading one table take turns.
pub(crate) const TABLE_LOCK_CLASS: i32 = 0x6272_7433;

/// The master key's lock (session-level, not transaction-level): held shared by every connection
/// that encrypts a document it stores or decrypts documents it read ([`crate::PgStorage::hold_keys`]),
/// and exclusively by a key rotation for its whole length, so no cipher is made with a key being
/// replaced and none is read across the promotion of the new one.
pub(crate) const KEYS_LOCK: (i32, i32) = (0x6272_7434, 0);
