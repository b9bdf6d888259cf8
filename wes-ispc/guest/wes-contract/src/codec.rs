//! The host's canonical encodings (`wes_core::codec`: bincode 2, fixed-width little-endian
//! integers, enum variant = `u32le`, `[u8; 32]` = 32 raw bytes, `u128` = 16 bytes, `Vec` and
//! byte strings = `u64le` length ‖ bytes, `Option` = one byte 0/1 ‖ value).
//!
//! This module is pure: it calls no host function and never aborts, so it also builds on the
//! host (the `wes-ispc` tests compare it byte for byte with `wes_core::codec`).

use core::ops::Deref;

/// Length of `enc(Lock::Guarded(Guard::Key(_)))` and `enc(Lock::Guarded(Guard::Contract(_)))`.
pub const LOCK_LEN: usize = 40;
/// Length of `enc(OutPoint)`: the 32-byte transaction id ‖ `u32le` index.
pub const OUTPOINT_LEN: usize = 36;
/// Length of `enc(TokenId::Native)`.
pub const TOKEN_NATIVE_LEN: usize = 4;
/// Length of `enc(TokenId::Issued { .. })`, the longest token encoding.
pub const TOKEN_MAX_LEN: usize = 68;
/// The most keys a multisig lock may list (`wes_core::MAX_MULTISIG_KEYS`).
pub const MAX_MULTISIG_KEYS: u64 = 32;

/// `enc(Lock::Guarded)`: variant 0.
const LOCK_GUARDED: u32 = 0;
/// `enc(Lock::TimeLocked)`: variant 1.
const LOCK_TIME_LOCKED: u32 = 1;
/// `enc(Lock::SponsorPool)`: variant 2.
const LOCK_SPONSOR_POOL: u32 = 2;
/// `enc(Guard::Key)`: variant 0.
const GUARD_KEY: u32 = 0;
/// `enc(Guard::MultiSig)`: variant 1.
const GUARD_MULTISIG: u32 = 1;
/// `enc(Guard::Contract)`: variant 2.
const GUARD_CONTRACT: u32 = 2;
/// `enc(OutputBody::Asset)`: variant 0.
const BODY_ASSET: u32 = 0;
/// `enc(TokenId::Native)`: variant 0.
const TOKEN_NATIVE: u32 = 0;
/// `enc(TokenId::Issued)`: variant 1.
const TOKEN_ISSUED: u32 = 1;

/// Reads a `u32le` at `at`, if the bytes are there.
fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a `u64le` at `at`, if the bytes are there.
fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// Reads 32 raw bytes at `at`, if they are there.
fn array32_at(bytes: &[u8], at: usize) -> Option<[u8; 32]> {
    let b = bytes.get(at..at.checked_add(32)?)?;
    let mut a = [0u8; 32];
    a.copy_from_slice(b);
    Some(a)
}

/// An encoded lock of the two common kinds: spendable by one Ed25519 key, or owned by a
/// contract. It dereferences to its 40 encoded bytes, ready for
/// [`output_asset`](crate::output_asset).
///
/// ```text
/// enc(Lock::Guarded(Guard::Key(pk)))       = 00000000 00000000 ‖ pk[32]
/// enc(Lock::Guarded(Guard::Contract(id)))  = 00000000 02000000 ‖ id[32]
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Lock([u8; LOCK_LEN]);

impl Lock {
    fn guarded(guard: u32, body: &[u8; 32]) -> Lock {
        let mut b = [0u8; LOCK_LEN];
        b[0..4].copy_from_slice(&LOCK_GUARDED.to_le_bytes());
        b[4..8].copy_from_slice(&guard.to_le_bytes());
        b[8..40].copy_from_slice(body);
        Lock(b)
    }

    /// `Lock::key(pk)`: spendable by a signature of the Ed25519 public key `pk`.
    pub fn key(pk: &[u8; 32]) -> Lock {
        Lock::guarded(GUARD_KEY, pk)
    }

