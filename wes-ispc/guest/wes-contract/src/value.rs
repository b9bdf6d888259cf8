//! Typed values: what a declared contract's arguments, return values, events and stored values
//! are, and how each is encoded (see [`Ty`] for the encodings).

use crate::abi::{ErrorDesc, Ty};
use crate::codec::{lock_len, Lock, Token};
use crate::{abort, abort_with, set_return, Reader, Writer, MAX_RETURN_LEN};

/// A type with a place in a contract's interface: its [`Ty`] says how it is encoded and how
/// the ABI names it.
pub trait Type {
    /// The type, as the ABI describes it.
    const TY: Ty;
}

/// A value that can be written: an argument of a nested call, a return value, an event field,
/// a stored value.
pub trait Encode: Type {
    /// Appends the value's encoding to `w` (aborting the call if `w` is full).
    fn encode<const N: usize>(&self, w: &mut Writer<N>);
}

/// A value that can be read, possibly borrowing from the bytes it is read from (`&'a [u8]`,
/// `&'a str`). A read that fails (too short, a bad tag, bad UTF-8) aborts the call with the
/// reader's name ("args", "state"...).
pub trait Decode<'a>: Type + Sized {
    /// Reads one value from the front of `r`.
    fn decode(r: &mut Reader<'a>) -> Self;
}

/// The same type with its borrows (if any) living for `'v`: what lets a constant such as
/// `Map<[u8; 32], Escrow<'static>>` store and load an `Escrow<'v>` that borrows from a local
/// buffer. `Of` is `Self` for a type that borrows nothing. [`record!`](crate::record!)
/// implements it for records.
pub trait WithLifetime<'v> {
    /// The type, borrowing for `'v`.
    type Of: Encode + Decode<'v>;
}

/// `WithLifetime` of types that borrow nothing: `Of = Self`.
macro_rules! owned {
    ($($t:ty),*) => {$(
        impl<'v> WithLifetime<'v> for $t {
            type Of = $t;
        }
    )*};
}

owned!(
    (),
    bool,
    u8,
    u16,
    u32,
    u64,
    u128,
    i8,
    i16,
    i32,
    i64,
    i128,
    Lock,
    Token
);

impl<'v, const M: usize> WithLifetime<'v> for [u8; M] {
    type Of = [u8; M];
}
impl<'v, const M: usize> WithLifetime<'v> for Writer<M> {
    type Of = Writer<M>;
}
impl<'v> WithLifetime<'v> for &[u8] {
    type Of = &'v [u8];
}
impl<'v> WithLifetime<'v> for &str {
    type Of = &'v str;
}
impl<'v> WithLifetime<'v> for EncodedLock<'_> {
    type Of = EncodedLock<'v>;
}
impl<'v, T: WithLifetime<'v>> WithLifetime<'v> for Option<T> {
    type Of = Option<T::Of>;
}

/// The value an entry point returns, turned into the call's outcome.
pub trait Return {
    /// The type of the return data, as the ABI describes it.
    const TY: Ty;
    /// Sets the return data (or fails the call, for an error).
    fn finish(self);
}

impl<T: Encode> Return for T {
    const TY: Ty = T::TY;

    fn finish(self) {
        let mut w = Writer::<MAX_RETURN_LEN>::new();
        self.encode(&mut w);
        if !w.is_empty() {
            set_return(&w);
        }
    }
}

impl<T: Return, E: ContractError> Return for Result<T, E> {
    const TY: Ty = T::TY;

    fn finish(self) {
        match self {
            Ok(v) => v.finish(),
            Err(e) => e.fail(),
        }
    }
}

/// The errors a contract's calls fail with: an enum declared with
/// [`errors!`](crate::errors!), each variant with a code and a message.
pub trait ContractError: Copy {
    /// Every error of the type, for the ABI.
    const ERRORS: &'static [ErrorDesc];

    /// This error's code.
    fn code(&self) -> u32;

