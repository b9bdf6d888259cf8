//! ASERT difficulty (Bitcoin Cash's `aserti3-2d`), in milliseconds.
//!
//! The target of the block after `parent` is the anchor's target scaled by
//! `2^((time_diff - block_time * (height_diff + 1)) / half_life)`, where `time_diff` is
//! `parent.time - anchor.parent_time` and `height_diff` is `parent.height - anchor.height`:
//! each block that comes a half-life late doubles the target (halves the difficulty), a
//! half-life early halves it. Because the schedule is absolute (always relative to the
//! anchor) rounding errors do not accumulate, and because it uses only the parent's time and
//! height it needs no window of ancestors.
//!
//! The arithmetic is the reference one, integer only: a 16.16 fixed-point exponent (divided
//! with truncation toward zero as in the C++ reference), `2^frac` by the spec's cubic
//! approximation, then a shift; the result is clamped to `[1, pow_limit]`.

use crate::target::{U256, narrow, widen};

/// The inputs of one ASERT evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsertInput {
    /// The anchor block's target.
    pub anchor_target: U256,
    /// `parent.time_ms - anchor.parent_time_ms`, may be negative.
    pub time_diff_ms: i128,
    /// `parent.height - anchor.height`.
    pub height_diff: i128,
    /// The ideal time between blocks.
    pub block_time_ms: u64,
    /// The time behind schedule that doubles the target.
    pub half_life_ms: u64,
    /// The easiest target allowed.
    pub pow_limit: U256,
}

/// The target the ASERT rule gives, clamped to `[1, pow_limit]`. Total: never panics.
pub fn asert_target(input: &AsertInput) -> U256 {
    let half_life = i128::from(input.half_life_ms.max(1));
    let scheduled =
        i128::from(input.block_time_ms).saturating_mul(input.height_diff.saturating_add(1));
    let behind = input.time_diff_ms.saturating_sub(scheduled);
    // 16.16 fixed point; the clamp keeps the shift arithmetic below far from overflow
    // while being far outside the range where the result is not already clamped.
    let exponent = (behind.saturating_mul(65_536) / half_life).clamp(-(1 << 30), 1 << 30);
    let shifts = exponent >> 16; // floor
    let frac = (exponent - (shifts << 16)) as u128; // 0..65536
    let factor = 65_536
        + ((195_766_423_245_049u128 * frac
            + 971_821_376u128 * frac * frac
            + 5_127u128 * frac * frac * frac
            + (1u128 << 47))
            >> 48);
    let product = widen(&input.anchor_target) * widen(&U256::from(factor));
    let shift = shifts - 16;
    let result = if shift > 0 {
        let shift = shift as usize;
        if product.bit_len() + shift > 300 {
            return input.pow_limit;
        }
        product << shift
    } else {
        let shift = (-shift) as usize;
        if shift >= 512 {
            return U256::from(1u8);
        }
        product >> shift
    };
    match narrow(&result) {
        None => input.pow_limit,
        Some(t) if t.is_zero() => U256::from(1u8),
        Some(t) if t > input.pow_limit => input.pow_limit,
        Some(t) => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(time_diff_ms: i128, height_diff: i128) -> AsertInput {
        AsertInput {
            anchor_target: U256::from(1u8) << 200,
            time_diff_ms,
            height_diff,
            block_time_ms: 1_000,
            half_life_ms: 10_000,
            pow_limit: U256::from(1u8) << 250,
        }
    }

    #[test]
    fn on_schedule_keeps_the_anchor_target() {
        assert_eq!(asert_target(&input(1_000, 0)), U256::from(1u8) << 200);
        assert_eq!(asert_target(&input(50_000, 49)), U256::from(1u8) << 200);
    }

    #[test]
    fn one_half_life_doubles_or_halves() {
        assert_eq!(asert_target(&input(11_000, 0)), U256::from(1u8) << 201);
        assert_eq!(asert_target(&input(-9_000, 0)), U256::from(1u8) << 199);
    }

    #[test]
    fn half_a_half_life_is_close_to_the_square_root_of_two() {
        let t = asert_target(&input(6_000, 0));
        // 2^200 * sqrt(2) = 2^200 * 1.41421356...; the approximation is within 0.013%.
        let expected = (U256::from(1_414_213_562u64) << 200) / U256::from(1_000_000_000u64);
        let diff = if t > expected {
            t - expected
        } else {
            expected - t
        };
        assert!(diff < expected / U256::from(5_000u64), "{t} vs {expected}");
    }

    #[test]
    fn extremes_clamp_instead_of_overflowing() {
        assert_eq!(asert_target(&input(i128::MAX, 0)), U256::from(1u8) << 250);
        assert_eq!(asert_target(&input(i128::MIN, i128::MAX)), U256::from(1u8));
        assert_eq!(asert_target(&input(0, i128::MAX)), U256::from(1u8));
    }
}
