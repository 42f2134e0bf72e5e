//! One value in, one cipher out, and back.
//!
//! A cipher is its kind's prefix followed by the base64 of a body:
//!
//! ```text
//! version (1) | key id (8) | nonce (12) | attribute count (1) | (length (2) | value)* | sealed text + tag
//! ```
//!
//! The attributes are the values the cipher is bound to, in the kind's order
//! ([`Kind::attributes`]). Everything before the sealed text, and the prefix, is the associated
//! data of AES-256-GCM: a cipher whose prefix, key id, nonce or bound values were changed does
//! not open, and one moved to another scope is refused before opening because its bound values
//! are not the context's. Keeping the bound values in the body lets a key rotation re-encrypt a
//! cipher without knowing where it is used.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, NONCE_LEN, Nonce};
use ring::rand::{SecureRandom, SystemRandom};

use super::error::{Refusal, SecretError};
use super::keys::{KEY_ID_LEN, Keyring, MasterKey};
use super::scope::{Context, Kind, Scope, foreign_prefix};

const VERSION: u8 = 1;

/// Encrypts `plaintext` for `scope` with the keyring's current key.
pub fn encrypt(keyring: &Keyring, scope: &Scope, plaintext: &str) -> Result<String, SecretError> {
    seal(
        keyring.current(),
        scope.kind(),
        &scope.bound_values(),
        plaintext,
    )
}

fn seal(
    key: &MasterKey,
    kind: Kind,
    values: &[&str],
    plaintext: &str,
) -> Result<String, SecretError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SecretError::Crypto("the system random generator failed".into()))?;
    let mut body = Vec::with_capacity(64 + plaintext.len());
    body.push(VERSION);
    body.extend_from_slice(&key.id());
    body.extend_from_slice(&nonce);
    body.push(values.len() as u8);
    for value in values {
        let len = u16::try_from(value.len())
            .map_err(|_| SecretError::Crypto("a bound value is longer than 65535 bytes".into()))?;
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(value.as_bytes());
    }
    let mut aad = kind.prefix().as_bytes().to_vec();
    aad.extend_from_slice(&body);
    let mut sealed = plaintext.as_bytes().to_vec();
    key.aead()
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut sealed,
        )
        .map_err(|_| SecretError::Crypto("sealing failed".into()))?;
    body.extend_from_slice(&sealed);
    Ok(format!("{}{}", kind.prefix(), STANDARD.encode(body)))
}

/// A parsed cipher body.
struct Parsed<'a> {
    kind: Kind,
    key_id: &'a [u8],
    nonce: [u8; NONCE_LEN],
    values: Vec<&'a str>,
    header: &'a [u8],
    sealed: &'a [u8],
}

fn parse(kind: Kind, body: &[u8]) -> Option<Parsed<'_>> {
    let (&version, rest) = body.split_first()?;
    if version != VERSION || rest.len() < KEY_ID_LEN + NONCE_LEN + 1 {
        return None;
    }
    let (key_id, rest) = rest.split_at(KEY_ID_LEN);
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (&count, mut rest) = rest.split_first()?;
    if usize::from(count) != kind.attributes().len() {
        return None;
    }
    let mut values = Vec::with_capacity(count.into());
    for _ in 0..count {
        if rest.len() < 2 {
            return None;
        }
        let (len, tail) = rest.split_at(2);
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if tail.len() < len {
            return None;
        }
        let (value, tail) = tail.split_at(len);
        values.push(std::str::from_utf8(value).ok()?);
        rest = tail;
    }
    let header_len = body.len() - rest.len();
    Some(Parsed {
        kind,
        key_id,
        nonce: nonce.try_into().ok()?,
        values,
        header: &body[..header_len],
        sealed: rest,
    })
}

/// Decrypts `value` for `context`. Any value that does not open is a [`Refusal`] (why, for
/// logs); a missing key is not possible here (the keyring exists).
pub fn decrypt(keyring: &Keyring, context: &Context, value: &str) -> Result<String, Refusal> {
    if let Some(prefix) = foreign_prefix(value) {
        return Err(Refusal::Foreign(prefix));
    }
    let Some(kind) = Kind::of(value) else {
        return Err(Refusal::NotACipher);
    };
    let body = STANDARD
        .decode(&value[kind.prefix().len()..])
        .map_err(|_| Refusal::Malformed)?;
    let parsed = parse(kind, &body).ok_or(Refusal::Malformed)?;
    for (attribute, bound) in kind.attributes().iter().zip(&parsed.values) {
        match context.get(*attribute) {
            Some(have) if have == *bound => {}
            have => {
                return Err(Refusal::Scope {
                    attribute: attribute.as_str(),
                    bound: (*bound).to_owned(),
                    context: have.map(str::to_owned),
                });
            }
        }
    }
    open(keyring, &parsed)
}

