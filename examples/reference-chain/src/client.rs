//! The command-line client: talks to a node's JSON-RPC, signs with the local keystore.

use anyhow::{Context, Result, anyhow, bail};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wes_core::{
    ChainId, Input, Lock, OutPoint, Output, OutputBody, PublicKey, ResourceBody, ResourceKind,
    ResourceMeta, SecretKey, SignedTransaction, TokenId, Transaction, ValidityWindow, codec,
};

use crate::keys::Keystore;
use wes_node::rpc::{MAX_REQUEST_BYTES, parse_outpoint};

/// A connection to a node.
pub struct Client {
    rpc: HttpClient,
}

fn params(values: Vec<Value>) -> ArrayParams {
    let mut p = ArrayParams::new();
    for v in values {
        // Serialising a `Value` cannot fail.
        let _ = p.insert(v);
    }
    p
}

impl Client {
    /// Connects to `url` (e.g. `http://127.0.0.1:8645`).
    pub fn new(url: &str) -> Result<Client> {
        Ok(Client {
            rpc: HttpClientBuilder::default()
                .max_request_size(MAX_REQUEST_BYTES)
                .max_response_size(MAX_REQUEST_BYTES)
                .request_timeout(std::time::Duration::from_secs(300))
                .build(url)?,
        })
    }

    /// Calls `method` with positional `args`.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, args: Vec<Value>) -> Result<T> {
        self.rpc
            .request(method, params(args))
            .await
            .map_err(|e| anyhow!("{method}: {e}"))
    }

    async fn chain_id(&self) -> Result<ChainId> {
        Ok(ChainId(self.call("wes_chainId", vec![]).await?))
    }

    /// Native coins of `key` covering `need`: outpoints and their total.
    /// Coins of `token` owned by `key` covering `need`: outpoints and their total.
    async fn coins(
        &self,
        key: &PublicKey,
        token: TokenId,
        need: u128,
    ) -> Result<(Vec<OutPoint>, u128)> {
        let utxos: Vec<Value> = self
            .call("wes_getUtxos", vec![json!(hex::encode(key.0))])
            .await?;
        let mut picked = Vec::new();
        let mut total = 0u128;
        for u in utxos {
            let out: Output = codec::decode(&hex::decode(u["encoded"].as_str().unwrap_or(""))?)?;
            if let Some(a) = out.as_asset()
                && a.token == token
                && total < need
            {
                picked.push(
                    parse_outpoint(u["outpoint"].as_str().unwrap_or("")).map_err(|e| anyhow!(e))?,
                );
                total += a.amount;
            }
        }
        if total < need {
            bail!("insufficient {token} balance: have {total}, need {need}");
        }
        Ok((picked, total))
    }

    /// Signs and sends a plain transaction paying `outputs` plus `fee` in `fee_token` (which
    /// the chain's fee policy must accept) from `key`'s coins, change back to `key`.
    pub async fn pay(
        &self,
        key: &SecretKey,
        outputs: Vec<Output>,
        fee: u128,
        fee_token: TokenId,
    ) -> Result<String> {
        let mut need: std::collections::BTreeMap<TokenId, u128> = Default::default();
        *need.entry(fee_token).or_default() += fee;
        for a in outputs.iter().filter_map(|o| o.as_asset()) {
            *need.entry(a.token).or_default() += a.amount;
        }
        let mut outputs = outputs;
        let mut inputs = Vec::new();
        for (token, amount) in need {
            let (coins, total) = self.coins(&key.public_key(), token, amount).await?;
            inputs.extend(coins.into_iter().map(Input::spend));
            if total > amount {
                outputs.push(Output::asset(
                    Lock::key(key.public_key()),
                    token,
                    total - amount,
                ));
            }
        }
        let tx = Transaction {
            version: Transaction::VERSION,
            chain_id: self.chain_id().await?,
            inputs,
            outputs,
            validity: ValidityWindow::ALWAYS,
            execution: None,
        }
        .sign(&[key]);
        self.send(&tx).await
    }

    /// Sends a signed transaction; returns its id.
    pub async fn send(&self, tx: &SignedTransaction) -> Result<String> {
        self.call(
            "wes_sendRawTransaction",
            vec![json!(hex::encode(codec::encode(tx)))],
        )
        .await
    }

    /// Signs a transaction the node constructed (`wes_constructCall` / `wes_constructInference`)
    /// and sends it. Returns the node's answer with the txid.
    pub async fn sign_and_send(&self, key: &SecretKey, constructed: &Value) -> Result<String> {
        let tx: Transaction =
            codec::decode(&hex::decode(constructed["tx"].as_str().context("no tx")?)?)?;
        let mut signed = tx.sign(&[key]);
        signed.witness.proof = hex::decode(constructed["proof"].as_str().context("no proof")?)?;
        self.send(&signed).await
    }

    /// A fee input for a construction: the key's first native coin of at least `need`.
    pub async fn fee_input(&self, key: &SecretKey, need: u128) -> Result<String> {
        let utxos: Vec<Value> = self
            .call("wes_getUtxos", vec![json!(hex::encode(key.public_key().0))])
            .await?;
        for u in utxos {
            let out: Output = codec::decode(&hex::decode(u["encoded"].as_str().unwrap_or(""))?)?;
            if out
                .as_asset()
                .is_some_and(|a| a.token == TokenId::Native && a.amount >= need)
            {
                return Ok(u["outpoint"].as_str().unwrap_or_default().to_string());
            }
        }
        bail!("no single native coin of {need} or more: consolidate with a transfer to yourself")
    }

    /// Creates a Resource output for `body`, owned by `key`.
    pub async fn register_resource(
        &self,
        key: &SecretKey,
        body: ResourceBody,
        fee: u128,
    ) -> Result<String> {
        let out = Output {
            lock: Lock::key(key.public_key()),
            body: OutputBody::Resource(body),
        };
        self.pay(key, vec![out], fee, TokenId::Native).await
    }
}

