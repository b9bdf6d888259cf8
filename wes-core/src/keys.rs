//! Ed25519 keys and signatures, with one verification rule shared by single and batch checks.
//!
//! # The signature rule
//!
//! Ed25519 implementations disagree on edge cases, and a chain whose nodes disagree on which
//! signatures are valid splits. In particular `ed25519-dalek`'s `verify_strict` (cofactorless)
//! and its `verify_batch` do not accept exactly the same signatures, so a node that batches
//! and a node that does not can fork. WES therefore uses **one** rule in both paths:
//!
//! 1. the public key `A` and the signature's `R` must be *canonical* point encodings;
//! 2. `A` must not be a point of small order (a "weak key" that validates forged signatures
//!    for any message);
//! 3. `s` must be canonical (`s < ℓ`) and the *cofactored* equation `[8][s]B = [8]R + [8][k]A`
//!    must hold (ZIP-215, as implemented by `ed25519-zebra`).
//!
//! Checks 1 and 2 are strict like `verify_strict` (no malleable encodings, no weak keys); check
//! 3 is the equation for which batch verification provably agrees with single verification.
//! [`verify`] and [`BatchVerifier`] apply the same rule, and a test checks they agree.

use core::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::codec::byte_array;

/// An Ed25519 public key (its 32-byte compressed encoding, not yet checked).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PublicKey(pub [u8; 32]);

/// An Ed25519 signature: `R ‖ s`, 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signature(#[serde(with = "byte_array")] pub [u8; 64]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.0))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// A secret signing key. Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct SecretKey(ed25519_zebra::SigningKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public: {})", self.public_key())
    }
}

impl SecretKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        SecretKey(ed25519_zebra::SigningKey::new(rand::rng()))
    }

    /// The key with the given 32-byte seed (RFC 8032 secret key). Deterministic: the same seed
    /// always gives the same key, which is what test fixtures and dev keys need.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SecretKey(ed25519_zebra::SigningKey::from_bytes(&seed))
    }

    /// The development key named `name`: its seed is `H("wes/dev-key", name)`, so every
    /// tool, test and example derives the same key from the same name (`alice`, `miner`…).
    /// Anyone can derive it too: for devnets and tests only, never for value.
    pub fn dev(name: &str) -> Self {
        Self::from_seed(
            *crate::hash::hash(crate::hash::Domain::new("wes/dev-key"), name).as_bytes(),
        )
    }

    /// The 32-byte seed, for storing the key. Handle with care.
    pub fn to_seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(ed25519_zebra::VerificationKeyBytes::from(&self.0).into())
    }

    /// Signs `msg` (deterministic, RFC 8032).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

/// Why a signature was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The public key is not a canonical encoding of a curve point.
    #[error("public key {0} is not a canonical point encoding")]
    MalformedKey(PublicKey),
    /// The public key is a point of small order.
    #[error("public key {0} is a small-order (weak) key")]
    WeakKey(PublicKey),
    /// The signature's `R` is not a canonical point encoding.
    #[error("signature by {0} has a non-canonical R")]
    MalformedSignature(PublicKey),
    /// The signature does not verify.
    #[error("invalid signature by {0}")]
    Invalid(PublicKey),
}

/// A batch in which one signature failed: which one, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature {index} of the batch: {source}")]
pub struct BatchError {
    /// Position of the first failing signature in the order queued.
    pub index: usize,
    /// Why it failed.
    pub source: SignatureError,
}

/// Verifies `signature` on `msg` by `key` under the WES signature rule (module docs).
pub fn verify(key: &PublicKey, msg: &[u8], signature: &Signature) -> Result<(), SignatureError> {
    precheck(key, signature)?;
    let vk = ed25519_zebra::VerificationKey::try_from(key.0)
        .map_err(|_| SignatureError::MalformedKey(*key))?;
    vk.verify(&ed25519_zebra::Signature::from_bytes(&signature.0), msg)
        .map_err(|_| SignatureError::Invalid(*key))
}

/// Encoding checks shared by single and batch verification.
fn precheck(key: &PublicKey, signature: &Signature) -> Result<(), SignatureError> {
    if !is_canonical_point_encoding(&key.0) {
        return Err(SignatureError::MalformedKey(*key));
    }
    if SMALL_ORDER_POINTS.contains(&key.0) {
        return Err(SignatureError::WeakKey(*key));
    }
    let r: &[u8; 32] = signature.0[..32].try_into().expect("64-byte signature");
    if !is_canonical_point_encoding(r) {
        return Err(SignatureError::MalformedSignature(*key));
    }
    Ok(())
}

/// The canonical encodings of the eight points of small order.
static SMALL_ORDER_POINTS: LazyLock<[[u8; 32]; 8]> =
    LazyLock::new(|| curve25519_dalek::constants::EIGHT_TORSION.map(|p| p.compress().to_bytes()));

/// Whether `bytes` is the canonical encoding of an Edwards `y` coordinate and sign bit: `y` is
/// below the field prime `p = 2^255 − 19`, and the sign bit is clear when `x = 0` (`y = ±1`).
/// Byte comparisons only; whether the point is on the curve is checked by decompression.
fn is_canonical_point_encoding(bytes: &[u8; 32]) -> bool {
    // p in little-endian: ed ff .. ff 7f; p - 1: ec ff .. ff 7f.
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    let top_all_ones = y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff);
    if top_all_ones && y[0] >= 0xed {
        return false; // y >= p
    }
    let is_one = y[0] == 1 && y[1..].iter().all(|&b| b == 0);
    let is_minus_one = top_all_ones && y[0] == 0xec;
    !(sign == 1 && (is_one || is_minus_one))
}

