//! Typed contract arguments on the command line: `--arg name=value`, encoded with the
//! contract's ABI (`wes contract call --entry transfer --arg to=bob --arg amount=5`).

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};
use wes_core::PublicKey;
use wes_ispc::abi::{AbiType, ContractAbi};

/// Encodes `pairs` (`name=value`, one per argument of `entry`) with `abi`.
///
/// A value is read as its argument's type asks: records and options as JSON, every other type
/// as the string given (numbers in decimal, bytes in hex, a 32-byte value also as a `wes1…`
/// address, a lock as hex of its encoding or `contract:<id>`). A lock may also name a key:
/// `key_of(name)` gives its public key (a key of the keystore).
///
/// # Errors
/// A pair without `=`, an argument named twice, and whatever the ABI refuses (an unknown entry
/// or argument, a missing one, a value that does not fit its type).
pub fn encode_typed_args(
    abi: &ContractAbi,
    entry: &str,
    pairs: &[String],
    key_of: impl Fn(&str) -> Option<PublicKey>,
) -> Result<Vec<u8>> {
    let declared = &abi.entry(entry)?.args;
    let mut args = Map::new();
    for pair in pairs {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("--arg {pair:?}: expected NAME=VALUE"))?;
        let value = match declared.iter().find(|a| a.name == name).map(|a| &a.ty) {
            Some(AbiType::Record { .. } | AbiType::Option(_)) => serde_json::from_str(value)
                .with_context(|| format!("--arg {name}: expected JSON for this type"))?,
            Some(AbiType::Lock) => match key_of(value) {
                Some(key) => Value::String(hex::encode(key.0)),
                None => Value::String(value.into()),
            },
            _ => Value::String(value.into()),
        };
        if args.insert(name.into(), value).is_some() {
            bail!("--arg {name} is given twice");
        }
    }
    Ok(abi.encode_args(entry, &Value::Object(args))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abi() -> ContractAbi {
        ContractAbi::from_json(
            br#"{"abi":1,"hostabi":1,"name":"t","entries":[{"name":"pay","args":[
                {"name":"to","type":"lock"},{"name":"amount","type":"u64"},
                {"name":"memo","type":{"option":"string"}}],"returns":"unit"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn pairs_are_encoded_by_name_with_keys_and_json_where_the_type_asks() {
        let bob = PublicKey([7; 32]);
        let key_of = |name: &str| (name == "bob").then_some(bob);
        let pairs = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let args = encode_typed_args(
            &abi(),
            "pay",
            &pairs(&["amount=5", "to=bob", r#"memo="hi""#]),
            key_of,
        )
        .unwrap();
        let mut expected = wes_core::codec::encode(&wes_core::Lock::key(bob));
        expected.extend_from_slice(&5u64.to_le_bytes());
        expected.extend_from_slice(&[1, 2, 0, 0, 0, b'h', b'i']);
        assert_eq!(args, expected);

        let none = encode_typed_args(
            &abi(),
            "pay",
            &pairs(&["amount=5", "to=bob", "memo=null"]),
            key_of,
        )
        .unwrap();
        assert_eq!(none.last(), Some(&0));

        let err = |p: &[&str]| {
            encode_typed_args(&abi(), "pay", &pairs(p), key_of)
                .unwrap_err()
                .to_string()
        };
        assert!(err(&["amount"]).contains("expected NAME=VALUE"));
        assert!(err(&["amount=1", "amount=2"]).contains("given twice"));
        assert!(err(&["amount=5", "to=bob"]).contains("argument \"memo\" is missing"));
        assert!(err(&["amount=x", "to=bob", "memo=null"]).contains("not an unsigned integer"));
        assert!(err(&["amount=5", "to=carol", "memo=null"]).contains("not hex"));
    }
}
