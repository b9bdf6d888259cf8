//! SHA3-256 hashing with a domain tag per use, and the identifier types built on it.
//!
//! Every hash in WES is `SHA3-256(len(tag) ‖ tag ‖ data)` for a [`Domain`] tag, so a transaction
//! id can never be mistaken for a block hash, a Merkle node or an address even when the hashed
//! bytes coincide. The tag is length-prefixed, which makes the prefix set prefix-free.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};
use sha3::{Digest, Sha3_256};

/// A 32-byte SHA3-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Length of a hash in bytes.
    pub const LEN: usize = 32;
    /// The all-zero hash, used as the parent of the genesis block.
    pub const ZERO: Hash = Hash([0; 32]);

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters (an optional `0x` prefix is accepted).
    pub fn from_hex(s: &str) -> Result<Self, ParseHashError> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|e| ParseHashError {
            input: s.chars().take(80).collect(),
            reason: e.to_string(),
        })?;
        Ok(Hash(out))
    }

    /// Bitwise XOR of two hashes: the Kademlia distance used by the XOR fork-choice rule.
    pub fn xor(&self, other: &Hash) -> Hash {
        let mut out = [0u8; 32];
        for (o, (a, b)) in out.iter_mut().zip(self.0.iter().zip(other.0.iter())) {
            *o = a ^ b;
        }
        Hash(out)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hash::from_hex(s)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A string could not be parsed as a 32-byte hex hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hash {input:?}: {reason}")]
pub struct ParseHashError {
    /// The offending input (truncated to 80 characters).
    pub input: String,
    /// Why it was rejected.
    pub reason: String,
}

/// A domain tag: what a hash is *of*. Crates define their own with [`Domain::new`]; the tags
/// used by consensus-visible types are the associated constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Domain(&'static str);

impl Domain {
    /// A new domain. Tags must be non-empty, at most 255 bytes, and unique across the chain; by
    /// convention `"<crate>/<use>"`.
    pub const fn new(tag: &'static str) -> Self {
        assert!(
            !tag.is_empty() && tag.len() <= 255,
            "domain tag must be 1..=255 bytes"
        );
        Domain(tag)
    }

    /// The tag text.
    pub const fn tag(&self) -> &'static str {
        self.0
    }

    /// Transaction ids (the transaction without witnesses).
    pub const TX: Domain = Domain::new("wes/tx");
    /// Witness commitments (`txid ‖ witness`), the leaves of the witness root.
    pub const WITNESS: Domain = Domain::new("wes/witness");
    /// Block header hashes.
    pub const BLOCK_HEADER: Domain = Domain::new("wes/block-header");
    /// Header hashes with the seal left out: what a sealing authority signs.
    pub const HEADER_SEAL: Domain = Domain::new("wes/header-seal");
    /// Merkle tree leaves.
    pub const MERKLE_LEAF: Domain = Domain::new("wes/merkle/leaf");
    /// Merkle tree inner nodes.
    pub const MERKLE_NODE: Domain = Domain::new("wes/merkle/node");
    /// The root of an empty Merkle tree.
    pub const MERKLE_EMPTY: Domain = Domain::new("wes/merkle/empty");
    /// Addresses derived from locks.
    pub const ADDRESS: Domain = Domain::new("wes/address");
    /// The message a transaction's signers sign.
    pub const SIGHASH: Domain = Domain::new("wes/sighash");
    /// Genesis descriptions.
    pub const GENESIS: Domain = Domain::new("wes/genesis");
    /// Entries of an execution trace.
    pub const TRACE_ENTRY: Domain = Domain::new("wes/trace-entry");
    /// Outputs, for state commitments.
    pub const OUTPUT: Domain = Domain::new("wes/output");
}

/// Incremental domain-separated SHA3-256.
#[derive(Clone)]
pub struct Hasher(Sha3_256);

impl Hasher {
    /// Starts a hash in `domain`.
    pub fn new(domain: Domain) -> Self {
        let mut inner = Sha3_256::new();
        let tag = domain.tag().as_bytes();
        // Length fits: `Domain::new` asserts at most 255 bytes.
        inner.update([tag.len() as u8]);
        inner.update(tag);
        Hasher(inner)
    }

    /// Absorbs bytes.
    pub fn update(&mut self, data: impl AsRef<[u8]>) -> &mut Self {
        self.0.update(data.as_ref());
        self
    }

    /// The digest.
    pub fn finalize(self) -> Hash {
        Hash(self.0.finalize().into())
    }
}

/// `SHA3-256(len(tag) ‖ tag ‖ data)`.
pub fn hash(domain: Domain, data: impl AsRef<[u8]>) -> Hash {
    let mut h = Hasher::new(domain);
    h.update(data);
    h.finalize()
}

/// Hash of the canonical encoding of `value` in `domain`.
pub fn hash_encoded<T: Serialize + ?Sized>(domain: Domain, value: &T) -> Hash {
    hash(domain, crate::codec::encode(value))
}

/// Declares a newtype over [`Hash`] with hex display and parsing.
macro_rules! hash_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        pub struct $name(pub Hash);

        impl $name {
            /// The underlying hash.
            pub const fn hash(&self) -> &Hash {
                &self.0
            }
            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0 .0
            }
        }

        impl From<Hash> for $name {
            fn from(h: Hash) -> Self {
                $name(h)
            }
        }

        impl From<$name> for Hash {
            fn from(id: $name) -> Hash {
                id.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseHashError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Hash::from_hex(s).map($name)
            }
        }
    };
}

hash_id!(
    /// Identifies a transaction: the hash of its encoding *without* witnesses
    /// ([`Domain::TX`]), so signatures and proofs cannot change it.
    TxId
);
hash_id!(
    /// Identifies a block: the hash of its header ([`Domain::BLOCK_HEADER`]).
    BlockHash
);
hash_id!(
    /// Identifies resource content in URES: a Merkle root over the content's chunks, defined by
    /// the resource store (see `wes-ures`).
    ContentId
);
hash_id!(
    /// Identifies a deployed contract. Which code a contract runs, and how its id is derived,
    /// is a rule of the chain's executor (see `wes-ispc`); the ledger only compares ids.
    ContractId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_an_independent_sha3_implementation() {
        // Python: hashlib.sha3_256(b"\x06wes/tx").hexdigest()
        assert_eq!(
            hash(Domain::TX, b"").to_hex(),
            "86c469328fbe1f2ecc8dcf248609ba9c180cc30a6314bcf4e9655e07548990b0"
        );
    }

    #[test]
    fn domains_separate_equal_data() {
        assert_ne!(hash(Domain::TX, b"x"), hash(Domain::WITNESS, b"x"));
    }

    #[test]
    fn incremental_matches_one_shot() {
        let mut h = Hasher::new(Domain::TX);
        h.update(b"ab").update(b"c");
        assert_eq!(h.finalize(), hash(Domain::TX, b"abc"));
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let h = hash(Domain::TX, b"abc");
        assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
        assert_eq!(format!("0x{h}").parse::<Hash>().unwrap(), h);
        assert!(Hash::from_hex("zz").is_err());
        assert!(Hash::from_hex(&"00".repeat(31)).is_err());
    }

    #[test]
    fn xor_is_its_own_inverse() {
        let a = hash(Domain::TX, b"a");
        let b = hash(Domain::TX, b"b");
        assert_eq!(a.xor(&b).xor(&b), a);
        assert_eq!(a.xor(&a), Hash::ZERO);
    }
}