/// Collects `(key, message, signature)` triples and verifies them together, about twice as
/// fast as one by one. Accepts exactly the triples that [`verify`] accepts.
#[derive(Default)]
pub struct BatchVerifier<'a> {
    items: Vec<(PublicKey, &'a [u8], Signature)>,
}

impl<'a> BatchVerifier<'a> {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `n` signatures.
    pub fn with_capacity(n: usize) -> Self {
        BatchVerifier {
            items: Vec::with_capacity(n),
        }
    }

    /// Queues one signature.
    pub fn push(&mut self, key: PublicKey, msg: &'a [u8], signature: Signature) {
        self.items.push((key, msg, signature));
    }

    /// Number of queued signatures.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Verifies every queued signature. On failure, names the first failing one (found by
    /// checking one by one, which only happens when the batch is invalid).
    pub fn verify(self) -> Result<(), BatchError> {
        let mut batch = ed25519_zebra::batch::Verifier::new();
        let mut prechecked = true;
        for (key, msg, sig) in &self.items {
            if precheck(key, sig).is_err() {
                prechecked = false;
                break;
            }
            let vk = ed25519_zebra::VerificationKeyBytes::from(key.0);
            batch.queue((vk, ed25519_zebra::Signature::from_bytes(&sig.0), msg));
        }
        if prechecked && batch.verify(rand::rng()).is_ok() {
            return Ok(());
        }
        for (index, (key, msg, sig)) in self.items.iter().enumerate() {
            verify(key, msg, sig).map_err(|source| BatchError { index, source })?;
        }
        // Unreachable under ZIP-215 (batch and single agree); reported rather than trusted.
        Err(BatchError {
            index: 0,
            source: SignatureError::Invalid(self.items[0].0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> SecretKey {
        SecretKey::from_seed([i; 32])
    }

    #[test]
    fn sign_then_verify() {
        let sk = key(1);
        let sig = sk.sign(b"msg");
        verify(&sk.public_key(), b"msg", &sig).unwrap();
        assert_eq!(
            verify(&sk.public_key(), b"other", &sig),
            Err(SignatureError::Invalid(sk.public_key()))
        );
        assert!(verify(&key(2).public_key(), b"msg", &sig).is_err());
    }

    #[test]
    fn rfc8032_test_vector_1() {
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let sk = SecretKey::from_seed(seed);
        assert_eq!(
            hex::encode(sk.public_key().0),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex::encode(sk.sign(b"").0),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn small_order_keys_are_rejected_even_with_a_matching_signature() {
        // Identity point as key, identity as R, s = 0: satisfies the cofactored equation for
        // every message, and must still be rejected.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let key = PublicKey(identity);
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&identity);
        let sig = Signature(sig);
        assert_eq!(
            verify(&key, b"anything", &sig),
            Err(SignatureError::WeakKey(key))
        );
        let mut batch = BatchVerifier::new();
        batch.push(key, b"anything", sig);
        assert_eq!(
            batch.verify().unwrap_err().source,
            SignatureError::WeakKey(key)
        );
    }

    #[test]
    fn non_canonical_encodings_are_rejected() {
        // y = p (non-canonical zero).
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical_point_encoding(&p));
        // y = 1 with the sign bit set: x = 0 cannot be negative.
        let mut neg_zero = [0u8; 32];
        neg_zero[0] = 1;
        neg_zero[31] = 0x80;
        assert!(!is_canonical_point_encoding(&neg_zero));
        for sk in [key(1), key(2), key(3)] {
            assert!(is_canonical_point_encoding(&sk.public_key().0));
        }
        let sk = key(1);
        let mut sig = sk.sign(b"m");
        sig.0[..32].copy_from_slice(&p);
        assert_eq!(
            verify(&sk.public_key(), b"m", &sig),
            Err(SignatureError::MalformedSignature(sk.public_key()))
        );
    }

    #[test]
    fn batch_names_the_first_bad_signature() {
        let keys: Vec<SecretKey> = (1..=8).map(key).collect();
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 10]).collect();
        let mut sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        let mut batch = BatchVerifier::new();
        for ((k, m), s) in keys.iter().zip(&msgs).zip(&sigs) {
            batch.push(k.public_key(), m, *s);
        }
        batch.verify().unwrap();

        sigs[5].0[40] ^= 1;
        let mut batch = BatchVerifier::new();
        for ((k, m), s) in keys.iter().zip(&msgs).zip(&sigs) {
            batch.push(k.public_key(), m, *s);
        }
        let err = batch.verify().unwrap_err();
        assert_eq!(err.index, 5);
    }

    #[test]
    fn secret_key_debug_hides_the_seed() {
        let sk = key(9);
        let shown = format!("{sk:?}");
        assert!(!shown.contains(&hex::encode([9u8; 32])));
        assert_eq!(
            SecretKey::from_seed(sk.to_seed()).public_key(),
            sk.public_key()
        );
    }
}
