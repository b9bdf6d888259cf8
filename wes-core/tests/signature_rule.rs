//! Single and batch signature verification accept exactly the same signatures, including the
//! edge cases on which Ed25519 libraries disagree: keys and `R` values with small-order
//! (torsion) components, small-order keys, non-canonical `s`. A split here would fork a chain
//! between nodes that batch and nodes that do not.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use sha2::{Digest, Sha512};
use wes_core::{BatchVerifier, PublicKey, SecretKey, Signature, SignatureError, verify};

#[derive(Debug, Clone, Copy)]
enum Tamper {
    None,
    WrongMessage,
    FlipS,
    NonCanonicalS,
    SmallOrderKey,
}

#[derive(Debug, Clone)]
struct Case {
    a: [u8; 64],
    a_torsion: usize,
    r: [u8; 64],
    r_torsion: usize,
    msg: Vec<u8>,
    tamper: Tamper,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(any::<u8>(), 64),
        0usize..8,
        proptest::collection::vec(any::<u8>(), 64),
        0usize..8,
        proptest::collection::vec(any::<u8>(), 0..16),
        prop_oneof![
            4 => Just(Tamper::None),
            1 => Just(Tamper::WrongMessage),
            1 => Just(Tamper::FlipS),
            1 => Just(Tamper::NonCanonicalS),
            1 => Just(Tamper::SmallOrderKey),
        ],
    )
        .prop_map(|(a, a_torsion, r, r_torsion, msg, tamper)| Case {
            a: a.try_into().unwrap(),
            a_torsion,
            r: r.try_into().unwrap(),
            r_torsion,
            msg,
            tamper,
        })
}

/// Builds `(A, msg, R ‖ s)` by hand, with torsion added to `A` and `R` as the case says.
fn build(case: &Case) -> (PublicKey, Vec<u8>, Signature) {
    let a = Scalar::from_bytes_mod_order_wide(&case.a);
    let r = Scalar::from_bytes_mod_order_wide(&case.r);
    let mut big_a = a * ED25519_BASEPOINT_POINT + EIGHT_TORSION[case.a_torsion];
    if let Tamper::SmallOrderKey = case.tamper {
        big_a = EIGHT_TORSION[case.a_torsion.max(1)];
    }
    let big_r = r * ED25519_BASEPOINT_POINT + EIGHT_TORSION[case.r_torsion];
    let (a_bytes, r_bytes) = (big_a.compress().to_bytes(), big_r.compress().to_bytes());
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r_bytes)
            .chain_update(a_bytes)
            .chain_update(&case.msg),
    );
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(&s.to_bytes());
    let mut msg = case.msg.clone();
    match case.tamper {
        Tamper::WrongMessage => msg.push(0),
        Tamper::FlipS => sig[40] ^= 4,
        Tamper::NonCanonicalS => {
            // s + ℓ encodes the same scalar non-canonically (when it fits in 256 bits).
            let ell: [u8; 32] = [
                0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
                0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            ];
            let mut carry = 0u16;
            for i in 0..32 {
                let v = u16::from(sig[32 + i]) + u16::from(ell[i]) + carry;
                sig[32 + i] = v as u8;
                carry = v >> 8;
            }
        }
        Tamper::None | Tamper::SmallOrderKey => {}
    }
    (PublicKey(a_bytes), msg, Signature(sig))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn batch_agrees_with_single_verification(cases in proptest::collection::vec(case(), 1..12)) {
        let built: Vec<_> = cases.iter().map(build).collect();
        let single: Vec<Result<(), SignatureError>> =
            built.iter().map(|(k, m, s)| verify(k, m, s)).collect();
        for (case, result) in cases.iter().zip(&single) {
            if let Tamper::None = case.tamper {
                // Torsion in A or R does not invalidate a signature under the cofactored rule.
                prop_assert!(result.is_ok(), "{case:?}: {result:?}");
            } else {
                prop_assert!(result.is_err(), "{case:?} verified");
            }
        }
        let mut batch = BatchVerifier::new();
        for (k, m, s) in &built {
            batch.push(*k, m, *s);
        }
        match batch.verify() {
            Ok(()) => prop_assert!(single.iter().all(Result::is_ok)),
            Err(e) => {
                let first = single.iter().position(Result::is_err);
                prop_assert_eq!(Some(e.index), first);
                prop_assert_eq!(Err(e.source), single[e.index]);
            }
        }
    }

    #[test]
    fn keys_from_seeds_sign_valid_signatures(seed in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..64)) {
        let sk = SecretKey::from_seed(seed);
        prop_assert!(verify(&sk.public_key(), &msg, &sk.sign(&msg)).is_ok());
    }
}