    /// `Lock::contract(id)`: owned by the contract `id`; only that contract may spend it, with
    /// [`utxo_spend`](crate::utxo_spend).
    pub fn contract(id: &[u8; 32]) -> Lock {
        Lock::guarded(GUARD_CONTRACT, id)
    }

    /// Parses exactly one 40-byte key or contract lock; `None` for anything else (including
    /// the other lock kinds, which are valid on chain but not represented by this type).
    pub fn from_bytes(bytes: &[u8]) -> Option<Lock> {
        if bytes.len() != LOCK_LEN || u32_at(bytes, 0)? != LOCK_GUARDED {
            return None;
        }
        let guard = u32_at(bytes, 4)?;
        if guard != GUARD_KEY && guard != GUARD_CONTRACT {
            return None;
        }
        let mut b = [0u8; LOCK_LEN];
        b.copy_from_slice(bytes);
        Some(Lock(b))
    }

    /// The public key if this is a key lock.
    pub fn as_key(&self) -> Option<[u8; 32]> {
        if u32_at(&self.0, 4)? == GUARD_KEY {
            array32_at(&self.0, 8)
        } else {
            None
        }
    }

    /// The contract id if this is a contract lock.
    pub fn as_contract(&self) -> Option<[u8; 32]> {
        if u32_at(&self.0, 4)? == GUARD_CONTRACT {
            array32_at(&self.0, 8)
        } else {
            None
        }
    }

    /// The 40 encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Deref for Lock {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// Length of the `enc(Guard)` that starts `bytes`, or `None` if it is not one.
fn guard_len(bytes: &[u8]) -> Option<usize> {
    match u32_at(bytes, 0)? {
        GUARD_KEY | GUARD_CONTRACT => {
            array32_at(bytes, 4)?;
            Some(36)
        }
        GUARD_MULTISIG => {
            // threshold u16 ‖ keys: u64le count ‖ count × 32 bytes.
            let count = u64_at(bytes, 6)?;
            if count > MAX_MULTISIG_KEYS {
                return None;
            }
            let len = 4 + 2 + 8 + 32 * count as usize;
            if bytes.len() < len {
                return None;
            }
            Some(len)
        }
        _ => None,
    }
}

/// Length of the `enc(Lock)` that starts `bytes` (any lock kind: guarded, time-locked or
/// sponsor pool), or `None` if the bytes do not start with a well-formed lock. Only the shape
/// is checked, not the rules the ledger applies (multisig threshold, distinct keys...).
pub fn lock_len(bytes: &[u8]) -> Option<usize> {
    match u32_at(bytes, 0)? {
        LOCK_GUARDED => Some(4 + guard_len(bytes.get(4..)?)?),
        LOCK_TIME_LOCKED => {
            // until: LockTime (variant u32 ‖ u64) ‖ guard.
            if u32_at(bytes, 4)? > 1 {
                return None;
            }
            u64_at(bytes, 8)?;
            Some(16 + guard_len(bytes.get(16..)?)?)
        }
        LOCK_SPONSOR_POOL => {
            // owner: Guard ‖ contract: Option<ContractId> ‖ max_fee_per_tx: u128.
            let mut at = 4 + guard_len(bytes.get(4..)?)?;
            match bytes.get(at)? {
                0 => at += 1,
                1 => at += 33,
                _ => return None,
            }
            at += 16;
            if bytes.len() < at {
                return None;
            }
            Some(at)
        }
        _ => None,
    }
}

/// A token id (`wes_core::TokenId`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// The chain's native token: `enc = 00000000`.
    Native,
    /// A token issued by `contract`, told apart from its others by `tag`:
    /// `enc = 01000000 ‖ contract[32] ‖ tag[32]`. Only `contract` may mint it.
    Issued {
        /// The issuing contract.
        contract: [u8; 32],
        /// The token within the contract.
        tag: [u8; 32],
    },
}

