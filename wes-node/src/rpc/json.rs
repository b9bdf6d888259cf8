//! Parsing parameters and rendering chain objects as JSON, shared by the built-in methods
//! and by chains' own.

use serde_json::{Value, json};
use wes_core::{Address, Lock, OutPoint, Output, OutputBody, PublicKey, TokenId, codec};

use super::{RpcResult, invalid};

/// Parses `what` from `s`, as invalid parameters if it does not parse.
pub(crate) fn parse<T: std::str::FromStr>(what: &str, s: &str) -> RpcResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| invalid(format!("{what} {s:?}: {e}")))
}

/// Parses `txid:index`.
pub fn parse_outpoint(s: &str) -> Result<OutPoint, String> {
    let (tx, index) = s.split_once(':').ok_or("expected txid:index")?;
    Ok(OutPoint {
        tx: tx.parse().map_err(|e| format!("txid: {e}"))?,
        index: index.parse().map_err(|e| format!("index: {e}"))?,
    })
}

pub(crate) fn outpoint(s: &str) -> RpcResult<OutPoint> {
    parse_outpoint(s).map_err(|e| invalid(format!("outpoint {s:?}: {e}")))
}

pub(crate) fn unhex(what: &str, s: &str) -> RpcResult<Vec<u8>> {
    hex::decode(s.trim_start_matches("0x")).map_err(|e| invalid(format!("{what}: not hex: {e}")))
}

/// Parses a hex Ed25519 public key.
pub(crate) fn public_key(s: &str) -> Result<PublicKey, String> {
    hex::decode(s)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(PublicKey)
        .ok_or_else(|| format!("{s:?} is not 32 bytes of hex"))
}

/// An owner given as a bech32m address (`wes1…`) or an Ed25519 public key in hex (its
/// single-signature lock).
pub fn owner_address(s: &str) -> Result<Address, String> {
    if s.starts_with("wes1") {
        s.parse().map_err(|e| format!("address {s:?}: {e}"))
    } else {
        public_key(s).map(|k| Lock::key(k).address())
    }
}

/// A token as the RPC names it: `native`, or the hex of its encoded [`TokenId`].
pub fn token_name(t: &TokenId) -> String {
    match t {
        TokenId::Native => "native".into(),
        other => hex::encode(codec::encode(other)),
    }
}

/// Parses a token as the RPC names it: `native`, or the hex of its encoded [`TokenId`]
/// (the inverse of [`token_name`]).
pub fn parse_token(s: &str) -> Result<TokenId, String> {
    if s == "native" {
        return Ok(TokenId::Native);
    }
    let bytes =
        hex::decode(s).map_err(|e| format!("token {s:?} is neither native nor hex: {e}"))?;
    codec::decode(&bytes).map_err(|e| format!("token {s:?}: {e}"))
}

/// An output as JSON: `{outpoint, owner, body, encoded}`.
pub fn output_json(op: &OutPoint, out: &Output) -> Value {
    let body = match &out.body {
        OutputBody::Asset(a) => {
            json!({"type": "asset", "token": token_name(&a.token), "amount": a.amount.to_string()})
        }
        OutputBody::Resource(r) => {
            json!({"type": "resource", "content": r.content.to_string(), "kind": format!("{:?}", r.kind), "size": r.size, "name": r.meta.name, "verifying_key": r.meta.verifying_key.map(|h| h.to_string())})
        }
        OutputBody::State(s) => {
            json!({"type": "state", "contract": s.contract.to_string(), "key": hex::encode(&s.key), "data": hex::encode(&s.data), "version": s.version})
        }
    };
    json!({"outpoint": op.to_string(), "owner": out.lock.address().to_string(), "body": body, "encoded": hex::encode(codec::encode(out))})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_as_they_are_named() {
        assert_eq!(parse_token("native").unwrap(), TokenId::Native);
        let issued = TokenId::Issued {
            contract: wes_core::ContractId(wes_core::Hash([3; 32])),
            tag: wes_core::Hash([4; 32]),
        };
        assert_eq!(parse_token(&token_name(&issued)).unwrap(), issued);
        assert!(parse_token("zz").is_err());
        assert!(parse_token("00ff").is_err());
    }
}
