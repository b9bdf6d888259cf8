//! Contract ABIs: what a contract's entry points take and return, its events and its errors.
//!
//! A contract declared with the guest SDK's `contract!` carries its ABI as JSON in the WASM
//! custom section [`ABI_SECTION`] (`wes:abi`), so the description travels with the code and
//! is stored with the contract's Resource. [`ContractAbi::from_module`] reads it back. With it
//! a client encodes typed arguments ([`ContractAbi::encode_args`]) and decodes return data,
//! events and errors ([`ContractAbi::decode_return`], [`ContractAbi::decode_event`],
//! [`ContractAbi::decode_error`]); at deploy, [`ContractAbi::check_exports`] refuses a module
//! whose exports differ from its ABI's entries.
//!
//! Values are JSON (see [`AbiType`] for each type's form): integers of up to 32 bits are
//! numbers, wider ones decimal strings (a JSON number loses precision past 2^53), bytes are
//! hex, records are objects. The encoding is the guest SDK's (`wes_contract::abi::Ty`).

mod value;

use serde::{Deserialize, Serialize};

pub use value::{DecodedError, decode_value, encode_value};

/// The WASM custom section holding a contract's ABI JSON.
pub const ABI_SECTION: &str = "wes:abi";

/// The ABI JSON format this crate reads (the `"abi"` field).
pub const ABI_FORMAT: u32 = 1;

/// The HostABI version this crate implements (the `wes` import module's functions, their
/// types and costs; `HOSTABI.md`).
pub const HOSTABI_VERSION: u32 = 1;

/// Longest ABI JSON accepted, in bytes.
pub const MAX_ABI_BYTES: usize = 256 * 1024;

/// Why an ABI, or a value given for it, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    /// The module's sections cannot be walked to find the ABI.
    #[error("malformed module while looking for the ABI: {0}")]
    Module(String),
    /// The module holds more than one ABI section.
    #[error("the module holds {0} `wes:abi` sections, at most one is allowed")]
    Duplicate(usize),
    /// The ABI is larger than [`MAX_ABI_BYTES`].
    #[error("the ABI is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The ABI is not valid JSON of the expected shape.
    #[error("the ABI is not valid: {0}")]
    Malformed(String),
    /// The ABI is in a format or for a HostABI version this node does not know.
    #[error(
        "the ABI is format {format} for HostABI {hostabi}; this node reads format {ABI_FORMAT} for HostABI {}",
        HOSTABI_VERSION
    )]
    Version {
        /// Its format.
        format: u32,
        /// Its HostABI version.
        hostabi: u32,
    },
    /// The ABI's entries are not the module's exported functions.
    #[error(
        "the ABI does not match the module's exports: declared but not exported {missing:?}, exported but not declared {undeclared:?}"
    )]
    Exports {
        /// Entries of the ABI the module does not export.
        missing: Vec<String>,
        /// Functions the module exports that the ABI does not declare.
        undeclared: Vec<String>,
    },
    /// The contract has no such entry point.
    #[error("no entry point {0:?} in the ABI")]
    UnknownEntry(String),
    /// An argument was given that the entry point does not take, or one it takes is missing.
    #[error("entry point {entry:?}: {reason}")]
    Args {
        /// The entry point.
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// A value does not fit its type.
    #[error("{what}: {reason}")]
    Value {
        /// Which value (an argument's name, `return`, an event's field...).
        what: String,
        /// Why.
        reason: String,
    },
}

/// A contract's interface, as its ABI JSON describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractAbi {
    /// The JSON format ([`ABI_FORMAT`]).
    pub abi: u32,
    /// The HostABI version the contract was built against.
    pub hostabi: u32,
    /// The contract's name.
    pub name: String,
    /// Its entry points.
    pub entries: Vec<EntryAbi>,
    /// Its events (topic = name).
    #[serde(default)]
    pub events: Vec<EventAbi>,
    /// Its errors.
    #[serde(default)]
    pub errors: Vec<ErrorAbi>,
}

/// An entry point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryAbi {
    /// The exported function.
    pub name: String,
    /// Its documentation.
    #[serde(default)]
    pub doc: String,
    /// Its arguments, encoded in this order.
    pub args: Vec<FieldAbi>,
    /// What it returns.
    pub returns: AbiType,
}

/// A named, typed value: an argument, an event's or a record's field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldAbi {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: AbiType,
}

