//! Values of an ABI: JSON in, bytes out, and back.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use wes_core::{Address, ContractId, Hash, Lock, PublicKey, TokenId, codec};

use super::{AbiError, AbiType, ContractAbi, FieldAbi};

/// A contract error decoded from an abort message with the contract's ABI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedError {
    /// Its code.
    pub code: u32,
    /// Its name.
    pub name: String,
    /// Its message.
    pub message: String,
}

impl ContractAbi {
    /// Encodes the arguments of `entry` given as a JSON object by name (`{"amount": 5, …}`)
    /// or as an array in order.
    pub fn encode_args(&self, entry: &str, args: &Value) -> Result<Vec<u8>, AbiError> {
        let e = self.entry(entry)?;
        let wrong = |reason: String| AbiError::Args {
            entry: entry.into(),
            reason,
        };
        let values: Vec<&Value> = match args {
            Value::Object(map) => {
                if let Some(extra) = map.keys().find(|k| !e.args.iter().any(|a| &a.name == *k)) {
                    return Err(wrong(format!("takes no argument {extra:?}")));
                }
                e.args
                    .iter()
                    .map(|a| {
                        map.get(&a.name)
                            .ok_or_else(|| wrong(format!("argument {:?} is missing", a.name)))
                    })
                    .collect::<Result<_, _>>()?
            }
            Value::Array(items) if items.len() == e.args.len() => items.iter().collect(),
            Value::Array(items) => {
                return Err(wrong(format!(
                    "takes {} arguments, {} given",
                    e.args.len(),
                    items.len()
                )));
            }
            Value::Null if e.args.is_empty() => Vec::new(),
            _ => return Err(wrong("arguments are a JSON object or array".into())),
        };
        let mut out = Vec::new();
        for (field, value) in e.args.iter().zip(values) {
            encode(&field.ty, value, &mut out).map_err(|reason| AbiError::Value {
                what: format!("argument {:?}", field.name),
                reason,
            })?;
        }
        Ok(out)
    }

    /// Decodes the arguments of `entry` into a JSON object by name.
    pub fn decode_args(&self, entry: &str, bytes: &[u8]) -> Result<Value, AbiError> {
        let e = self.entry(entry)?;
        decode_fields(&e.args, bytes, "arguments")
    }

    /// Decodes the return data of `entry`.
    pub fn decode_return(&self, entry: &str, bytes: &[u8]) -> Result<Value, AbiError> {
        let e = self.entry(entry)?;
        decode_exact(&e.returns, bytes, "return data")
    }

    /// Decodes an event's data into a JSON object by field, `None` if the ABI declares no event
    /// of this topic.
    pub fn decode_event(&self, topic: &str, data: &[u8]) -> Option<Result<Value, AbiError>> {
        let event = self.events.iter().find(|e| e.name == topic)?;
        Some(decode_fields(
            &event.fields,
            data,
            &format!("event {topic:?}"),
        ))
    }

    /// The declared error an abort message names (`#<code> <Name>: <message>`, as the guest
    /// SDK fails a call), `None` if the message is not one of this contract's errors.
    pub fn decode_error(&self, message: &str) -> Option<DecodedError> {
        let rest = message.strip_prefix('#')?;
        let (code, rest) = rest.split_once(' ')?;
        let (name, _) = rest.split_once(": ")?;
        let code: u32 = code.parse().ok()?;
        let error = self
            .errors
            .iter()
            .find(|e| e.code == code && e.name == name)?;
        Some(DecodedError {
            code,
            name: error.name.clone(),
            message: error.message.clone(),
        })
    }
}

/// Appends the encoding of `value` (JSON, see [`AbiType`]) as `ty` to `out`.
pub fn encode_value(ty: &AbiType, value: &Value, out: &mut Vec<u8>) -> Result<(), AbiError> {
    encode(ty, value, out).map_err(|reason| AbiError::Value {
        what: ty.to_string(),
        reason,
    })
}

/// Decodes exactly one value of `ty` from `bytes`, as JSON (see [`AbiType`]).
pub fn decode_value(ty: &AbiType, bytes: &[u8]) -> Result<Value, AbiError> {
    decode_exact(ty, bytes, &ty.to_string())
}

/// Decodes exactly one value of `ty` from `bytes`.
fn decode_exact(ty: &AbiType, bytes: &[u8], what: &str) -> Result<Value, AbiError> {
    exactly(bytes, what, |rest| decode(ty, rest))
}