fn open(keyring: &Keyring, parsed: &Parsed<'_>) -> Result<String, Refusal> {
    let key = keyring
        .by_id(parsed.key_id)
        .ok_or_else(|| Refusal::UnknownKey(hex(parsed.key_id)))?;
    let mut aad = parsed.kind.prefix().as_bytes().to_vec();
    aad.extend_from_slice(parsed.header);
    let mut buf = parsed.sealed.to_vec();
    let plain = key
        .aead()
        .open_in_place(
            Nonce::assume_unique_for_key(parsed.nonce),
            Aad::from(&aad),
            &mut buf,
        )
        .map_err(|_| Refusal::Tampered)?;
    String::from_utf8(plain.to_vec()).map_err(|_| Refusal::Tampered)
}

/// Re-encrypts a berth cipher under `target` with the same kind and bound values; `Ok(None)` when
/// it already uses `target` or is not a berth cipher at all (rotation leaves those alone).
pub fn reencrypt(
    keyring: &Keyring,
    target: &MasterKey,
    value: &str,
) -> Result<Option<String>, Refusal> {
    let Some(kind) = Kind::of(value) else {
        return Ok(None);
    };
    let Ok(body) = STANDARD.decode(&value[kind.prefix().len()..]) else {
        return Ok(None);
    };
    let Some(parsed) = parse(kind, &body) else {
        return Ok(None);
    };
    if parsed.key_id == target.id() {
        return Ok(None);
    }
    let plaintext = open(keyring, &parsed)?;
    seal(target, kind, &parsed.values, &plaintext)
        .map(Some)
        .map_err(|_| Refusal::Tampered)
}

/// The id (hex) of the key a berth cipher was made with.
pub fn key_id_of(value: &str) -> Option<String> {
    let kind = Kind::of(value)?;
    let body = STANDARD.decode(&value[kind.prefix().len()..]).ok()?;
    parse(kind, &body).map(|p| hex(p.key_id))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::Attributes;

    fn ctx(c: &str, p: &str, cfg: &str, b: &str) -> Context {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Attributes {
            component: opt(c),
            project: opt(p),
            config: opt(cfg),
            branch_type: opt(b),
        }
    }

    #[test]
    fn round_trip_and_bound_values() {
        let keyring = Keyring::single(MasterKey::generate().unwrap());
        let scope = Scope::new(ctx("acme.ex", "7", "42", "")).unwrap();
        let cipher = encrypt(&keyring, &scope, "pässword").unwrap();
        assert!(cipher.starts_with("KBC::ConfigSecure::"), "{cipher}");
        assert_eq!(
            decrypt(&keyring, &ctx("acme.ex", "7", "42", "default"), &cipher).unwrap(),
            "pässword"
        );
        assert!(matches!(
            decrypt(&keyring, &ctx("acme.ex", "7", "43", "default"), &cipher),
            Err(Refusal::Scope {
                attribute: "configuration",
                ..
            })
        ));
        assert!(matches!(
            decrypt(&keyring, &ctx("acme.ex", "7", "", ""), &cipher),
            Err(Refusal::Scope { context: None, .. })
        ));
    }

    #[test]
    fn a_changed_byte_anywhere_does_not_open() {
        let keyring = Keyring::single(MasterKey::generate().unwrap());
        let cipher = encrypt(&keyring, &Scope::project("c", "1"), "secret").unwrap();
        let context = ctx("c", "1", "", "");
        let body = STANDARD
            .decode(&cipher["KBC::ProjectSecure::".len()..])
            .unwrap();
        for i in 0..body.len() {
            let mut changed = body.clone();
            changed[i] ^= 0x01;
            let tampered = format!("KBC::ProjectSecure::{}", STANDARD.encode(&changed));
            assert!(
                decrypt(&keyring, &context, &tampered).is_err(),
                "byte {i} changed and the cipher still opened"
            );
        }
        // The same body under another prefix (another kind) does not open either.
        let moved = cipher.replace("KBC::ProjectSecure::", "KBC::ConfigSecure::");
        assert!(decrypt(&keyring, &ctx("c", "1", "9", ""), &moved).is_err());
    }

    #[test]
    fn another_key_does_not_open() {
        let one = Keyring::single(MasterKey::generate().unwrap());
        let two = Keyring::single(MasterKey::generate().unwrap());
        let cipher = encrypt(&one, &Scope::component("c"), "x").unwrap();
        assert!(matches!(
            decrypt(&two, &ctx("c", "", "", ""), &cipher),
            Err(Refusal::UnknownKey(_))
        ));
    }
}