/// An event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventAbi {
    /// Its topic.
    pub name: String,
    /// Its documentation.
    #[serde(default)]
    pub doc: String,
    /// Its data, field by field.
    pub fields: Vec<FieldAbi>,
}

/// An error a call may fail with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAbi {
    /// Its code.
    pub code: u32,
    /// Its name.
    pub name: String,
    /// Its message.
    pub message: String,
}

/// A type of the interface, with its encoding and its JSON form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TypeRepr", into = "TypeRepr")]
pub enum AbiType {
    /// No bytes; JSON `null`.
    Unit,
    /// One byte, 0 or 1; JSON `true`/`false`.
    Bool,
    /// Unsigned little-endian integer of this many bits (8, 16, 32, 64 or 128): a JSON number
    /// up to 32 bits, a decimal string above (a number is accepted too).
    Uint(u32),
    /// Two's complement little-endian integer of this many bits, as [`AbiType::Uint`].
    Int(u32),
    /// `u32le` length, then the bytes; JSON hex.
    Bytes,
    /// `u32le` length, then UTF-8; a JSON string.
    String,
    /// Exactly this many bytes; JSON hex (for 32 bytes a `wes1…` address is accepted too).
    Fixed(usize),
    /// `enc(Lock)`; JSON hex of the encoding (a 32-byte public key in hex, or
    /// `contract:<hex>`, is accepted too).
    Lock,
    /// `enc(TokenId)`; JSON `"native"` or hex of the encoding.
    Token,
    /// `0`, or `1` then the value; JSON `null` or the value.
    Option(Box<AbiType>),
    /// The fields in order; a JSON object.
    Record {
        /// The record's name.
        name: String,
        /// Its fields.
        fields: Vec<FieldAbi>,
    },
}

/// The JSON form of an [`AbiType`]: a name, or an object for the composites.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum TypeRepr {
    Name(String),
    Option {
        option: Box<AbiType>,
    },
    Record {
        record: String,
        fields: Vec<FieldAbi>,
    },
}

impl TryFrom<TypeRepr> for AbiType {
    type Error = String;

    fn try_from(repr: TypeRepr) -> Result<Self, String> {
        Ok(match repr {
            TypeRepr::Option { option } => AbiType::Option(option),
            TypeRepr::Record { record, fields } => AbiType::Record {
                name: record,
                fields,
            },
            TypeRepr::Name(name) => match name.as_str() {
                "unit" => AbiType::Unit,
                "bool" => AbiType::Bool,
                "bytes" => AbiType::Bytes,
                "string" => AbiType::String,
                "lock" => AbiType::Lock,
                "token" => AbiType::Token,
                other => {
                    let int = |prefix: &str| {
                        other
                            .strip_prefix(prefix)
                            .and_then(|bits| bits.parse::<u32>().ok())
                            .filter(|bits| [8, 16, 32, 64, 128].contains(bits))
                    };
                    if let Some(bits) = int("u") {
                        AbiType::Uint(bits)
                    } else if let Some(bits) = int("i") {
                        AbiType::Int(bits)
                    } else if let Some(n) = other
                        .strip_prefix("bytes")
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|n| *n <= 4096)
                    {
                        AbiType::Fixed(n)
                    } else {
                        return Err(format!("unknown type {other:?}"));
                    }
                }
            },
        })
    }
}

impl From<AbiType> for TypeRepr {
    fn from(ty: AbiType) -> TypeRepr {
        match ty {
            AbiType::Option(option) => TypeRepr::Option { option },
            AbiType::Record { name, fields } => TypeRepr::Record {
                record: name,
                fields,
            },
            scalar => TypeRepr::Name(scalar.to_string()),
        }
    }
}

impl core::fmt::Display for AbiType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AbiType::Unit => f.write_str("unit"),
            AbiType::Bool => f.write_str("bool"),
            AbiType::Uint(bits) => write!(f, "u{bits}"),
            AbiType::Int(bits) => write!(f, "i{bits}"),
            AbiType::Bytes => f.write_str("bytes"),
            AbiType::String => f.write_str("string"),
            AbiType::Fixed(n) => write!(f, "bytes{n}"),
            AbiType::Lock => f.write_str("lock"),
            AbiType::Token => f.write_str("token"),
            AbiType::Option(inner) => write!(f, "option<{inner}>"),
            AbiType::Record { name, .. } => f.write_str(name),
        }
    }
}