/// Decodes `fields` in order from exactly `bytes`, into an object.
fn decode_fields(fields: &[FieldAbi], bytes: &[u8], what: &str) -> Result<Value, AbiError> {
    exactly(bytes, what, |rest| decode_record(fields, rest))
}

/// Runs `read` on `bytes`, which it must consume whole; errors name the value `what`.
fn exactly(
    bytes: &[u8],
    what: &str,
    read: impl FnOnce(&mut &[u8]) -> Result<Value, String>,
) -> Result<Value, AbiError> {
    let mut rest = bytes;
    let value = read(&mut rest).map_err(|reason| AbiError::Value {
        what: what.into(),
        reason,
    })?;
    if !rest.is_empty() {
        return Err(AbiError::Value {
            what: what.into(),
            reason: format!("{} trailing bytes", rest.len()),
        });
    }
    Ok(value)
}

/// Appends the encoding of `value` as `ty` to `out`.
fn encode(ty: &AbiType, value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    match ty {
        AbiType::Unit => match value {
            Value::Null => {}
            _ => return Err("expected null".into()),
        },
        AbiType::Bool => out.push(match value {
            Value::Bool(b) => u8::from(*b),
            Value::String(s) if s == "true" => 1,
            Value::String(s) if s == "false" => 0,
            _ => return Err("expected true or false".into()),
        }),
        AbiType::Uint(bits) => {
            let n = unsigned(value)?;
            if *bits < 128 && n >> bits != 0 {
                return Err(format!("{n} does not fit u{bits}"));
            }
            out.extend_from_slice(&n.to_le_bytes()[..*bits as usize / 8]);
        }
        AbiType::Int(bits) => {
            let n = signed(value)?;
            if *bits < 128 {
                let half = 1i128 << (bits - 1);
                if n < -half || n >= half {
                    return Err(format!("{n} does not fit i{bits}"));
                }
            }
            out.extend_from_slice(&n.to_le_bytes()[..*bits as usize / 8]);
        }
        AbiType::Bytes => prefixed(&hex_bytes(value)?, out)?,
        AbiType::String => match value {
            Value::String(s) => prefixed(s.as_bytes(), out)?,
            _ => return Err("expected a string".into()),
        },
        AbiType::Fixed(n) => {
            let bytes = match value {
                Value::String(s) if *n == 32 && s.starts_with("wes1") => s
                    .parse::<Address>()
                    .map_err(|e| e.to_string())?
                    .0
                    .0
                    .to_vec(),
                _ => hex_bytes(value)?,
            };
            if bytes.len() != *n {
                return Err(format!("expected {n} bytes, got {}", bytes.len()));
            }
            out.extend_from_slice(&bytes);
        }
        AbiType::Lock => {
            let s = value
                .as_str()
                .ok_or("expected a lock: hex, a public key or contract:<id>")?;
            let lock = if let Some(id) = s.strip_prefix("contract:") {
                Lock::contract(ContractId(Hash(hex_array(id)?)))
            } else if s.len() == 64 {
                Lock::key(PublicKey(hex_array(s)?))
            } else {
                let bytes = hex::decode(s).map_err(|e| format!("not hex: {e}"))?;
                codec::decode::<Lock>(&bytes).map_err(|e| e.to_string())?
            };
            out.extend_from_slice(&codec::encode(&lock));
        }
        AbiType::Token => {
            let s = value.as_str().ok_or("expected a token: native or hex")?;
            let token = if s == "native" {
                TokenId::Native
            } else {
                let bytes = hex::decode(s).map_err(|e| format!("not hex: {e}"))?;
                codec::decode::<TokenId>(&bytes).map_err(|e| e.to_string())?
            };
            out.extend_from_slice(&codec::encode(&token));
        }
        AbiType::Option(inner) => match value {
            Value::Null => out.push(0),
            v => {
                out.push(1);
                encode(inner, v, out)?;
            }
        },
        AbiType::Record { fields, .. } => {
            let Value::Object(map) = value else {
                return Err("expected an object".into());
            };
            if let Some(extra) = map.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
                return Err(format!("no field {extra:?}"));
            }
            for f in fields {
                let v = map
                    .get(&f.name)
                    .ok_or_else(|| format!("field {:?} is missing", f.name))?;
                encode(&f.ty, v, out).map_err(|e| format!("field {:?}: {e}", f.name))?;
            }
        }
    }
    Ok(())
}

