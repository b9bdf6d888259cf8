//! Parsing parameters, shared by the built-in methods and by chains' own. A parameter that
//! does not parse is an invalid-params error naming the parameter and the rule it breaks.

use wes_core::{Address, Lock, OutPoint, PublicKey, TokenId, codec};

use super::{RpcResult, invalid};

/// Parses parameter `param` from `s` (rule `malformed` if it does not parse).
pub(crate) fn parse<T: std::str::FromStr>(param: &str, s: &str) -> RpcResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e| invalid(param, "malformed", format!("{s:?}: {e}")))
}

/// Parses `txid:index`.
pub fn parse_outpoint(s: &str) -> Result<OutPoint, String> {
    let (tx, index) = s.split_once(':').ok_or("expected txid:index")?;
    Ok(OutPoint {
        tx: tx.parse().map_err(|e| format!("txid: {e}"))?,
        index: index.parse().map_err(|e| format!("index: {e}"))?,
    })
}

/// Parses parameter `param` as `txid:index`.
pub(crate) fn outpoint(param: &str, s: &str) -> RpcResult<OutPoint> {
    parse_outpoint(s).map_err(|e| invalid(param, "malformed", format!("outpoint {s:?}: {e}")))
}

/// Parameter `param` as bytes from hex (an optional `0x` prefix is allowed).
pub(crate) fn unhex(param: &str, s: &str) -> RpcResult<Vec<u8>> {
    hex::decode(s.trim_start_matches("0x"))
        .map_err(|e| invalid(param, "not_hex", format!("not hex: {e}")))
}

/// Parameter `param` as the canonical encoding of a `T`, in hex.
pub(crate) fn decode_hex<T: serde::de::DeserializeOwned>(param: &str, s: &str) -> RpcResult<T> {
    codec::decode(&unhex(param, s)?).map_err(|e| invalid(param, "undecodable", e))
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