impl ContractAbi {
    /// Parses ABI JSON, checking its format, its HostABI version and that names are unique.
    pub fn from_json(json: &[u8]) -> Result<Self, AbiError> {
        if json.len() > MAX_ABI_BYTES {
            return Err(AbiError::TooLarge {
                size: json.len(),
                max: MAX_ABI_BYTES,
            });
        }
        let abi: ContractAbi =
            serde_json::from_slice(json).map_err(|e| AbiError::Malformed(e.to_string()))?;
        if abi.abi != ABI_FORMAT || abi.hostabi != HOSTABI_VERSION {
            return Err(AbiError::Version {
                format: abi.abi,
                hostabi: abi.hostabi,
            });
        }
        let duplicate = |names: Vec<&str>, what: &str| {
            let mut sorted = names.clone();
            sorted.sort_unstable();
            match sorted.windows(2).find(|w| w[0] == w[1]) {
                Some(w) => Err(AbiError::Malformed(format!(
                    "{what} {:?} is declared twice",
                    w[0]
                ))),
                None => Ok(()),
            }
        };
        duplicate(
            abi.entries.iter().map(|e| e.name.as_str()).collect(),
            "entry",
        )?;
        duplicate(
            abi.events.iter().map(|e| e.name.as_str()).collect(),
            "event",
        )?;
        let codes: Vec<String> = abi.errors.iter().map(|e| e.code.to_string()).collect();
        duplicate(codes.iter().map(String::as_str).collect(), "error code")?;
        Ok(abi)
    }

    /// The ABI carried by a WASM module, `None` if it carries none.
    pub fn from_module(code: &[u8]) -> Result<Option<Self>, AbiError> {
        abi_section(code)?.map(Self::from_json).transpose()
    }

    /// The entry point `name`.
    pub fn entry(&self, name: &str) -> Result<&EntryAbi, AbiError> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| AbiError::UnknownEntry(name.into()))
    }

    /// Checks that the ABI's entries are exactly the module's exported functions other than
    /// the SDK's own (none today): the deploy-time schema check.
    pub fn check_exports<'a>(
        &self,
        exported_functions: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), AbiError> {
        let exported: Vec<&str> = exported_functions.into_iter().collect();
        let missing: Vec<String> = self
            .entries
            .iter()
            .filter(|e| !exported.contains(&e.name.as_str()))
            .map(|e| e.name.clone())
            .collect();
        let undeclared: Vec<String> = exported
            .iter()
            .filter(|name| !self.entries.iter().any(|e| e.name == **name))
            .map(|name| name.to_string())
            .collect();
        if missing.is_empty() && undeclared.is_empty() {
            Ok(())
        } else {
            Err(AbiError::Exports {
                missing,
                undeclared,
            })
        }
    }
}

/// The payload of the module's [`ABI_SECTION`] custom section, `None` if it has none. Walks the
/// section headers only; the deploy-time validator checks the rest of the module.
pub fn abi_section(code: &[u8]) -> Result<Option<&[u8]>, AbiError> {
    let bad = |what: &str| AbiError::Module(what.into());
    if code.len() < 8 || &code[..4] != b"\0asm" {
        return Err(bad("not a WebAssembly module"));
    }
    let mut rest = &code[8..];
    let mut found = Vec::new();
    while !rest.is_empty() {
        let id = rest[0];
        rest = &rest[1..];
        let size = leb_u32(&mut rest).ok_or_else(|| bad("bad section size"))? as usize;
        if size > rest.len() {
            return Err(bad("a section runs past the end"));
        }
        let (mut body, after) = rest.split_at(size);
        rest = after;
        if id == 0 {
            let len = leb_u32(&mut body).ok_or_else(|| bad("bad custom section name"))? as usize;
            if len > body.len() {
                return Err(bad("a custom section's name runs past it"));
            }
            let (name, payload) = body.split_at(len);
            if name == ABI_SECTION.as_bytes() {
                found.push(payload);
            }
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        n => Err(AbiError::Duplicate(n)),
    }
}

/// Reads an unsigned LEB128 `u32` from the front of `bytes`.
fn leb_u32(bytes: &mut &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for i in 0..5 {
        let b = *bytes.get(i)?;
        value |= u32::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            if i == 4 && b > 0x0f {
                return None;
            }
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}