/// A resource body for uploaded bytes.
pub fn resource_body(
    content: &str,
    kind: ResourceKind,
    size: u64,
    name: &str,
) -> Result<ResourceBody> {
    Ok(ResourceBody {
        content: content.parse().map_err(|e| anyhow!("content id: {e}"))?,
        kind,
        size,
        meta: ResourceMeta {
            name: name.into(),
            mime: String::new(),
            verifying_key: None,
        },
    })
}

/// A token: `native`, or the hex of its encoded `TokenId` (as `wes_getBalance` shows it).
pub fn token(s: &str) -> Result<TokenId> {
    if s == "native" {
        return Ok(TokenId::Native);
    }
    codec::decode(&hex::decode(s).with_context(|| format!("token {s:?} is not hex"))?)
        .map_err(|e| anyhow!("token {s:?}: {e}"))
}

/// `name` from the keystore, or an error naming the keystore.
pub fn key(store: &Keystore, name: &str) -> Result<SecretKey> {
    store.get(name)
}

/// A recipient: a keystore name or a public key in hex.
pub fn recipient(store: &Keystore, who: &str) -> Result<PublicKey> {
    match store.get(who) {
        Ok(k) => Ok(k.public_key()),
        Err(_) => crate::config::public_key(who)
            .with_context(|| format!("{who:?} is neither a key name nor a public key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_by_name_or_encoding() {
        assert_eq!(token("native").unwrap(), TokenId::Native);
        let issued = TokenId::Issued {
            contract: wes_core::ContractId(wes_core::Hash([3; 32])),
            tag: wes_core::Hash([4; 32]),
        };
        assert_eq!(token(&hex::encode(codec::encode(&issued))).unwrap(), issued);
        assert!(token("zz").is_err());
        assert!(token("00ff").is_err());
    }
}
