//! The contract's interface description (its ABI), built at compile time.
//!
//! [`contract!`](crate::contract!) describes the contract it declares as a [`ContractDesc`] and
//! writes it as JSON into the WASM custom section [`SECTION`] of the module, so the
//! description travels with the code: whoever holds the module (the node that stores it as a
//! Resource, a client, the deploy-time checker) holds its interface. Everything here is
//! `const`: no allocator, no formatting, nothing at run time.
//!
//! The JSON (format [`ABI_FORMAT`]):
//!
//! ```text
//! {"abi":1,"hostabi":1,"name":"token",
//!  "entries":[{"name":"mint","doc":"…","args":[{"name":"tag","type":"bytes32"},…],"returns":"unit"},…],
//!  "events":[{"name":"Minted","doc":"…","fields":[{"name":"amount","type":"u64"},…]},…],
//!  "errors":[{"code":1,"name":"NotOwner","message":"…"},…]}
//! ```
//!
//! Types are strings for the scalars (`unit`, `bool`, `u8`…`u128`, `i8`…`i128`, `bytes`,
//! `string`, `bytes<N>` such as `bytes32`, `lock`, `token`) and objects for the composites
//! (`{"option":T}`, `{"record":"Name","fields":[…]}`); see [`Ty`] for each encoding.

/// The WASM custom section that holds a contract's ABI JSON.
pub const SECTION: &str = "wes:abi";

/// The version of the ABI JSON format (its `"abi"` field).
pub const ABI_FORMAT: u32 = 1;

/// The type of a value in a contract's interface, and how it is encoded (the encoding of
/// arguments, return data, event data and stored values alike).
#[derive(Clone, Copy)]
pub enum Ty {
    /// Nothing (no bytes): an entry that returns nothing.
    Unit,
    /// One byte, 0 or 1.
    Bool,
    /// Little-endian integers of 1, 2, 4, 8 and 16 bytes.
    U8,
    /// See [`Ty::U8`].
    U16,
    /// See [`Ty::U8`].
    U32,
    /// See [`Ty::U8`].
    U64,
    /// See [`Ty::U8`].
    U128,
    /// Two's complement little-endian integers of 1, 2, 4, 8 and 16 bytes.
    I8,
    /// See [`Ty::I8`].
    I16,
    /// See [`Ty::I8`].
    I32,
    /// See [`Ty::I8`].
    I64,
    /// See [`Ty::I8`].
    I128,
    /// A byte string: its `u32le` length, then the bytes.
    Bytes,
    /// A UTF-8 string: its `u32le` length, then the bytes.
    Str,
    /// Exactly `N` bytes, no length (`[u8; N]`: ids, addresses, outpoints).
    Fixed(usize),
    /// An encoded lock (`enc(Lock)`, which delimits itself).
    Lock,
    /// An encoded token id (`enc(TokenId)`, 4 or 68 bytes, delimits itself).
    Token,
    /// `0` for none, or `1` then the value.
    Option(&'static Ty),
    /// A record: its fields in order, each in its own encoding.
    Record(&'static str, &'static [Field]),
}

/// A named, typed value: an argument or a record's field.
#[derive(Clone, Copy)]
pub struct Field {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: Ty,
}

/// An entry point.
#[derive(Clone, Copy)]
pub struct EntryDesc {
    /// The exported function's name.
    pub name: &'static str,
    /// Its documentation, one element per doc-comment line.
    pub doc: &'static [&'static str],
    /// Its arguments, encoded one after the other.
    pub args: &'static [Field],
    /// What it returns (its return data).
    pub returns: Ty,
}

/// An event: its topic is the name, its data the fields encoded in order.
#[derive(Clone, Copy)]
pub struct EventDesc {
    /// The topic.
    pub name: &'static str,
    /// Its documentation.
    pub doc: &'static [&'static str],
    /// Its fields.
    pub fields: &'static [Field],
}

/// An error a call may fail with.
#[derive(Clone, Copy)]
pub struct ErrorDesc {
    /// Its code (unique in the contract).
    pub code: u32,
    /// Its name.
    pub name: &'static str,
    /// The message the caller sees.
    pub message: &'static str,
}

