//! Addresses: short, checksummed names of locks.
//!
//! An address is `H(address-domain, encode(lock))`, shown as bech32m with the prefix `wes`
//! (e.g. `wes1…`), so a mistyped character is caught before funds go astray. Two equal locks
//! have the same address; an address reveals nothing of the lock until it is spent.

use core::fmt;
use core::str::FromStr;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use serde::{Deserialize, Serialize};

use crate::hash::{Domain, Hash, hash_encoded};
use crate::types::lock::Lock;

/// The human-readable prefix of addresses.
pub const ADDRESS_HRP: &str = "wes";

/// The address of a lock.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Address(pub Hash);

impl Address {
    /// The address of `lock`.
    pub fn of(lock: &Lock) -> Self {
        Address(hash_encoded(Domain::ADDRESS, lock))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse_unchecked(ADDRESS_HRP);
        match bech32::encode::<Bech32m>(hrp, self.0.as_bytes()) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

/// A string that is not a WES address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseAddressError {
    /// Not bech32m, or the checksum fails.
    #[error("not a bech32m string with a valid checksum: {0}")]
    Encoding(String),
    /// A bech32m string for something else.
    #[error("address prefix is {got:?}, expected {ADDRESS_HRP:?}")]
    WrongPrefix {
        /// The prefix found.
        got: String,
    },
    /// The payload is not 32 bytes.
    #[error("address payload is {got} bytes, expected 32")]
    WrongLength {
        /// Bytes found.
        got: usize,
    },
}

impl FromStr for Address {
    type Err = ParseAddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let checked = CheckedHrpstring::new::<Bech32m>(s)
            .map_err(|e| ParseAddressError::Encoding(e.to_string()))?;
        if checked.hrp().as_str() != ADDRESS_HRP {
            return Err(ParseAddressError::WrongPrefix {
                got: checked.hrp().to_string(),
            });
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| ParseAddressError::WrongLength { got: bytes.len() })?;
        Ok(Address(Hash(arr)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;

    #[test]
    fn address_round_trips_and_catches_typos() {
        let lock = Lock::key(SecretKey::from_seed([1; 32]).public_key());
        let addr = lock.address();
        let s = addr.to_string();
        assert!(s.starts_with("wes1"), "{s}");
        assert_eq!(s.parse::<Address>().unwrap(), addr);
        let mut typo = s.clone().into_bytes();
        let last = typo.len() - 1;
        typo[last] = if typo[last] == b'q' { b'p' } else { b'q' };
        assert!(String::from_utf8(typo).unwrap().parse::<Address>().is_err());
    }

    #[test]
    fn different_locks_have_different_addresses() {
        let a = Lock::key(SecretKey::from_seed([1; 32]).public_key());
        let b = Lock::key(SecretKey::from_seed([2; 32]).public_key());
        assert_ne!(a.address(), b.address());
    }
}