impl Token {
    /// The canonical encoding, for [`output_asset`](crate::output_asset).
    pub fn encode(&self) -> TokenBytes {
        let mut buf = [0u8; TOKEN_MAX_LEN];
        match self {
            Token::Native => {
                buf[0..4].copy_from_slice(&TOKEN_NATIVE.to_le_bytes());
                TokenBytes {
                    buf,
                    len: TOKEN_NATIVE_LEN,
                }
            }
            Token::Issued { contract, tag } => {
                buf[0..4].copy_from_slice(&TOKEN_ISSUED.to_le_bytes());
                buf[4..36].copy_from_slice(contract);
                buf[36..68].copy_from_slice(tag);
                TokenBytes {
                    buf,
                    len: TOKEN_MAX_LEN,
                }
            }
        }
    }

    /// Decodes the token that starts `bytes`: the token and its encoded length, or `None`.
    pub fn decode(bytes: &[u8]) -> Option<(Token, usize)> {
        match u32_at(bytes, 0)? {
            TOKEN_NATIVE => Some((Token::Native, TOKEN_NATIVE_LEN)),
            TOKEN_ISSUED => Some((
                Token::Issued {
                    contract: array32_at(bytes, 4)?,
                    tag: array32_at(bytes, 36)?,
                },
                TOKEN_MAX_LEN,
            )),
            _ => None,
        }
    }

    /// Decodes `bytes` if they are exactly one encoded token.
    pub fn from_bytes(bytes: &[u8]) -> Option<Token> {
        match Token::decode(bytes)? {
            (token, len) if len == bytes.len() => Some(token),
            _ => None,
        }
    }
}

/// An encoded [`Token`] (4 or 68 bytes); dereferences to the bytes.
#[derive(Clone, Copy)]
pub struct TokenBytes {
    buf: [u8; TOKEN_MAX_LEN],
    len: usize,
}

impl TokenBytes {
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Deref for TokenBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// `enc(OutPoint { tx, index })` = `tx[32] ‖ u32le index`, the argument of
/// [`utxo_get`](crate::utxo_get) and [`utxo_spend`](crate::utxo_spend).
pub fn outpoint(tx: &[u8; 32], index: u32) -> [u8; OUTPOINT_LEN] {
    let mut b = [0u8; OUTPOINT_LEN];
    b[..32].copy_from_slice(tx);
    b[32..].copy_from_slice(&index.to_le_bytes());
    b
}

/// Splits an encoded outpoint into its transaction id and output index.
pub fn outpoint_parts(outpoint: &[u8; OUTPOINT_LEN]) -> ([u8; 32], u32) {
    let mut tx = [0u8; 32];
    tx.copy_from_slice(&outpoint[..32]);
    let mut index = [0u8; 4];
    index.copy_from_slice(&outpoint[32..]);
    (tx, u32::from_le_bytes(index))
}

/// An asset output, as parsed from `enc(Output)` (what [`utxo_get`](crate::utxo_get) returns).
#[derive(Clone, Copy)]
pub struct AssetOutput<'a> {
    /// The encoded lock (compare with [`Lock::as_bytes`], or parse it with
    /// [`Lock::from_bytes`]).
    pub lock: &'a [u8],
    /// The token.
    pub token: Token,
    /// The encoded token, as it appears in the output.
    pub token_bytes: &'a [u8],
    /// The amount (`u128`; [`output_asset`](crate::output_asset) takes a `u64`).
    pub amount: u128,
}

/// Parses `enc(Output)` = `enc(lock) ‖ 00000000 ‖ enc(token) ‖ u128le amount` for an asset
/// output. `None` if `output` is another kind of output (resource, state) or malformed.
pub fn parse_asset_output(output: &[u8]) -> Option<AssetOutput<'_>> {
    let lock_end = lock_len(output)?;
    if u32_at(output, lock_end)? != BODY_ASSET {
        return None;
    }
    let token_at = lock_end + 4;
    let (token, token_len) = Token::decode(output.get(token_at..)?)?;
    let amount_at = token_at + token_len;
    let amount = output.get(amount_at..)?;
    if amount.len() != 16 {
        return None;
    }
    let mut a = [0u8; 16];
    a.copy_from_slice(amount);
    Some(AssetOutput {
        lock: &output[..lock_end],
        token,
        token_bytes: &output[token_at..amount_at],
        amount: u128::from_le_bytes(a),
    })
}
