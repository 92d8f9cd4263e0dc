//! Bundles: a site's changes carried on a USB stick where no link exists.
//!
//! A bundle holds personal data and travels in pockets, so it is encrypted and authenticated
//! with a key only the site and the hub can derive (from the site's credential). A stick may
//! also be cut short while copying or changed on the way: a bundle that is not exactly what was
//! written is refused whole, before anything of it is imported, with a message a field worker
//! can act on. The layout is in docs/formats.md ("Sync bundle").
//!
//! Opening checks, in order: the size (before reading), the header's shape, then the AEAD tag
//! over header and content (nothing inside is trusted before), then each change's own hash.

use std::collections::BTreeMap;
use std::io::Read;

use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::Change;

/// The first bytes of every bundle: "PEYWANDB".
pub const MAGIC: [u8; 8] = *b"PEYWANDB";
/// The layout written by [`seal`]; [`open`] reads only this one.
pub const FORMAT_VERSION: u8 = 1;
/// The largest bundle written or read: 512 MiB. A bigger file is refused before it is read,
/// so a wrong file picked on a stick cannot exhaust a laptop's memory.
pub const MAX_BUNDLE_BYTES: u64 = 512 * 1024 * 1024;
/// The shortest credential a bundle is sealed with. The credential is a random secret issued
/// at enrolment, not a password: HKDF does not slow down guessing.
pub const MIN_CREDENTIAL_BYTES: usize = 16;

/// HKDF's `info`: binds the key to this use and this format version, so the same credential
/// used elsewhere (the HTTP sync) never yields the same key.
const KEY_CONTEXT: &[u8] = b"peywand sync bundle v1: XChaCha20-Poly1305 key";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const LENGTH_LEN: usize = 8;

/// What one side carries to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// The origin that wrote it: a site's code, or `hub`.
    pub from: String,
    /// The origin it is for.
    pub to: String,
    /// What the writer held when it wrote the bundle, per origin: the highest `seq`. The
    /// receiver learns from it what the writer still lacks (see [`crate::Heads`]).
    pub heads: BTreeMap<String, i64>,
    /// The changes the receiver had not acknowledged, any origin.
    pub changes: Vec<Change>,
}

/// Why a bundle was not written or not taken. Every refusal refuses the whole bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("this file is not a Peywand sync bundle")]
    NotABundle,
    #[error(
        "this bundle was written in format {0}, which this version of Peywand does not read: \
         update Peywand on this computer, then import it again"
    )]
    UnknownVersion(u8),
    #[error(
        "this bundle is incomplete: it was cut short, perhaps while being copied; copy it \
         again from the computer that wrote it. Nothing was imported"
    )]
    Truncated,
    /// AEAD cannot tell a changed bundle from a bundle sealed with another key: one message
    /// says both.
    #[error(
        "this bundle was changed after it was written, or was not written for this site. \
         Nothing was imported"
    )]
    TamperedOrWrongKey,
    #[error(
        "this file is {size} bytes, larger than a bundle may be ({limit} bytes). Nothing was \
         imported"
    )]
    TooLarge { size: u64, limit: u64 },
    /// The content decrypted, so it was written with the right key, but one change does not
    /// match its own hash: written by a faulty program.
    #[error(
        "change {seq} of {origin} in this bundle does not match its checksum: the program \
         that wrote the bundle is faulty. Nothing was imported"
    )]
    BrokenChange { origin: String, seq: i64 },
    /// Decrypted, but not what Peywand writes. `detail` never quotes the content (it holds
    /// personal data).
    #[error("this bundle's content is not what Peywand writes ({detail}). Nothing was imported")]
    Malformed { detail: String },
    #[error("the site's credential is too short to protect a bundle")]
    WeakCredential,
    #[error("the bundle could not be written: {reason}")]
    Unsealable { reason: String },
    #[error("the bundle could not be read: {0}")]
    Io(#[from] std::io::Error),
}

