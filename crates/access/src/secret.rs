//! Passwords and secret tokens. Passwords are kept only as argon2id hashes; session ids, CSRF
//! tokens and API tokens are random and kept only as SHA-256 digests, so a copied users
//! table opens nothing.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rand::RngExt;
use sha2::{Digest, Sha256};

/// Hashes a password with argon2id (memory-hard, salted; the parameters travel in the
/// hash string).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` is the one `hash` was made from.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A random secret shown once (a session cookie, an API token) and its digest, which is
/// all that is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub text: String,
    pub digest: String,
}

impl Secret {
    /// 256 random bits, as hex, with a prefix saying what the secret is for.
    pub fn generate(prefix: &str) -> Secret {
        let bytes: [u8; 32] = rand::rng().random();
        let text = format!("{prefix}{}", hex(&bytes));
        let digest = Secret::digest_of(&text);
        Secret { text, digest }
    }

    /// The stored form of a secret presented by a client.
    pub fn digest_of(text: &str) -> String {
        hex(&Sha256::digest(text.as_bytes()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A stable pseudonym for an id shared with another organisation: HMAC-SHA256 under that
/// partnership's secret. The same secret gives the same pseudonym in every export, so the
/// partner can follow a record over time; another partner's secret gives unrelated ones, so
/// two partners cannot join their data on it; without the secret it cannot be reversed.
pub fn pseudonym(secret: &[u8], id: &str) -> String {
    use hmac::{KeyInit, Mac};
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(secret) else {
        // HMAC takes keys of any length; this branch is never reached.
        return String::new();
    };
    mac.update(id.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("p-{}", &hex(&tag)[..24])
}

/// A password for an administrator to hand over after a reset, used once: five groups of four
/// letters and digits that cannot be mistaken for each other (about 99 bits).
pub fn temporary_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| {
            (0..4)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("a long passphrase at Torkham").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("a long passphrase at Torkham", &h));
        assert!(!verify_password("a long passphrase at Torkham ", &h));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn pseudonyms_are_stable_per_partner_and_unrelated_across_partners() {
        let (a, b) = (
            b"unhcr-2026-partnership".as_slice(),
            b"ngo-x-2026-partnership".as_slice(),
        );
        assert_eq!(pseudonym(a, "R00000001"), pseudonym(a, "R00000001"));
        assert_ne!(pseudonym(a, "R00000001"), pseudonym(a, "R00000002"));
        assert_ne!(pseudonym(a, "R00000001"), pseudonym(b, "R00000001"));
        assert!(pseudonym(a, "R00000001").starts_with("p-"));
        assert_eq!(pseudonym(a, "R00000001").len(), 26);
    }

    #[test]
    fn secrets_are_random_and_stored_as_digests() {
        let (a, b) = (Secret::generate("pw_"), Secret::generate("pw_"));
        assert_ne!(a.text, b.text);
        assert!(a.text.starts_with("pw_") && a.text.len() == 67);
        assert_eq!(Secret::digest_of(&a.text), a.digest);
        assert_ne!(a.digest, a.text);
        assert_eq!(format!("{a:?}"), "Secret(…)");
    }
}
