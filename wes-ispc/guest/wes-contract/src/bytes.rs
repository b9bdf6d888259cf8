//! Reading and writing bytes: [`Reader`] for arguments, stored records and return data,
//! [`Writer`] for keys, records and requests, and [`key`] for state keys.

use crate::{abort, abort_with, MAX_KEY_LEN};

/// Reads little-endian integers and byte strings from the front of a byte slice (arguments,
/// stored records, return data). Every read that runs past the end aborts the call with
/// `"<what>: input too short"`, where `what` names the input (see [`Reader::named`]).
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader of the call arguments (`what` = `"args"`).
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader::named(buf, "args")
    }

    /// A reader of `buf`, named `what` in abort messages.
    pub fn named(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, pos: 0, what }
    }

    /// The input's name, as abort messages give it.
    pub fn name(&self) -> &'static str {
        self.what
    }

    /// Everything not read yet, without consuming it.
    pub fn peek_rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        if n > self.remaining() {
            abort_with(&[self.what, ": input too short"])
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        b
    }

    /// The next `N` bytes as an array (e.g. a 32-byte id: `r.array::<32>()`).
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N));
        a
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        self.bytes(1)[0]
    }

    /// A `u32le`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    /// A `u64le`.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    /// A `u128le`.
    pub fn u128(&mut self) -> u128 {
        u128::from_le_bytes(self.array())
    }

    /// A byte string prefixed by its `u32le` length.
    pub fn prefixed_u32(&mut self) -> &'a [u8] {
        let n = self.u32() as usize;
        self.bytes(n)
    }

    /// A byte string prefixed by its `u64le` length (the host's `Vec<u8>` encoding).
    pub fn prefixed_u64(&mut self) -> &'a [u8] {
        let n = self.u64();
        if n > self.remaining() as u64 {
            abort_with(&[self.what, ": input too short"])
        }
        self.bytes(n as usize)
    }

    /// Everything not read yet (possibly empty).
    pub fn rest(&mut self) -> &'a [u8] {
        let n = self.remaining();
        self.bytes(n)
    }

    /// Everything not read yet, as UTF-8; aborts with `"<what>: not UTF-8"` otherwise.
    pub fn rest_str(&mut self) -> &'a str {
        let b = self.rest();
        match core::str::from_utf8(b) {
            Ok(s) => s,
            Err(_) => abort_with(&[self.what, ": not UTF-8"]),
        }
    }

    /// Aborts with `"<what>: trailing bytes"` unless everything has been read.
    pub fn end(&self) {
        if !self.is_empty() {
            abort_with(&[self.what, ": trailing bytes"])
        }
    }
}

/// A fixed-capacity byte buffer of `N` bytes on the stack, for keys, records, requests and
/// return data. Writes past the capacity abort the call with `"Writer: capacity exceeded"`.
/// Writes chain: `w.bytes(b"o").bytes(&id).u64(qty);`.
#[derive(Clone, Copy)]
pub struct Writer<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> PartialEq for Writer<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> Eq for Writer<N> {}

impl<const N: usize> Writer<N> {
    /// An empty writer.
    pub const fn new() -> Self {
        Writer {
            buf: [0u8; N],
            len: 0,
        }
    }

    /// Appends `b`.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        if b.len() > N - self.len {
            abort("Writer: capacity exceeded")
        }
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        self
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes(&[v])
    }

    /// Appends a `u32le`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends a `u64le`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends a `u128le`.
    pub fn u128(&mut self, v: u128) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends `b` prefixed by its `u32le` length (read back with [`Reader::prefixed_u32`]).
    pub fn prefixed_u32(&mut self, b: &[u8]) -> &mut Self {
        if b.len() > u32::MAX as usize {
            abort("Writer: capacity exceeded")
        }
        self.u32(b.len() as u32).bytes(b)
    }

    /// Appends `b` prefixed by its `u64le` length (the host's `Vec<u8>` encoding).
    pub fn prefixed_u64(&mut self, b: &[u8]) -> &mut Self {
        self.u64(b.len() as u64).bytes(b)
    }

    /// The bytes written.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// How many bytes have been written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything written.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The capacity, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }
}

impl<const N: usize> Default for Writer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> core::ops::Deref for Writer<N> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// A state key made of `prefix` ‖ `suffix` (e.g. `key(b"supply", &tag)`). Aborts if longer than
/// [`MAX_KEY_LEN`].
pub fn key(prefix: &[u8], suffix: &[u8]) -> Writer<MAX_KEY_LEN> {
    let mut k = Writer::new();
    k.bytes(prefix).bytes(suffix);
    k
}