impl BundleError {
    /// A stable key for the message shown to people (translated in the web and CLI layers).
    pub fn key(&self) -> &'static str {
        match self {
            BundleError::NotABundle => "sync_bundle_not_a_bundle",
            BundleError::UnknownVersion(_) => "sync_bundle_unknown_version",
            BundleError::Truncated => "sync_bundle_truncated",
            BundleError::TamperedOrWrongKey => "sync_bundle_tampered_or_wrong_key",
            BundleError::TooLarge { .. } => "sync_bundle_too_large",
            BundleError::BrokenChange { .. } => "sync_bundle_broken_change",
            BundleError::Malformed { .. } => "sync_bundle_malformed",
            BundleError::WeakCredential => "sync_bundle_weak_credential",
            BundleError::Unsealable { .. } => "sync_bundle_unsealable",
            BundleError::Io(_) => "sync_bundle_io",
        }
    }
}

/// The cipher keyed from a site's credential.
fn cipher(credential: &[u8]) -> Result<XChaCha20Poly1305, BundleError> {
    if credential.len() < MIN_CREDENTIAL_BYTES {
        return Err(BundleError::WeakCredential);
    }
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(None, credential)
        .expand(KEY_CONTEXT, &mut key)
        // 32 bytes is far below HKDF-SHA256's limit of 8,160: cannot fail.
        .map_err(|_| BundleError::WeakCredential)?;
    Ok(XChaCha20Poly1305::new(&Key::from(key)))
}

/// Encrypts and authenticates `bundle` with a key derived from `credential`, the secret the
/// writing site and the hub share. The sender (`bundle.from`) stays readable on the outside,
/// so the hub knows whose credential opens it; everything else is encrypted.
pub fn seal(bundle: &Bundle, credential: &[u8]) -> Result<Vec<u8>, BundleError> {
    let cipher = cipher(credential)?;
    let sender = bundle.from.as_bytes();
    let sender_len = u8::try_from(sender.len())
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| BundleError::Unsealable {
            reason: "the sender's code must be 1 to 255 bytes".into(),
        })?;
    let plaintext = serde_json::to_vec(bundle).map_err(|e| BundleError::Unsealable {
        reason: format!("could not be written as JSON: {e}"),
    })?;
    let header_len = MAGIC.len() + 2 + sender.len() + NONCE_LEN + LENGTH_LEN;
    let ciphertext_len = plaintext.len() + TAG_LEN;
    let size = (header_len + ciphertext_len) as u64;
    if size > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge {
            size,
            limit: MAX_BUNDLE_BYTES,
        });
    }
    let nonce = XNonce::try_generate().map_err(|e| BundleError::Unsealable {
        reason: format!("no randomness from the operating system: {e}"),
    })?;

    let mut out = Vec::with_capacity(header_len + ciphertext_len);
    out.extend_from_slice(&MAGIC);
    out.push(FORMAT_VERSION);
    out.push(sender_len);
    out.extend_from_slice(sender);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&(ciphertext_len as u64).to_be_bytes());
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: &plaintext,
                aad: &out,
            },
        )
        .map_err(|_| BundleError::Unsealable {
            reason: "encryption failed".into(),
        })?;
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// The header's parts, as read before anything is authenticated.
struct Header<'a> {
    sender: &'a [u8],
    nonce: &'a [u8],
    /// Everything the tag covers besides the content: magic to length, inclusive.
    associated: &'a [u8],
    ciphertext: &'a [u8],
}

