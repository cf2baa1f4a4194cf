//! Secrets at rest: [`SecretBox`] seals a secret (an app's bearer token, an OAuth client secret) with
//! XChaCha20-Poly1305 under the server's 32-byte key before it is written to the database, and opens it
//! when a connector needs it.
//!
//! Sealed text is `v1:` followed by base64 of the random 24-byte nonce and the ciphertext (with its
//! 16-byte tag). The associated data names the row the secret belongs to (`"<app id>:<secret name>"`),
//! so a ciphertext copied into another row (or another app) fails to open instead of handing one app's
//! secret to another. Nothing here logs or prints a key or a plaintext.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::fmt;

/// The format prefix of sealed text (a new algorithm or layout gets a new prefix).
const PREFIX: &str = "v1:";
/// XChaCha20's nonce length.
const NONCE_LEN: usize = 24;
/// Poly1305's tag length.
const TAG_LEN: usize = 16;

/// Why a key was refused or a sealed secret could not be opened. Never carries secret material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key is not 32 bytes.
    #[error("the secret key must be 32 bytes, this one has {0}")]
    KeyLength(usize),
    /// The text is not sealed text of a known version.
    #[error("the sealed secret is not in a known format")]
    Format,
    /// Authentication failed: a different key, a different row, or altered text.
    #[error("the sealed secret could not be opened (a different key, a different row, or altered data)")]
    Open,
}

/// Seals and opens secrets with the server's key. Cheap to clone; `Debug` shows nothing secret.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(****)")
    }
}

impl SecretBox {
    /// A box for a 32-byte key; any other length is refused.
    pub fn new(key: &[u8]) -> Result<SecretBox, CryptoError> {
        if key.len() != 32 {
            return Err(CryptoError::KeyLength(key.len()));
        }
        Ok(SecretBox { cipher: XChaCha20Poly1305::new(Key::from_slice(key)) })
    }

    /// A box for key material of at least 32 bytes (what `PROVISIO_SECRET_KEY` accepts): exactly 32
    /// bytes are the key; longer material is reduced to 32 bytes with SHA-256 (domain-separated).
    pub fn from_key_material(material: &[u8]) -> Result<SecretBox, CryptoError> {
        match material.len() {
            32 => SecretBox::new(material),
            n if n > 32 => {
                let mut h = Sha256::new();
                h.update(b"provisio secret box v1\0");
                h.update(material);
                SecretBox::new(&h.finalize())
            }
            n => Err(CryptoError::KeyLength(n)),
        }
    }

    /// Seals `plaintext`, bound to `aad` (`"<app id>:<secret name>"`), under a fresh random nonce.
    pub fn seal(&self, plaintext: &str, aad: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            // Encryption fails only for messages beyond ChaCha20's 256 GiB block counter.
            .expect("XChaCha20-Poly1305 encryption of a short secret cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens text made by [`SecretBox::seal`] with the same key and `aad`.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<String, CryptoError> {
        let b64 = sealed.strip_prefix(PREFIX).ok_or(CryptoError::Format)?;
        let bytes = STANDARD.decode(b64.trim()).map_err(|_| CryptoError::Format)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Format);
        }
        let (nonce, ct) = bytes.split_at(NONCE_LEN);
        let pt = self.cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() }).map_err(|_| CryptoError::Open)?;
        String::from_utf8(pt).map_err(|_| CryptoError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7u8; 32];

    #[test]
    fn round_trip_with_fresh_nonces() {
        let b = SecretBox::new(&KEY).unwrap();
        let s1 = b.seal("s3cr3t-token-value", "app1:secretToken");
        let s2 = b.seal("s3cr3t-token-value", "app1:secretToken");
        assert!(s1.starts_with("v1:"));
        assert_ne!(s1, s2, "every seal uses a new nonce");
        assert!(!s1.contains("s3cr3t"));
        assert_eq!(b.open(&s1, "app1:secretToken").unwrap(), "s3cr3t-token-value");
        assert_eq!(b.open(&s2, "app1:secretToken").unwrap(), "s3cr3t-token-value");
        assert_eq!(b.open(&b.seal("", "a:b"), "a:b").unwrap(), "");
    }

    #[test]
    fn another_row_does_not_open() {
        let b = SecretBox::new(&KEY).unwrap();
        let s = b.seal("token", "app1:secretToken");
        assert_eq!(b.open(&s, "app2:secretToken"), Err(CryptoError::Open));
        assert_eq!(b.open(&s, "app1:clientSecret"), Err(CryptoError::Open));
    }

    #[test]
    fn tampering_is_detected() {
        let b = SecretBox::new(&KEY).unwrap();
        let s = b.seal("token", "a:secretToken");
        let mut raw = STANDARD.decode(&s[3..]).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(b.open(&format!("v1:{}", STANDARD.encode(&raw)), "a:secretToken"), Err(CryptoError::Open));
        raw[last] ^= 1;
        raw[0] ^= 0x80;
        assert_eq!(b.open(&format!("v1:{}", STANDARD.encode(&raw)), "a:secretToken"), Err(CryptoError::Open));
        assert_eq!(b.open(&s.replacen("v1:", "v2:", 1), "a:secretToken"), Err(CryptoError::Format));
        assert_eq!(b.open("v1:not base64!", "a:secretToken"), Err(CryptoError::Format));
        assert_eq!(b.open("v1:AAAA", "a:secretToken"), Err(CryptoError::Format));
    }

    #[test]
    fn wrong_key_fails() {
        let s = SecretBox::new(&KEY).unwrap().seal("token", "a:secretToken");
        let other = SecretBox::new(&[8u8; 32]).unwrap();
        assert_eq!(other.open(&s, "a:secretToken"), Err(CryptoError::Open));
    }

    #[test]
    fn keys_must_be_32_bytes_and_debug_hides_them() {
        assert_eq!(SecretBox::new(&[1u8; 16]).unwrap_err(), CryptoError::KeyLength(16));
        assert_eq!(SecretBox::new(&[1u8; 33]).unwrap_err(), CryptoError::KeyLength(33));
        assert_eq!(SecretBox::from_key_material(&[1u8; 31]).unwrap_err(), CryptoError::KeyLength(31));
        let long = SecretBox::from_key_material(&[1u8; 64]).unwrap();
        let s = long.seal("x", "a:b");
        assert_eq!(SecretBox::from_key_material(&[1u8; 64]).unwrap().open(&s, "a:b").unwrap(), "x");
        assert!(SecretBox::new(&[1u8; 64][..32]).unwrap().open(&s, "a:b").is_err(), "long material is hashed, not truncated");
        assert_eq!(format!("{:?}", SecretBox::new(&KEY).unwrap()), "SecretBox(****)");
    }
}
