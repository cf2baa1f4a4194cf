//! Password hashing (argon2id, OWASP parameters, PHC strings) and API token generation.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Shortest password accepted (ASVS 6.2.1).
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted.
pub const MAX_PASSWORD_LEN: usize = 128;

/// OWASP's argon2id minimum: m = 19 MiB, t = 2, p = 1.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher().hash_password(password.as_bytes(), &salt).expect("argon2 hashing cannot fail with valid params").to_string()
}

/// Checks a password against a PHC string. A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => hasher().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A hash of a password nobody knows, verified against when the account does not exist so that a
/// failed sign-in takes the same time either way (no account enumeration by timing).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("provisio-dummy-password-never-matches"))
}

/// Why a new password is not acceptable, if it is not.
pub fn password_problem(password: &str, username: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Some(format!("must be at least {MIN_PASSWORD_LEN} characters"));
    }
    if n > MAX_PASSWORD_LEN {
        return Some(format!("must be at most {MAX_PASSWORD_LEN} characters"));
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Some("must not contain the user name".into());
    }
    const COMMON: [&str; 8] = [
        "password1234",
        "123456789012",
        "qwertyuiopas",
        "letmein12345",
        "administrator",
        "passwordpassword",
        "welcome12345",
        "changeme1234",
    ];
    if COMMON.contains(&password.to_lowercase().as_str()) {
        return Some("is too common".into());
    }
    None
}

/// A random secret of `bytes` bytes, base64url without padding.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A new API token: `pvo_` and 256 random bits.
pub fn new_api_token() -> String {
    format!("pvo_{}", random_secret(32))
}

/// The SHA-256 hex digest under which a token is stored (tokens are high-entropy, so a fast hash is right).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A generated password for a new administrator: 20 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut buf = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_phc_and_verifies() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn password_rules() {
        assert!(password_problem("short", "a").is_some());
        assert!(password_problem("alice-is-great-2026", "alice").is_some());
        assert!(password_problem("Password1234", "bob").is_some());
        assert!(password_problem("tidy-otter-47-lamps", "bob").is_none());
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_api_token();
        let b = new_api_token();
        assert_ne!(a, b);
        assert!(a.starts_with("pvo_") && a.len() >= 40);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(generate_password().len(), 20);
    }
}