    /// This error's description.
    fn desc(&self) -> &'static ErrorDesc {
        let code = self.code();
        let mut i = 0;
        while i < Self::ERRORS.len() {
            if Self::ERRORS[i].code == code {
                return &Self::ERRORS[i];
            }
            i += 1;
        }
        abort("undeclared error code")
    }

    /// Fails the call with this error: the abort message is `#<code> <Name>: <message>`,
    /// which the node decodes with the contract's ABI.
    fn fail(&self) -> ! {
        let desc = self.desc();
        let mut digits = [0u8; 10];
        let mut n = desc.code;
        let mut k = digits.len();
        loop {
            k -= 1;
            digits[k] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        // ASCII digits.
        let code = core::str::from_utf8(&digits[k..]).unwrap_or("?");
        abort_with(&["#", code, " ", desc.name, ": ", desc.message])
    }
}

/// `Ok(())` if `cond` holds, else `Err(error)`: `ensure(amount > 0, Error::ZeroAmount)?`.
pub fn ensure<E>(cond: bool, error: E) -> Result<(), E> {
    if cond {
        Ok(())
    } else {
        Err(error)
    }
}

impl Type for () {
    const TY: Ty = Ty::Unit;
}
impl Encode for () {
    fn encode<const N: usize>(&self, _: &mut Writer<N>) {}
}
impl<'a> Decode<'a> for () {
    fn decode(_: &mut Reader<'a>) -> Self {}
}

/// Integers: little-endian, fixed width.
macro_rules! integers {
    ($($t:ty => $ty:ident),*) => {$(
        impl Type for $t {
            const TY: Ty = Ty::$ty;
        }
        impl Encode for $t {
            fn encode<const N: usize>(&self, w: &mut Writer<N>) {
                w.bytes(&self.to_le_bytes());
            }
        }
        impl<'a> Decode<'a> for $t {
            fn decode(r: &mut Reader<'a>) -> Self {
                <$t>::from_le_bytes(r.array())
            }
        }
    )*};
}

integers!(u8 => U8, u16 => U16, u32 => U32, u64 => U64, u128 => U128,
          i8 => I8, i16 => I16, i32 => I32, i64 => I64, i128 => I128);

impl Type for bool {
    const TY: Ty = Ty::Bool;
}
impl Encode for bool {
    fn encode<const N: usize>(&self, w: &mut Writer<N>) {
        w.u8(*self as u8);
    }
}
impl<'a> Decode<'a> for bool {
    fn decode(r: &mut Reader<'a>) -> Self {
        match r.u8() {
            0 => false,
            1 => true,
            _ => abort_with(&[r.name(), ": a bool is not 0 or 1"]),
        }
    }
}

impl<const M: usize> Type for [u8; M] {
    const TY: Ty = Ty::Fixed(M);
}
impl<const M: usize> Encode for [u8; M] {
    fn encode<const N: usize>(&self, w: &mut Writer<N>) {
        w.bytes(self);
    }
}
impl<'a, const M: usize> Decode<'a> for [u8; M] {
    fn decode(r: &mut Reader<'a>) -> Self {
        r.array()
    }
}

impl Type for &[u8] {
    const TY: Ty = Ty::Bytes;
}
impl Encode for &[u8] {
    fn encode<const N: usize>(&self, w: &mut Writer<N>) {
        w.prefixed_u32(self);
    }
}
impl<'a> Decode<'a> for &'a [u8] {
    fn decode(r: &mut Reader<'a>) -> Self {
        r.prefixed_u32()
    }
}

impl Type for &str {
    const TY: Ty = Ty::Str;
}
impl Encode for &str {
    fn encode<const N: usize>(&self, w: &mut Writer<N>) {
        w.prefixed_u32(self.as_bytes());
    }
}
impl<'a> Decode<'a> for &'a str {
    fn decode(r: &mut Reader<'a>) -> Self {
        match core::str::from_utf8(r.prefixed_u32()) {
            Ok(s) => s,
            Err(_) => abort_with(&[r.name(), ": not UTF-8"]),
        }
    }
}

/// An owned byte string of at most `M` bytes: encoded as `&[u8]` is. Decoding a longer one
/// aborts the call.
impl<const M: usize> Type for Writer<M> {
    const TY: Ty = Ty::Bytes;
}
impl<const M: usize> Encode for Writer<M> {
    fn encode<const N: usize>(&self, w: &mut Writer<N>) {
        w.prefixed_u32(self);
    }
}
impl<'a, const M: usize> Decode<'a> for Writer<M> {
    fn decode(r: &mut Reader<'a>) -> Self {
        let bytes = r.prefixed_u32();
        if bytes.len() > M {
            abort_with(&[r.name(), ": a byte string is longer than its type allows"])
        }
        let mut w = Writer::new();
        w.bytes(bytes);
        w
    }
}