/// Decodes one value of `ty` from the front of `bytes`, advancing it.
fn decode(ty: &AbiType, bytes: &mut &[u8]) -> Result<Value, String> {
    Ok(match ty {
        AbiType::Unit => Value::Null,
        AbiType::Bool => match take(bytes, 1)?[0] {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            b => return Err(format!("a bool is {b}, not 0 or 1")),
        },
        AbiType::Uint(bits) => {
            let mut le = [0u8; 16];
            le[..*bits as usize / 8].copy_from_slice(take(bytes, *bits as usize / 8)?);
            let n = u128::from_le_bytes(le);
            if *bits <= 32 {
                json!(n as u64)
            } else {
                Value::String(n.to_string())
            }
        }
        AbiType::Int(bits) => {
            let width = *bits as usize / 8;
            let raw = take(bytes, width)?;
            let fill = if raw[width - 1] & 0x80 != 0 { 0xff } else { 0 };
            let mut le = [fill; 16];
            le[..width].copy_from_slice(raw);
            let n = i128::from_le_bytes(le);
            if *bits <= 32 {
                json!(n as i64)
            } else {
                Value::String(n.to_string())
            }
        }
        AbiType::Bytes => Value::String(hex::encode(prefixed_take(bytes)?)),
        AbiType::String => Value::String(
            String::from_utf8(prefixed_take(bytes)?.to_vec()).map_err(|_| "not UTF-8")?,
        ),
        AbiType::Fixed(n) => Value::String(hex::encode(take(bytes, *n)?)),
        AbiType::Lock => {
            let (_, n) = codec::decode_prefix::<Lock>(bytes).map_err(|e| e.to_string())?;
            Value::String(hex::encode(take(bytes, n)?))
        }
        AbiType::Token => {
            let (token, n) = codec::decode_prefix::<TokenId>(bytes).map_err(|e| e.to_string())?;
            take(bytes, n)?;
            match token {
                TokenId::Native => Value::String("native".into()),
                other => Value::String(hex::encode(codec::encode(&other))),
            }
        }
        AbiType::Option(inner) => match take(bytes, 1)?[0] {
            0 => Value::Null,
            1 => decode(inner, bytes)?,
            b => return Err(format!("an option's tag is {b}, not 0 or 1")),
        },
        AbiType::Record { fields, .. } => decode_record(fields, bytes)?,
    })
}

/// Decodes `fields` in order from the front of `bytes`, advancing it, into an object.
fn decode_record(fields: &[FieldAbi], bytes: &mut &[u8]) -> Result<Value, String> {
    let mut map = Map::new();
    for f in fields {
        let v = decode(&f.ty, bytes).map_err(|e| format!("field {:?}: {e}", f.name))?;
        map.insert(f.name.clone(), v);
    }
    Ok(Value::Object(map))
}

/// An unsigned integer given as a JSON number or a decimal string.
fn unsigned(value: &Value) -> Result<u128, String> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .map(u128::from)
            .ok_or_else(|| format!("{n} is not an unsigned integer")),
        Value::String(s) => s
            .parse()
            .map_err(|_| format!("{s:?} is not an unsigned integer")),
        _ => Err("expected an integer".into()),
    }
}

/// A signed integer given as a JSON number or a decimal string.
fn signed(value: &Value) -> Result<i128, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .ok_or_else(|| format!("{n} is not an integer")),
        Value::String(s) => s.parse().map_err(|_| format!("{s:?} is not an integer")),
        _ => Err("expected an integer".into()),
    }
}

/// Bytes given as hex (with or without `0x`).
fn hex_bytes(value: &Value) -> Result<Vec<u8>, String> {
    let s = value.as_str().ok_or("expected hex")?;
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|e| format!("not hex: {e}"))
}

/// 32 bytes given as hex.
fn hex_array(s: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(s).map_err(|e| format!("not hex: {e}"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("expected 32 bytes, got {}", b.len()))
}

/// Appends `u32le(len) ‖ bytes`.
fn prefixed(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let len = u32::try_from(bytes.len()).map_err(|_| "longer than 4 GiB")?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// Takes `n` bytes from the front.
fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if bytes.len() < n {
        return Err(format!("{n} bytes needed, {} left", bytes.len()));
    }
    let (head, tail) = bytes.split_at(n);
    *bytes = tail;
    Ok(head)
}

/// Takes a `u32le`-prefixed byte string from the front.
fn prefixed_take<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let len = u32::from_le_bytes(take(bytes, 4)?.try_into().expect("4 bytes"));
    take(bytes, len as usize)
}