/// Splits a bundle into its parts, checking only the shape.
fn split(bytes: &[u8]) -> Result<Header<'_>, BundleError> {
    check_size(bytes.len() as u64)?;
    if bytes.len() < MAGIC.len() {
        // An empty file, or the magic's start: a copy that stopped early.
        return Err(if MAGIC.starts_with(bytes) {
            BundleError::Truncated
        } else {
            BundleError::NotABundle
        });
    }
    if bytes[..MAGIC.len()] != MAGIC {
        return Err(BundleError::NotABundle);
    }
    let version = *bytes.get(MAGIC.len()).ok_or(BundleError::Truncated)?;
    if version != FORMAT_VERSION {
        return Err(BundleError::UnknownVersion(version));
    }
    let sender_len = usize::from(*bytes.get(MAGIC.len() + 1).ok_or(BundleError::Truncated)?);
    let sender_at = MAGIC.len() + 2;
    let nonce_at = sender_at + sender_len;
    let length_at = nonce_at + NONCE_LEN;
    let ciphertext_at = length_at + LENGTH_LEN;
    let length = bytes
        .get(length_at..ciphertext_at)
        .ok_or(BundleError::Truncated)?;
    let mut length_bytes = [0u8; LENGTH_LEN];
    length_bytes.copy_from_slice(length);
    let declared = u64::from_be_bytes(length_bytes);
    let present = (bytes.len() - ciphertext_at) as u64;
    if present < declared {
        return Err(BundleError::Truncated);
    }
    if present > declared || declared < TAG_LEN as u64 {
        // Bytes added after the end, or a length no writer gives: changed on the way.
        return Err(BundleError::TamperedOrWrongKey);
    }
    Ok(Header {
        sender: &bytes[sender_at..nonce_at],
        nonce: &bytes[nonce_at..length_at],
        associated: &bytes[..ciphertext_at],
        ciphertext: &bytes[ciphertext_at..],
    })
}

/// Refuses a bundle of `size` bytes before it is read, when it is larger than a bundle may be
/// (for a file: check its length before reading it).
pub fn check_size(size: u64) -> Result<(), BundleError> {
    if size > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge {
            size,
            limit: MAX_BUNDLE_BYTES,
        });
    }
    Ok(())
}

/// Who wrote a bundle, as its header says, read without a key so the hub can pick the
/// credential that opens it. Not authenticated: trust it only once [`open`] succeeded.
pub fn sender(bytes: &[u8]) -> Result<String, BundleError> {
    let header = split(bytes)?;
    String::from_utf8(header.sender.to_vec()).map_err(|_| BundleError::TamperedOrWrongKey)
}

/// Opens a bundle sealed with `credential`: refused whole unless it is exactly as written,
/// for this credential, and every change in it matches its hash.
pub fn open(bytes: &[u8], credential: &[u8]) -> Result<Bundle, BundleError> {
    let cipher = cipher(credential)?;
    let header = split(bytes)?;
    let nonce = XNonce::try_from(header.nonce).map_err(|_| BundleError::Truncated)?;
    let plaintext = cipher
        .decrypt(
            &nonce,
            Payload {
                msg: header.ciphertext,
                aad: header.associated,
            },
        )
        .map_err(|_| BundleError::TamperedOrWrongKey)?;

    // Authenticated from here on: whatever is wrong now was written so.
    let malformed = |detail: String| BundleError::Malformed { detail };
    let sender = std::str::from_utf8(header.sender)
        .map_err(|_| malformed("the sender's code is not text".into()))?;
    let bundle: Bundle = serde_json::from_slice(&plaintext).map_err(|e| {
        // serde_json's message may quote the content: give the place only.
        malformed(format!("at line {}, column {}", e.line(), e.column()))
    })?;
    if bundle.from != sender {
        return Err(malformed(
            "the sender on the outside is not the sender inside".into(),
        ));
    }
    if let Some(broken) = bundle.changes.iter().find(|c| !c.is_intact()) {
        return Err(BundleError::BrokenChange {
            origin: broken.origin.clone(),
            seq: broken.seq,
        });
    }
    Ok(bundle)
}

/// Reads a bundle from `reader` (a file on a stick) and opens it, refusing it as soon as it
/// proves larger than [`MAX_BUNDLE_BYTES`], without reading the rest.
pub fn open_from(reader: impl Read, credential: &[u8]) -> Result<Bundle, BundleError> {
    let bytes = read_at_most(reader, MAX_BUNDLE_BYTES)?;
    open(&bytes, credential)
}

