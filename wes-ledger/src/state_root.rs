//! The state root: an incremental commitment to the UTXO set.
//!
//! The set is committed with a *lattice hash* (LtHash, Bellare–Micciancio; as used by
//! Facebook for database integrity and by Solana for its accounts hash): every unspent output
//! `(outpoint, output)` is expanded by an extendable-output hash into 1024 lanes of 16 bits,
//! and the accumulator is the lane-wise sum modulo 2^16 of all of them. Creating an output
//! adds its vector, spending subtracts it, so a block updates the root in time proportional
//! to the outputs it touches, never by rescanning the set; reverting a block is exact. The
//! root in the header is `SHA3-256(state-root domain, accumulator)`. Finding two different
//! sets with the same accumulator is as hard as the short integer solution problem on this
//! lattice (about 200 bits of security for these parameters).
//!
//! The expansion uses BLAKE3's XOF, which produces the 2 KiB per element several times faster
//! than SHAKE; every other hash in WES is SHA3-256.

use wes_core::{Domain, Hash, OutPoint, Output, codec, hash};

/// Number of 16-bit lanes.
const LANES: usize = 1024;

/// The domain of the root computed from the accumulator.
pub const STATE_ROOT_DOMAIN: Domain = Domain::new("wes/ledger/state-root");

/// The BLAKE3 key-derivation context of element expansion.
const ELEMENT_CONTEXT: &str = "wes/ledger/utxo-element v1";

/// The lattice-hash accumulator of a UTXO set.
#[derive(Clone, PartialEq, Eq)]
pub struct StateAccumulator {
    lanes: Box<[u16; LANES]>,
}

impl core::fmt::Debug for StateAccumulator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "StateAccumulator(root {})", self.root())
    }
}

impl Default for StateAccumulator {
    fn default() -> Self {
        StateAccumulator {
            lanes: Box::new([0; LANES]),
        }
    }
}

/// The expansion of one unspent output.
#[derive(Clone)]
pub struct Element(Box<[u16; LANES]>);

impl Element {
    /// The element for `output` at `outpoint`.
    pub fn new(outpoint: &OutPoint, output: &Output) -> Self {
        let mut hasher = blake3::Hasher::new_derive_key(ELEMENT_CONTEXT);
        hasher.update(outpoint.tx.as_bytes());
        hasher.update(&outpoint.index.to_le_bytes());
        hasher.update(&codec::encode(output));
        let mut bytes = [0u8; LANES * 2];
        hasher.finalize_xof().fill(&mut bytes);
        let mut lanes = Box::new([0u16; LANES]);
        for (lane, pair) in lanes.iter_mut().zip(bytes.chunks_exact(2)) {
            *lane = u16::from_le_bytes([pair[0], pair[1]]);
        }
        Element(lanes)
    }
}

impl StateAccumulator {
    /// Adds an unspent output.
    pub fn insert(&mut self, element: &Element) {
        for (a, e) in self.lanes.iter_mut().zip(element.0.iter()) {
            *a = a.wrapping_add(*e);
        }
    }

    /// Removes a spent output.
    pub fn remove(&mut self, element: &Element) {
        for (a, e) in self.lanes.iter_mut().zip(element.0.iter()) {
            *a = a.wrapping_sub(*e);
        }
    }

    /// Adds the lane-wise sum `other` (of several elements).
    pub fn absorb(&mut self, other: &StateAccumulator) {
        for (a, e) in self.lanes.iter_mut().zip(other.lanes.iter()) {
            *a = a.wrapping_add(*e);
        }
    }

    /// Subtracts the lane-wise sum `other`.
    pub fn subtract(&mut self, other: &StateAccumulator) {
        for (a, e) in self.lanes.iter_mut().zip(other.lanes.iter()) {
            *a = a.wrapping_sub(*e);
        }
    }

    /// The state root: `SHA3-256(state-root domain, lanes as little-endian bytes)`.
    pub fn root(&self) -> Hash {
        hash(STATE_ROOT_DOMAIN, self.to_bytes())
    }

    /// The accumulator as 2048 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.lanes.iter().flat_map(|l| l.to_le_bytes()).collect()
    }

    /// Reads 2048 bytes written by [`StateAccumulator::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != LANES * 2 {
            return None;
        }
        let mut lanes = Box::new([0u16; LANES]);
        for (lane, pair) in lanes.iter_mut().zip(bytes.chunks_exact(2)) {
            *lane = u16::from_le_bytes([pair[0], pair[1]]);
        }
        Some(StateAccumulator { lanes })
    }
}

/// The state root of a whole UTXO set, computed from scratch. The ledger never does this
/// (it updates the root per block); tests and audits use it to check the incremental root.
pub fn state_root_of<'a>(utxos: impl IntoIterator<Item = (&'a OutPoint, &'a Output)>) -> Hash {
    let mut acc = StateAccumulator::default();
    for (op, output) in utxos {
        acc.insert(&Element::new(op, output));
    }
    acc.root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wes_core::{Lock, PublicKey, TokenId, TxId};

    fn utxo(i: u32) -> (OutPoint, Output) {
        (
            OutPoint {
                tx: TxId(hash(Domain::TX, i.to_le_bytes())),
                index: i,
            },
            Output::asset(
                Lock::key(PublicKey([i as u8; 32])),
                TokenId::Native,
                i as u128 + 1,
            ),
        )
    }

    #[test]
    fn order_does_not_matter_and_removal_is_exact() {
        let elements: Vec<Element> = (0..20)
            .map(|i| {
                let (o, out) = utxo(i);
                Element::new(&o, &out)
            })
            .collect();
        let mut forward = StateAccumulator::default();
        elements.iter().for_each(|e| forward.insert(e));
        let mut backward = StateAccumulator::default();
        elements.iter().rev().for_each(|e| backward.insert(e));
        assert_eq!(forward.root(), backward.root());
        let empty = StateAccumulator::default().root();
        elements.iter().for_each(|e| forward.remove(e));
        assert_eq!(forward.root(), empty);
    }

    #[test]
    fn different_sets_have_different_roots() {
        let (o, out) = utxo(1);
        let mut a = StateAccumulator::default();
        a.insert(&Element::new(&o, &out));
        let mut changed = out.clone();
        if let wes_core::OutputBody::Asset(asset) = &mut changed.body {
            asset.amount += 1;
        }
        let mut b = StateAccumulator::default();
        b.insert(&Element::new(&o, &changed));
        assert_ne!(a.root(), b.root());
        assert_eq!(
            StateAccumulator::from_bytes(&a.to_bytes()).unwrap().root(),
            a.root()
        );
        assert!(StateAccumulator::from_bytes(&[0; 3]).is_none());
    }
}
