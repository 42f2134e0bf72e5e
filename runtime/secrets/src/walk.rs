//! Which values of a JSON document are secrets (reference §8.2), encrypted on the way in and
//! decrypted for a job.
//!
//! - Only **scalars under a key starting with `#`**, at any depth, are encrypted and decrypted.
//!   Numbers and booleans are encrypted as their text (and come back as strings, as in PHP).
//! - A `#` key holding an object or array is not encrypted itself; `#` keys inside it are
//!   (array items have no key, so scalar items of an array are left alone).
//! - An empty string stays empty; `null` stays `null`; a value that is exactly a variable
//!   placeholder `{{ name }}` is neither encrypted nor decrypted.
//! - Encrypting a value that already is a berth cipher leaves it unchanged; a legacy Keboola
//!   cipher (`KBC::Encrypted==…`) or another cloud's cipher is refused with the reference's error.
//! - Decrypting a `#` value that does not open is the reference's user error.

use serde_json::Value;

use super::cipher;
use super::error::{Refusal, SecretError};
use super::keys::{Keyring, MasterKey};
use super::scope::{Context, Kind, Scope, foreign_prefix};

/// Whether `value` is exactly a variable placeholder such as `{{ name }}` or `{{vault.token}}`.
pub fn is_placeholder(value: &str) -> bool {
    let Some(inner) = value
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
    else {
        return false;
    };
    let inner = inner.trim();
    !inner.is_empty() && !inner.contains(['{', '}']) && !inner.contains(char::is_whitespace)
}

/// The text a `#` scalar is encrypted as; `None` for values left alone (null, empty, a
/// placeholder).
fn secret_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty() && !is_placeholder(&text)).then_some(text)
}

fn walk(
    value: &mut Value,
    visit: &mut dyn FnMut(&str, &mut Value) -> Result<(), SecretError>,
) -> Result<(), SecretError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key.starts_with('#') && !child.is_object() && !child.is_array() {
                    visit(key, child)?;
                } else {
                    walk(child, visit)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, visit)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Encrypts every `#` scalar of `document` for `scope`; returns how many values were encrypted.
pub fn encrypt_document(
    document: &mut Value,
    keyring: &Keyring,
    scope: &Scope,
) -> Result<usize, SecretError> {
    let mut count = 0;
    walk(document, &mut |key, value| {
        let Some(text) = secret_text(value) else {
            return Ok(());
        };
        if let Some(prefix) = foreign_prefix(&text) {
            return Err(SecretError::NotEncrypted {
                key: key.to_owned(),
                value: text,
                reason: Refusal::Foreign(prefix),
            });
        }
        if Kind::of(&text).is_some() {
            return Ok(());
        }
        *value = Value::String(cipher::encrypt(keyring, scope, &text)?);
        count += 1;
        Ok(())
    })?;
    Ok(count)
}

/// Decrypts every `#` scalar of `document` for `context`, appending each decrypted value to
/// `decrypted` (for redaction). The first value that does not open is the error.
pub fn decrypt_document(
    document: &mut Value,
    keyring: &Keyring,
    context: &Context,
    decrypted: &mut Vec<String>,
) -> Result<(), SecretError> {
    walk(document, &mut |key, value| {
        let Some(text) = secret_text(value) else {
            return Ok(());
        };
        match cipher::decrypt(keyring, context, &text) {
            Ok(plain) => {
                decrypted.push(plain.clone());
                *value = Value::String(plain);
                Ok(())
            }
            Err(reason) => {
                tracing::debug!("{key}: the value does not open: {reason}");
                Err(SecretError::NotEncrypted {
                    key: key.to_owned(),
                    value: text,
                    reason,
                })
            }
        }
    })
}

/// Every `#` scalar value of `document` as it is (plain or not), e.g. to hide a plain value a
/// document carries.
pub fn secret_values(document: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut copy = document.clone();
    let _ = walk(&mut copy, &mut |_, value| {
        out.extend(secret_text(value));
        Ok(())
    });
    out
}

/// What a re-encryption did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reencrypted {
    /// Ciphers now under the target key.
    pub changed: usize,
    /// Berth ciphers that do not open with any key of the keyring (another home's, a changed
    /// one): left as they were, as unreadable as before.
    pub skipped: usize,
}

/// Replaces every `#` scalar of `document` (plain or cipher) with `replacement`: for files shown
/// to people, whatever they hold under `#` keys.
pub fn hide_secret_values(document: &mut Value, replacement: &str) {
    let _ = walk(document, &mut |_, value| {
        if secret_text(value).is_some() {
            *value = Value::String(replacement.to_owned());
        }
        Ok(())
    });
}

