//! 256-bit targets: Bitcoin's compact "nBits" encoding, the hash-under-target check and the
//! work a target represents.
//!
//! A header hash is read as a **big-endian** 256-bit number (the hex form of a block hash
//! starts with its leading zeros), and it meets a target when `hash <= target`.

use wes_core::{BlockHash, CompactTarget, ConsensusError, Work};

/// An unsigned 256-bit integer (from `ruint`), the type of full targets.
pub type U256 = ruint::aliases::U256;

type U512 = ruint::aliases::U512;

/// Decodes a compact target exactly as Bitcoin's `SetCompact`, rejecting what Bitcoin flags
/// as negative or overflowing, and a zero target (which no hash can meet).
///
/// # Errors
/// [`ConsensusError::InvalidTarget`] with the offending compact value.
pub fn decode_compact(compact: CompactTarget) -> Result<U256, ConsensusError> {
    let c = compact.0;
    let size = c >> 24;
    let word = c & 0x007f_ffff;
    let negative = word != 0 && c & 0x0080_0000 != 0;
    let overflow =
        word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
    if negative || overflow {
        return Err(ConsensusError::InvalidTarget(compact));
    }
    let target = if size <= 3 {
        U256::from(word >> (8 * (3 - size)))
    } else {
        U256::from(word) << (8 * (size as usize - 3))
    };
    if target.is_zero() {
        return Err(ConsensusError::InvalidTarget(compact));
    }
    Ok(target)
}

/// Encodes a target in compact form exactly as Bitcoin's `GetCompact` (rounding down to 23
/// bits of mantissa). `decode_compact(encode_compact(t)) <= t`, with equality when `t` has at
/// most 23 significant bits.
pub fn encode_compact(target: U256) -> CompactTarget {
    let mut size = target.bit_len().div_ceil(8);
    let mut compact: u32 = if size <= 3 {
        (low_u64(target) << (8 * (3 - size))) as u32
    } else {
        low_u64(target >> (8 * (size - 3))) as u32
    };
    if compact & 0x0080_0000 != 0 {
        compact >>= 8;
        size += 1;
    }
    CompactTarget(compact | ((size as u32) << 24))
}

fn low_u64(x: U256) -> u64 {
    x.as_limbs()[0]
}

/// The block hash as a big-endian 256-bit number.
pub fn hash_value(hash: &BlockHash) -> U256 {
    U256::from_be_bytes(*hash.as_bytes())
}

/// Whether `hash <= target` (big-endian comparison).
pub fn meets_target(hash: &BlockHash, target: &U256) -> bool {
    hash.as_bytes() <= &target.to_be_bytes::<32>()
}

/// The expected number of hashes to meet `target`: `floor(2^256 / (target + 1))`, saturated
/// to `u128::MAX` (targets below `2^128`). A zero target gives `Work(u128::MAX)`.
pub fn work_of(target: &U256) -> Work {
    if *target == U256::MAX {
        return Work(1);
    }
    // 2^256 / (t + 1) = (2^256 - t - 1) / (t + 1) + 1, and 2^256 - t - 1 = !t.
    let w = (!*target) / (*target + U256::from(1u8)) + U256::from(1u8);
    Work(if w.bit_len() > 128 {
        u128::MAX
    } else {
        w.to::<u128>()
    })
}

/// Widens to 512 bits.
pub(crate) fn widen(x: &U256) -> U512 {
    U512::from_limbs_slice(x.as_limbs())
}

/// Narrows to 256 bits, `None` if it does not fit.
pub(crate) fn narrow(x: &U512) -> Option<U256> {
    let limbs = x.as_limbs();
    if limbs[4..].iter().any(|l| *l != 0) {
        return None;
    }
    Some(U256::from_limbs_slice(&limbs[..4]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitcoin_genesis_bits_round_trip() {
        let t = decode_compact(CompactTarget(0x1d00ffff)).unwrap();
        assert_eq!(t, U256::from(0xffffu64) << 208);
        assert_eq!(encode_compact(t), CompactTarget(0x1d00ffff));
        // Bitcoin's genesis work is 2^32 + 2^16 + 1 (0x100010001).
        assert_eq!(work_of(&t), Work(0x1_0001_0001));
    }

    #[test]
    fn regtest_limit_decodes() {
        let t = decode_compact(CompactTarget(0x207fffff)).unwrap();
        assert_eq!(t, U256::from(0x7fffffu64) << 232);
        assert_eq!(work_of(&t), Work(2));
    }

    #[test]
    fn negative_overflowing_and_zero_compacts_are_rejected() {
        for bad in [
            0x04923456u32,
            0xff123456,
            0x23000100,
            0x22010000,
            0x01003456,
            0,
        ] {
            assert_eq!(
                decode_compact(CompactTarget(bad)),
                Err(ConsensusError::InvalidTarget(CompactTarget(bad))),
                "{bad:#x}"
            );
        }
        // Small exponents shift the mantissa right (Bitcoin test vectors).
        assert_eq!(
            decode_compact(CompactTarget(0x01123456)).unwrap(),
            U256::from(0x12u8)
        );
        assert_eq!(
            decode_compact(CompactTarget(0x02123456)).unwrap(),
            U256::from(0x1234u16)
        );
        assert_eq!(
            encode_compact(U256::from(0x12u8)),
            CompactTarget(0x01120000)
        );
        assert_eq!(
            encode_compact(U256::from(0x80u8)),
            CompactTarget(0x02008000)
        );
    }

    #[test]
    fn work_saturates_and_is_exact_at_the_ends() {
        assert_eq!(work_of(&U256::MAX), Work(1));
        assert_eq!(work_of(&(U256::from(1u8) << 128)), Work(u128::MAX));
        assert_eq!(work_of(&(U256::from(1u8) << 255)), Work(1));
        assert_eq!(
            work_of(&((U256::from(1u8) << 255) - U256::from(1u8))),
            Work(2)
        );
    }

    #[test]
    fn meets_target_is_big_endian() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0x00;
        bytes[1] = 0x7f;
        let hash = BlockHash(wes_core::Hash(bytes));
        let target = U256::from(0x7fu64) << 240;
        assert!(meets_target(&hash, &target));
        assert!(!meets_target(&hash, &(target - U256::from(1u8))));
        assert_eq!(hash_value(&hash), target);
    }

    proptest::proptest! {
        #[test]
        fn compact_round_trip_never_rounds_up(limbs in proptest::array::uniform4(proptest::prelude::any::<u64>()), shift in 0usize..256) {
            let t = U256::from_limbs(limbs) >> shift;
            proptest::prop_assume!(!t.is_zero());
            let c = encode_compact(t);
            let back = decode_compact(c).unwrap();
            proptest::prop_assert!(back <= t);
            proptest::prop_assert_eq!(encode_compact(back), c);
            // At most 23 bits of mantissa are lost.
            proptest::prop_assert!(t - back < (U256::from(1u8) << t.bit_len().saturating_sub(15)));
        }
    }
}