/// Reads to the end, or refuses as soon as more than `limit` bytes came.
fn read_at_most(reader: impl Read, limit: u64) -> Result<Vec<u8>, BundleError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(BundleError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChangeKind;
    use uuid::Uuid;

    const CREDENTIAL: &[u8] = b"torkham-7f3a9c1e5b2d4e6f8a0b1c2d3e4f5a6b";

    fn change(origin: &str, seq: i64, body: &str) -> Change {
        let mut c = Change {
            origin: origin.into(),
            seq,
            // Fixed, so that two calls build equal bundles.
            id: Uuid::from_u128(0x0193_9a7e_0000_7000_8000_0000_0000_0000 + seq as u128),
            at: format!("00000017335000{seq:05}.000000"),
            kind: ChangeKind::HouseholdSaved,
            entity: format!("h-{seq}"),
            base: None,
            body: body.into(),
            hash: String::new(),
        };
        c.hash = c.content_hash();
        c
    }

    fn bundle() -> Bundle {
        Bundle {
            from: "torkham".into(),
            to: "hub".into(),
            heads: [("torkham".to_owned(), 3), ("hub".to_owned(), 12)].into(),
            changes: vec![
                change("torkham", 1, r#"{"head":"Gul Ahmad"}"#),
                change("torkham", 2, r#"{"head":"گل احمد"}"#),
                change("torkham", 3, r#"{"head":"Najibullah"}"#),
            ],
        }
    }

    fn sealed() -> Vec<u8> {
        match seal(&bundle(), CREDENTIAL) {
            Ok(bytes) => bytes,
            Err(e) => panic!("seal: {e}"),
        }
    }

    #[test]
    fn round_trip() {
        let bytes = sealed();
        assert!(bytes.starts_with(b"PEYWANDB\x01\x07torkham"));
        assert_eq!(open(&bytes, CREDENTIAL).ok(), Some(bundle()));
        assert_eq!(sender(&bytes).ok().as_deref(), Some("torkham"));
        assert_eq!(open_from(bytes.as_slice(), CREDENTIAL).ok(), Some(bundle()));
    }

    #[test]
    fn personal_data_is_not_readable_in_the_file() {
        let bytes = sealed();
        for needle in ["Gul Ahmad", "Najibullah", "گل احمد", "\"hub\""] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in clear"
            );
        }
    }

    #[test]
    fn two_seals_differ_by_their_nonce() {
        assert_ne!(sealed(), sealed());
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let bytes = sealed();
        let header_len = MAGIC.len() + 2 + "torkham".len() + NONCE_LEN + LENGTH_LEN;
        // Every header byte, then a sample of the content and the tag at the end.
        let positions = (0..header_len)
            .chain((header_len..bytes.len()).step_by(7))
            .chain(bytes.len() - TAG_LEN..bytes.len());
        for at in positions {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] ^= flip;
                let result = open(&changed, CREDENTIAL);
                assert!(result.is_err(), "byte {at} ^ {flip:#x} accepted");
                if at >= header_len {
                    assert!(
                        matches!(result, Err(BundleError::TamperedOrWrongKey)),
                        "byte {at}: {result:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_truncation_is_refused_whole() {
        let bytes = sealed();
        for len in 0..bytes.len() {
            let result = open(&bytes[..len], CREDENTIAL);
            assert!(
                matches!(result, Err(BundleError::Truncated)),
                "cut at {len}: {result:?}"
            );
        }
    }

    #[test]
    fn bytes_added_at_the_end_are_refused() {
        let mut bytes = sealed();
        bytes.push(0);
        assert!(matches!(
            open(&bytes, CREDENTIAL),
            Err(BundleError::TamperedOrWrongKey)
        ));
    }

    #[test]
    fn another_sites_credential_does_not_open_it() {
        let result = open(&sealed(), b"spin-boldak-0e1f2a3b4c5d6e7f8091a2b3");
        assert!(matches!(result, Err(BundleError::TamperedOrWrongKey)));
        assert_eq!(
            result.err().map(|e| e.to_string()).as_deref(),
            Some(
                "this bundle was changed after it was written, or was not written for this \
                 site. Nothing was imported"
            )
        );
    }

    #[test]
    fn a_sender_changed_on_the_outside_is_refused() {
        let bytes = sealed();
        let mut renamed = bytes.clone();
        renamed[10..17].copy_from_slice(b"khostxx");
        assert!(matches!(
            open(&renamed, CREDENTIAL),
            Err(BundleError::TamperedOrWrongKey)
        ));
    }

    #[test]
    fn a_change_altered_without_its_hash_refuses_the_whole_bundle() {
        let mut altered = bundle();
        altered.changes[1].body = r#"{"head":"گل محمد"}"#.into();
        // Written with the right key: only the change's own hash tells.
        let bytes = match seal(&altered, CREDENTIAL) {
            Ok(b) => b,
            Err(e) => panic!("seal: {e}"),
        };
        let result = open(&bytes, CREDENTIAL);
        assert!(
            matches!(&result, Err(BundleError::BrokenChange { origin, seq: 2 }) if origin == "torkham"),
            "{result:?}"
        );
    }

    #[test]
    fn other_files_and_versions_are_told_apart() {
        assert!(matches!(
            open(b"PK\x03\x04 a zip file, not a bundle", CREDENTIAL),
            Err(BundleError::NotABundle)
        ));
        assert!(matches!(
            open(b"hello", CREDENTIAL),
            Err(BundleError::NotABundle)
        ));
        assert!(matches!(
            open(b"PEYW", CREDENTIAL),
            Err(BundleError::Truncated)
        ));
        let mut newer = sealed();
        newer[8] = 2;
        let result = open(&newer, CREDENTIAL);
        assert!(matches!(result, Err(BundleError::UnknownVersion(2))));
        assert_eq!(
            result.err().map(|e| e.key()),
            Some("sync_bundle_unknown_version")
        );
    }

    #[test]
    fn a_bundle_larger_than_the_limit_is_refused_before_reading() {
        assert!(check_size(MAX_BUNDLE_BYTES).is_ok());
        assert!(matches!(
            check_size(MAX_BUNDLE_BYTES + 1),
            Err(BundleError::TooLarge { size, limit: MAX_BUNDLE_BYTES }) if size == MAX_BUNDLE_BYTES + 1
        ));
        // A reader that never ends is read only to one byte past the limit.
        let endless = std::io::repeat(0x42);
        assert!(matches!(
            read_at_most(endless, 4096),
            Err(BundleError::TooLarge {
                size: 4097,
                limit: 4096
            })
        ));
        assert_eq!(read_at_most(&b"abc"[..], 3).ok(), Some(b"abc".to_vec()));
    }

    #[test]
    fn short_credentials_and_senders_are_refused() {
        assert!(matches!(
            seal(&bundle(), b"short"),
            Err(BundleError::WeakCredential)
        ));
        assert!(matches!(
            open(&sealed(), b""),
            Err(BundleError::WeakCredential)
        ));
        let mut nameless = bundle();
        nameless.from = String::new();
        assert!(matches!(
            seal(&nameless, CREDENTIAL),
            Err(BundleError::Unsealable { .. })
        ));
        nameless.from = "x".repeat(256);
        assert!(matches!(
            seal(&nameless, CREDENTIAL),
            Err(BundleError::Unsealable { .. })
        ));
    }

    #[test]
    fn error_keys_are_distinct_and_namespaced() {
        let errors = [
            BundleError::NotABundle,
            BundleError::UnknownVersion(9),
            BundleError::Truncated,
            BundleError::TamperedOrWrongKey,
            BundleError::TooLarge { size: 1, limit: 0 },
            BundleError::BrokenChange {
                origin: "torkham".into(),
                seq: 1,
            },
            BundleError::Malformed {
                detail: String::new(),
            },
            BundleError::WeakCredential,
            BundleError::Unsealable {
                reason: String::new(),
            },
            BundleError::Io(std::io::Error::other("x")),
        ];
        let keys: std::collections::BTreeSet<&str> = errors.iter().map(|e| e.key()).collect();
        assert_eq!(keys.len(), errors.len());
        assert!(keys.iter().all(|k| k.starts_with("sync_bundle_")
            && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
    }

    #[test]
    fn an_empty_bundle_round_trips() {
        let empty = Bundle {
            from: "hub".into(),
            to: "angoor-adda".into(),
            heads: BTreeMap::new(),
            changes: vec![],
        };
        let result = seal(&empty, CREDENTIAL).and_then(|b| open(&b, CREDENTIAL));
        assert_eq!(result.ok(), Some(empty));
    }
}