/// A whole contract.
#[derive(Clone, Copy)]
pub struct ContractDesc {
    /// The contract's name (its crate's).
    pub name: &'static str,
    /// The HostABI version it was built against.
    pub hostabi: u32,
    /// Its entry points.
    pub entries: &'static [EntryDesc],
    /// Its events.
    pub events: &'static [EventDesc],
    /// Its errors.
    pub errors: &'static [ErrorDesc],
}

/// The fields of a record type; empty for any other type.
pub const fn record_fields(ty: &Ty) -> &'static [Field] {
    match ty {
        Ty::Record(_, fields) => fields,
        _ => &[],
    }
}

/// A JSON text being written into `N` bytes at compile time. Bytes past `N` are counted but
/// not stored, so a first pass with `N = 0` measures the length ([`abi_len`]).
pub struct JsonWriter<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> JsonWriter<N> {
    /// An empty text.
    pub const fn new() -> Self {
        JsonWriter {
            buf: [0u8; N],
            len: 0,
        }
    }

    const fn byte(mut self, b: u8) -> Self {
        if self.len < N {
            self.buf[self.len] = b;
        }
        self.len += 1;
        self
    }

    /// Appends `s` as it is.
    pub const fn raw(mut self, s: &str) -> Self {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            self = self.byte(b[i]);
            i += 1;
        }
        self
    }

    /// Appends the decimal digits of `n`.
    pub const fn num(mut self, mut n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            k += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while k > 0 {
            k -= 1;
            self = self.byte(digits[k]);
        }
        self
    }

    /// Appends the body of a JSON string (no quotes) holding `s` from byte `from` (a
    /// character boundary), escaped.
    const fn escaped(mut self, s: &str, from: usize) -> Self {
        let b = s.as_bytes();
        let mut i = from;
        while i < b.len() {
            let c = b[i];
            if c == b'"' || c == b'\\' {
                self = self.byte(b'\\').byte(c);
            } else if c == b'\n' {
                self = self.raw("\\n");
            } else if c < 0x20 {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self = self
                    .raw("\\u00")
                    .byte(HEX[(c >> 4) as usize])
                    .byte(HEX[(c & 15) as usize]);
            } else {
                self = self.byte(c);
            }
            i += 1;
        }
        self
    }

    /// Appends `s` as a JSON string.
    pub const fn string(self, s: &str) -> Self {
        self.raw("\"").escaped(s, 0).raw("\"")
    }

    /// Appends doc-comment lines as one JSON string, lines joined by `\n`, each without the
    /// one space that follows `///`.
    pub const fn doc(mut self, lines: &[&str]) -> Self {
        self = self.raw("\"");
        let mut i = 0;
        while i < lines.len() {
            if i > 0 {
                self = self.raw("\\n");
            }
            let line = lines[i].as_bytes();
            let start = if !line.is_empty() && line[0] == b' ' {
                1
            } else {
                0
            };
            // A suffix of a `str` at an ASCII boundary is still UTF-8: write its bytes.
            let mut j = start;
            while j < line.len() {
                let c = line[j];
                if c == b'"' || c == b'\\' {
                    self = self.byte(b'\\').byte(c);
                } else if c < 0x20 {
                    self = self.byte(b' ');
                } else {
                    self = self.byte(c);
                }
                j += 1;
            }
            i += 1;
        }
        self.raw("\"")
    }

    /// Appends a type (see the module documentation).
    pub const fn ty(self, ty: &Ty) -> Self {
        match ty {
            Ty::Unit => self.raw("\"unit\""),
            Ty::Bool => self.raw("\"bool\""),
            Ty::U8 => self.raw("\"u8\""),
            Ty::U16 => self.raw("\"u16\""),
            Ty::U32 => self.raw("\"u32\""),
            Ty::U64 => self.raw("\"u64\""),
            Ty::U128 => self.raw("\"u128\""),
            Ty::I8 => self.raw("\"i8\""),
            Ty::I16 => self.raw("\"i16\""),
            Ty::I32 => self.raw("\"i32\""),
            Ty::I64 => self.raw("\"i64\""),
            Ty::I128 => self.raw("\"i128\""),
            Ty::Bytes => self.raw("\"bytes\""),
            Ty::Str => self.raw("\"string\""),
            Ty::Fixed(n) => self.raw("\"bytes").num(*n as u64).raw("\""),
            Ty::Lock => self.raw("\"lock\""),
            Ty::Token => self.raw("\"token\""),
            Ty::Option(inner) => self.raw("{\"option\":").ty(inner).raw("}"),
            Ty::Record(name, fields) => self
                .raw("{\"record\":")
                .string(name)
                .raw(",\"fields\":")
                .fields(fields)
                .raw("}"),
        }
    }

    /// Appends `[{"name":…,"type":…},…]`.
    pub const fn fields(mut self, fields: &[Field]) -> Self {
        self = self.raw("[");
        let mut i = 0;
        while i < fields.len() {
            if i > 0 {
                self = self.raw(",");
            }
            self = self
                .raw("{\"name\":")
                .string(fields[i].name)
                .raw(",\"type\":")
                .ty(&fields[i].ty)
                .raw("}");
            i += 1;
        }
        self.raw("]")
    }

    /// Appends the whole description of `c`.
    pub const fn contract(mut self, c: &ContractDesc) -> Self {
        self = self
            .raw("{\"abi\":")
            .num(ABI_FORMAT as u64)
            .raw(",\"hostabi\":")
            .num(c.hostabi as u64)
            .raw(",\"name\":")
            .raw("\"")
            .escaped(c.name, last_segment(c.name))
            .raw("\"")
            .raw(",\"entries\":[");
        let mut i = 0;
        while i < c.entries.len() {
            let e = &c.entries[i];
            if i > 0 {
                self = self.raw(",");
            }
            self = self
                .raw("{\"name\":")
                .string(e.name)
                .raw(",\"doc\":")
                .doc(e.doc)
                .raw(",\"args\":")
                .fields(e.args)
                .raw(",\"returns\":")
                .ty(&e.returns)
                .raw("}");
            i += 1;
        }
        self = self.raw("],\"events\":[");
        i = 0;
        while i < c.events.len() {
            let e = &c.events[i];
            if i > 0 {
                self = self.raw(",");
            }
            self = self
                .raw("{\"name\":")
                .string(e.name)
                .raw(",\"doc\":")
                .doc(e.doc)
                .raw(",\"fields\":")
                .fields(e.fields)
                .raw("}");
            i += 1;
        }
        self = self.raw("],\"errors\":[");
        i = 0;
        while i < c.errors.len() {
            let e = &c.errors[i];
            if i > 0 {
                self = self.raw(",");
            }
            self = self
                .raw("{\"code\":")
                .num(e.code as u64)
                .raw(",\"name\":")
                .string(e.name)
                .raw(",\"message\":")
                .string(e.message)
                .raw("}");
            i += 1;
        }
        self.raw("]}")
    }

    /// The length written (or measured).
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes (all `N`: use `N` = [`abi_len`]).
    pub const fn into_bytes(self) -> [u8; N] {
        self.buf
    }
}

impl<const N: usize> Default for JsonWriter<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the last segment of a module path starts (`token` of `tests::token`, from
/// `module_path!()`).
const fn last_segment(path: &str) -> usize {
    let b = path.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b':' && b[i + 1] == b':' {
            start = i + 2;
        }
        i += 1;
    }
    start
}

/// Whether no two of `errors` share a code (checked at compile time by
/// [`errors!`](crate::errors!)).
pub const fn codes_unique(errors: &[ErrorDesc]) -> bool {
    let mut i = 0;
    while i < errors.len() {
        let mut j = i + 1;
        while j < errors.len() {
            if errors[i].code == errors[j].code {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

/// The length of `c`'s ABI JSON.
pub const fn abi_len(c: &ContractDesc) -> usize {
    JsonWriter::<0>::new().contract(c).len()
}

/// `c`'s ABI JSON in exactly `N` = [`abi_len`]`(c)` bytes.
pub const fn abi_json<const N: usize>(c: &ContractDesc) -> [u8; N] {
    JsonWriter::<N>::new().contract(c).into_bytes()
}