impl<T: Type> Type for Option<T> {
    const TY: Ty = Ty::Option(&T::TY);
}
impl<T: Encode> Encode for Option<T> {
    fn encode<const N: usize>(&self, w: &mut Writer<N>) {
        match self {
            None => {
                w.u8(0);
            }
            Some(v) => {
                w.u8(1);
                v.encode(w);
            }
        }
    }
}
impl<'a, T: Decode<'a>> Decode<'a> for Option<T> {
    fn decode(r: &mut Reader<'a>) -> Self {
        match r.u8() {
            0 => None,
            1 => Some(T::decode(r)),
            _ => abort_with(&[r.name(), ": an option's tag is not 0 or 1"]),
        }
    }
}

/// Any encoded lock (key, multisig, contract, time-locked, sponsor pool), borrowed from the
/// bytes it was read from. [`Lock`] holds only the two common kinds; use this type to accept
/// every lock a wallet may name (a multisig recipient, say).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EncodedLock<'a>(&'a [u8]);

impl<'a> EncodedLock<'a> {
    /// `bytes` if they are exactly one well-formed encoded lock.
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        if lock_len(bytes) == Some(bytes.len()) {
            Some(EncodedLock(bytes))
        } else {
            None
        }
    }

    /// The encoded lock.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl<'a> core::ops::Deref for EncodedLock<'a> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0
    }
}

impl Type for EncodedLock<'_> {
    const TY: Ty = Ty::Lock;
}
impl Encode for EncodedLock<'_> {
    fn encode<const N: usize>(&self, w: &mut Writer<N>) {
        w.bytes(self.0);
    }
}
impl<'a> Decode<'a> for EncodedLock<'a> {
    fn decode(r: &mut Reader<'a>) -> Self {
        match lock_len(r.peek_rest()) {
            Some(n) => EncodedLock(r.bytes(n)),
            None => abort_with(&[r.name(), ": not a lock"]),
        }
    }
}

impl Type for Lock {
    const TY: Ty = Ty::Lock;
}
impl Encode for Lock {
    fn encode<const N: usize>(&self, w: &mut Writer<N>) {
        w.bytes(self.as_bytes());
    }
}
impl<'a> Decode<'a> for Lock {
    /// Reads a key or contract lock; aborts on any other lock kind (read an [`EncodedLock`]
    /// to accept those).
    fn decode(r: &mut Reader<'a>) -> Self {
        let lock = EncodedLock::decode(r);
        match Lock::from_bytes(lock.as_bytes()) {
            Some(lock) => lock,
            None => abort_with(&[r.name(), ": only a key or contract lock is accepted"]),
        }
    }
}

impl Type for Token {
    const TY: Ty = Ty::Token;
}
impl Encode for Token {
    fn encode<const N: usize>(&self, w: &mut Writer<N>) {
        w.bytes(&self.encode());
    }
}
impl<'a> Decode<'a> for Token {
    fn decode(r: &mut Reader<'a>) -> Self {
        match Token::decode(r.peek_rest()) {
            Some((token, n)) => {
                r.bytes(n);
                token
            }
            None => abort_with(&[r.name(), ": not a token"]),
        }
    }
}

/// Encodes `value` into a fresh [`Writer`] of `N` bytes (arguments of a nested
/// [`call`](crate::call), say).
pub fn encode<T: Encode, const N: usize>(value: &T) -> Writer<N> {
    let mut w = Writer::new();
    value.encode(&mut w);
    w
}

/// Decodes exactly one `T` from `bytes` (a nested call's return data, say), naming them `what`
/// in abort messages.
pub fn decode<'a, T: Decode<'a>>(bytes: &'a [u8], what: &'static str) -> T {
    let mut r = Reader::named(bytes, what);
    let v = T::decode(&mut r);
    r.end();
    v
}