/// Re-encrypts every berth cipher anywhere in `document` (any key) under `target`, keeping kind
/// and bound values. Values that are not berth ciphers are left alone, and so are ciphers that do
/// not open (counted in [`Reencrypted::skipped`]): a rotation must not stop at one bad value.
pub fn reencrypt_document(
    document: &mut Value,
    keyring: &Keyring,
    target: &MasterKey,
) -> Reencrypted {
    fn go(value: &mut Value, keyring: &Keyring, target: &MasterKey, done: &mut Reencrypted) {
        match value {
            Value::String(text) => match cipher::reencrypt(keyring, target, text) {
                Ok(Some(new)) => {
                    *text = new;
                    done.changed += 1;
                }
                Ok(None) => {}
                Err(reason) => {
                    tracing::warn!("a stored cipher was left as it was: {reason}");
                    done.skipped += 1;
                }
            },
            Value::Object(map) => map.values_mut().for_each(|v| go(v, keyring, target, done)),
            Value::Array(items) => items.iter_mut().for_each(|v| go(v, keyring, target, done)),
            _ => {}
        }
    }
    let mut done = Reencrypted::default();
    go(document, keyring, target, &mut done);
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::Attributes;
    use serde_json::json;

    fn keyring() -> Keyring {
        Keyring::single(MasterKey::generate().unwrap())
    }

    fn encrypt_with_other_key() -> String {
        cipher::encrypt(&keyring(), &Scope::component("c"), "x").unwrap()
    }

    fn context() -> Context {
        Attributes {
            component: Some("c".into()),
            project: Some("1".into()),
            config: Some("9".into()),
            branch_type: Some("default".into()),
        }
    }

    #[test]
    fn only_hash_scalars_are_encrypted() {
        let keys = keyring();
        let mut doc = json!({
            "parameters": {
                "user": "me",
                "#password": "secret",
                "#port": 5432,
                "#empty": "",
                "#null": null,
                "#var": "{{ vault.token }}",
                "#nested": {"plain": "visible", "#inner": "hidden"},
                "#list": ["a", {"#deep": "x"}],
                "rows": [{"#key": "k"}]
            }
        });
        let n = encrypt_document(&mut doc, &keys, &Scope::project("c", "1")).unwrap();
        assert_eq!(n, 5);
        let p = &doc["parameters"];
        assert_eq!(p["user"], "me");
        for cipher in [
            &p["#password"],
            &p["#port"],
            &p["#nested"]["#inner"],
            &p["#list"][1]["#deep"],
            &p["rows"][0]["#key"],
        ] {
            assert!(
                cipher.as_str().unwrap().starts_with("KBC::ProjectSecure::"),
                "{cipher}"
            );
        }
        assert_eq!(p["#empty"], "");
        assert_eq!(p["#null"], Value::Null);
        assert_eq!(p["#var"], "{{ vault.token }}");
        assert_eq!(p["#nested"]["plain"], "visible");
        assert_eq!(p["#list"][0], "a");

        // Encrypting again changes nothing.
        let before = doc.clone();
        assert_eq!(
            encrypt_document(&mut doc, &keys, &Scope::project("c", "1")).unwrap(),
            0
        );
        assert_eq!(doc, before);

        let mut found = Vec::new();
        decrypt_document(&mut doc, &keys, &context(), &mut found).unwrap();
        assert_eq!(doc["parameters"]["#password"], "secret");
        assert_eq!(doc["parameters"]["#port"], "5432");
        assert_eq!(doc["parameters"]["#var"], "{{ vault.token }}");
        found.sort();
        assert_eq!(found, ["5432", "hidden", "k", "secret", "x"]);
    }

    #[test]
    fn plain_values_fail_with_the_reference_text() {
        let keys = keyring();
        for (value, shown) in [
            (json!("secret"), "secret"),
            (json!(" "), " "),
            (json!(12), "12"),
        ] {
            let mut doc = json!({"#x": value});
            let err = decrypt_document(&mut doc, &keys, &context(), &mut Vec::new()).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "Invalid cipher text for key #x Value \"{shown}\" is not an encrypted value."
                )
            );
            assert!(err.is_user_error());
        }
    }

    #[test]
    fn legacy_ciphers_are_refused_both_ways() {
        let keys = keyring();
        let legacy = "KBC::Encrypted==yI0sawothis is not a valid cipher N2Jg==";
        let expected =
            format!("Invalid cipher text for key #x Value \"{legacy}\" is not an encrypted value.");
        let mut doc = json!({"#x": legacy});
        let err = encrypt_document(&mut doc, &keys, &Scope::project("c", "1")).unwrap_err();
        assert_eq!(err.to_string(), expected);
        let err = decrypt_document(&mut doc, &keys, &context(), &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), expected);
        assert_eq!(err.refusal(), Some(&Refusal::Foreign("KBC::Encrypted==")));
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder("{{ a }}"));
        assert!(is_placeholder("{{vault.x}}"));
        assert!(!is_placeholder("{{ a }} tail"));
        assert!(!is_placeholder("{{ }}"));
        assert!(!is_placeholder("{{ a b }}"));
        assert!(!is_placeholder("x{{a}}"));
    }

    #[test]
    fn rotation_re_encrypts_every_cipher_and_keeps_the_scope() {
        let old = keyring();
        let mut doc = json!({"#a": "one", "b": {"#c": "two"}});
        encrypt_document(&mut doc, &old, &Scope::project("c", "1")).unwrap();
        let new = MasterKey::generate().unwrap();
        assert_eq!(reencrypt_document(&mut doc, &old, &new).changed, 2);
        assert_eq!(reencrypt_document(&mut doc, &old, &new).changed, 0);
        let mut foreign = json!({"#x": encrypt_with_other_key()});
        let done = reencrypt_document(&mut foreign, &old, &new);
        assert_eq!((done.changed, done.skipped), (0, 1));
        let rotated = Keyring::single(new);
        let mut found = Vec::new();
        decrypt_document(&mut doc, &rotated, &context(), &mut found).unwrap();
        assert_eq!(doc, json!({"#a": "one", "b": {"#c": "two"}}));
    }
}
