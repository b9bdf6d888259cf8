//! The canonical encoding: one fixed `bincode` configuration behind two functions.
//!
//! Every consensus-visible value is encoded with [`encode`] and read back with [`decode`]:
//! little-endian, fixed-width integers (no varints, so no non-minimal encodings), lengths as
//! `u64`, enum tags as `u32`. Decoding rejects inputs over a size limit, malformed bytes and
//! trailing bytes, so for every type in this crate *a byte string decodes only if it is exactly
//! the encoding of the value it decodes to* (a property test checks this). `bincode` is kept
//! behind this module so it can be replaced without touching any other crate.

use bincode::config::{Config, Configuration, Fixint, LittleEndian, NoLimit};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest input [`decode`] accepts: 32 MiB. Chains impose tighter limits per type (a
/// transaction or block size limit) with [`decode_with_limit`].
pub const MAX_DECODE_SIZE: usize = 32 * 1024 * 1024;

/// Errors from the canonical codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input is longer than the limit allowed for it.
    #[error("{type_name}: input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The type being decoded.
        type_name: &'static str,
        /// Input length.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The bytes are not an encoding of the type.
    #[error("{type_name}: malformed encoding: {reason}")]
    Malformed {
        /// The type being decoded.
        type_name: &'static str,
        /// What the decoder found wrong.
        reason: String,
    },
    /// A value decoded but bytes were left over.
    #[error("{type_name}: {trailing} trailing bytes after a {consumed}-byte encoding")]
    TrailingBytes {
        /// The type being decoded.
        type_name: &'static str,
        /// Bytes the value used.
        consumed: usize,
        /// Bytes left over.
        trailing: usize,
    },
    /// A value could not be encoded (only possible for foreign types whose `Serialize` fails).
    #[error("{type_name}: cannot encode: {reason}")]
    Unencodable {
        /// The type being encoded.
        type_name: &'static str,
        /// Why.
        reason: String,
    },
}

fn encode_config() -> Configuration<LittleEndian, Fixint, NoLimit> {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
}

fn decode_config() -> impl Config {
    // The limit bounds how much a length prefix may claim before any allocation.
    encode_config().with_limit::<MAX_DECODE_SIZE>()
}

/// Encodes `value` canonically.
///
/// # Panics
/// Never for the types of this crate, whose `Serialize` implementations cannot fail; a foreign
/// type whose `Serialize` returns an error panics here; use [`try_encode`] for such types.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    match try_encode(value) {
        Ok(bytes) => bytes,
        Err(e) => panic!("{e}"),
    }
}

/// Encodes `value` canonically, reporting a failing `Serialize` implementation as an error.
pub fn try_encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, encode_config()).map_err(|e| CodecError::Unencodable {
        type_name: core::any::type_name::<T>(),
        reason: e.to_string(),
    })
}

/// The length of `value`'s canonical encoding.
pub fn encoded_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = ByteCounter(0);
    match bincode::serde::encode_into_writer(value, &mut counter, encode_config()) {
        Ok(()) => counter.0,
        Err(_) => encode(value).len(),
    }
}

struct ByteCounter(usize);

impl bincode::enc::write::Writer for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0 += bytes.len();
        Ok(())
    }
}

/// Decodes a `T` from exactly `bytes`, with the default [`MAX_DECODE_SIZE`] limit.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_with_limit(bytes, MAX_DECODE_SIZE)
}

/// Decodes a `T` from exactly `bytes`, rejecting inputs longer than `limit` (itself capped at
/// [`MAX_DECODE_SIZE`]) before reading them.
pub fn decode_with_limit<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    let type_name = core::any::type_name::<T>();
    let limit = limit.min(MAX_DECODE_SIZE);
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            type_name,
            size: bytes.len(),
            limit,
        });
    }
    decode_exact(bytes, decode_config())
}

/// Decodes a `T` from the front of `bytes` (at most [`MAX_DECODE_SIZE`] of them are read):
/// the value and how many bytes it took. For values that delimit themselves, read one after
/// another (a contract's ABI-encoded arguments hold encoded locks and tokens).
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), CodecError> {
    let type_name = core::any::type_name::<T>();
    let bytes = &bytes[..bytes.len().min(MAX_DECODE_SIZE)];
    bincode::serde::decode_from_slice(bytes, decode_config()).map_err(|e| CodecError::Malformed {
        type_name,
        reason: e.to_string(),
    })
}

/// Decodes a `T` from exactly `bytes` with `config` (whose limit bounds what length prefixes
/// may claim).
fn decode_exact<T: DeserializeOwned>(bytes: &[u8], config: impl Config) -> Result<T, CodecError> {
    let type_name = core::any::type_name::<T>();
    let (value, consumed) =
        bincode::serde::decode_from_slice(bytes, config).map_err(|e| CodecError::Malformed {
            type_name,
            reason: e.to_string(),
        })?;
    if consumed != bytes.len() {
        return Err(CodecError::TrailingBytes {
            type_name,
            consumed,
            trailing: bytes.len() - consumed,
        });
    }
    Ok(value)
}

/// The most a stored record may claim: what a 64-bit store can hold in one value.
const MAX_STORED_SIZE: usize = u32::MAX as usize;

/// Decodes a record this node wrote itself (a value of its own store), from exactly
/// `bytes`, without the [`MAX_DECODE_SIZE`] limit: what the node wrote, it must be able to
/// read back, however large (the undo record of a block spending many large outputs can
/// exceed 32 MiB). Never use it for bytes from elsewhere; [`decode`] bounds those.
pub fn decode_stored<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_exact(bytes, encode_config().with_limit::<MAX_STORED_SIZE>())
}

/// Serde adapters for fixed-size byte arrays longer than serde's built-in 32, encoded as a
/// tuple (no length prefix), exactly like `[u8; 32]`.
pub(crate) mod byte_array {
    use core::fmt;
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(N)?;
        for b in bytes {
            tuple.serialize_element(b)?;
        }
        tuple.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        struct ArrayVisitor<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for ArrayVisitor<N> {
            type Value = [u8; N];
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{N} bytes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
                let mut out = [0u8; N];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = seq
                        .next_element()?
                        .ok_or_else(|| Error::invalid_length(i, &self))?;
                }
                Ok(out)
            }
        }
        deserializer.deserialize_tuple(N, ArrayVisitor::<N>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = encode(&7u32);
        bytes.push(0);
        assert_eq!(
            decode::<u32>(&bytes),
            Err(CodecError::TrailingBytes {
                type_name: "u32",
                consumed: 4,
                trailing: 1
            })
        );
    }

    #[test]
    fn over_limit_input_is_rejected_before_decoding() {
        let bytes = encode(&vec![0u8; 100]);
        assert!(matches!(
            decode_with_limit::<Vec<u8>>(&bytes, 10),
            Err(CodecError::TooLarge {
                size: 108,
                limit: 10,
                ..
            })
        ));
    }

    #[test]
    fn huge_length_prefix_fails_without_allocating() {
        // A Vec<u64> claiming u64::MAX / 2 elements in a 9-byte input.
        let mut bytes = (u64::MAX / 2).to_le_bytes().to_vec();
        bytes.push(1);
        assert!(matches!(
            decode::<Vec<u64>>(&bytes),
            Err(CodecError::Malformed { .. })
        ));
    }

    #[test]
    fn integers_are_fixed_width_little_endian() {
        assert_eq!(encode(&1u64), vec![1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode(&vec![1u8, 2]), vec![2, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn invalid_bool_and_option_tags_are_rejected() {
        assert!(decode::<bool>(&[2]).is_err());
        assert!(decode::<Option<u8>>(&[2, 0]).is_err());
    }

    #[test]
    fn encoded_len_matches_encoding() {
        let v = vec![(1u32, "abc".to_string()); 3];
        assert_eq!(encoded_len(&v), encode(&v).len());
    }
}
