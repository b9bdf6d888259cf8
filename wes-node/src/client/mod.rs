//! The Rust client of a node's JSON-RPC: the whole typed `wes_*` API ([`Client::api`],
//! generated from the same definition as the server), any method by name
//! ([`Client::call`]), and the wallet operations every client needs — coins owned by a key,
//! paying with change, sending, signing a transaction the node constructed — with typed
//! errors.
//!
//! Transactions are built and signed here, on the client's side: the node never sees a
//! secret key.

use std::collections::BTreeMap;
use std::time::Duration;

use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;
use wes_core::{
    ChainId, ContentId, Input, Lock, OutPoint, Output, OutputBody, PublicKey, ResourceBody,
    ResourceKind, ResourceMeta, SecretKey, SignedTransaction, TokenId, Transaction, TxId,
    ValidityWindow, codec,
};

mod checked;

pub use crate::rpc::types::ConstructedTx;
use crate::rpc::types::{Page, SendResult};
use crate::rpc::{MAX_REQUEST_BYTES, RpcToken, WesApiClient, parse_outpoint, token_name};
pub use checked::{Expected, check_constructed};

/// How long a call may take: constructions with a zero-knowledge proof take seconds.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// What goes wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not one the client can connect to.
    #[error("node URL {url:?}: {source}")]
    Url {
        /// The URL given.
        url: String,
        /// jsonrpsee's reason.
        #[source]
        source: jsonrpsee::core::ClientError,
    },
    /// The call failed: the node refused it (its error code and message are in `source`),
    /// or it could not be reached.
    #[error("{method}: {source}")]
    Call {
        /// The method called.
        method: String,
        /// jsonrpsee's error, with the node's error object when it answered one.
        #[source]
        source: jsonrpsee::core::ClientError,
    },
    /// The node's answer does not have the documented shape.
    #[error("{method} answered something unexpected: {reason}")]
    Answer {
        /// The method called.
        method: String,
        /// What did not decode.
        reason: String,
    },
    /// The key's coins of a token do not cover what is asked.
    #[error("insufficient {token} balance: have {have}, need {need}")]
    Insufficient {
        /// The token, as the RPC names it.
        token: String,
        /// What the key's coins hold.
        have: u128,
        /// What was asked for.
        need: u128,
    },
    /// A construction needs one fee coin, and no single coin is large enough.
    #[error("no single native coin of {need} or more: consolidate with a transfer to yourself")]
    NoSingleCoin {
        /// The amount the coin must hold.
        need: u128,
    },
    /// A construction is not what was asked for: it is not signed.
    #[error("the node's construction is not what was asked for: {reason}")]
    Mismatch {
        /// What differs.
        reason: String,
    },
}

impl ClientError {
    /// The rule the node named when it refused the call (`data.rule` of its error object,
    /// such as `not_found` or `rate_limited`; RPC.md lists them); `None` for a failure that
    /// is not a refusal by the node.
    pub fn rule(&self) -> Option<String> {
        let ClientError::Call {
            source: jsonrpsee::core::ClientError::Call(refusal),
            ..
        } = self
        else {
            return None;
        };
        let data: Value = serde_json::from_str(refusal.data()?.get()).ok()?;
        data.get("rule")?.as_str().map(str::to_owned)
    }
}

/// An unspent output as `wes_getUtxos` lists it, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Utxo {
    /// Where it is.
    pub outpoint: OutPoint,
    /// The output.
    pub output: Output,
    /// Whether a pooled transaction creates it (not confirmed yet).
    pub pending: bool,
}

/// A connection to a node's JSON-RPC over HTTP.
#[derive(Clone, Debug)]
pub struct Client {
    rpc: HttpClient,
}

/// Wraps jsonrpsee's error of a call to `method`.
fn call_error(method: &str) -> impl FnOnce(jsonrpsee::core::ClientError) -> ClientError + '_ {
    move |source| ClientError::Call {
        method: method.into(),
        source,
    }
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
    /// A client of the node at `url` (e.g. `http://127.0.0.1:8645`). Connects lazily.
    ///
    /// # Errors
    /// [`ClientError::Url`]: a URL jsonrpsee cannot use.
    pub fn new(url: &str) -> Result<Client, ClientError> {
        Self::build(url, HttpClientBuilder::default())
    }

    /// A client of the node at `url` presenting the node's RPC `token`, so that it may call
    /// the operator methods ([`crate::rpc::access`]) and is not rate-limited.
    ///
    /// # Errors
    /// [`ClientError::Url`]: a URL jsonrpsee cannot use.
    pub fn with_token(url: &str, token: &RpcToken) -> Result<Client, ClientError> {
        let mut headers = http::HeaderMap::new();
        if let Ok(bearer) = http::HeaderValue::from_str(&token.bearer()) {
            headers.insert(http::header::AUTHORIZATION, bearer);
        }
        Self::build(url, HttpClientBuilder::default().set_headers(headers))
    }

    fn build(url: &str, builder: HttpClientBuilder) -> Result<Client, ClientError> {
        let rpc = builder
            .max_request_size(MAX_REQUEST_BYTES)
            .max_response_size(MAX_REQUEST_BYTES)
            .request_timeout(REQUEST_TIMEOUT)
            .build(url)
            .map_err(|source| ClientError::Url {
                url: url.into(),
                source,
            })?;
        Ok(Client { rpc })
    }

    /// The typed `wes_*` API ([`WesApiClient`]'s methods), e.g.
    /// `client.api().get_block_by_height(1).await`.
    pub fn api(&self) -> &HttpClient {
        &self.rpc
    }

    /// Calls `method` with positional `args`, decoding the result as `T` (for methods a
    /// chain adds beside the built-in ones).
    ///
    /// # Errors
    /// [`ClientError::Call`]: unreachable, refused, or a result that is not a `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        args: Vec<Value>,
    ) -> Result<T, ClientError> {
        self.rpc
            .request(method, params(args))
            .await
            .map_err(call_error(method))
    }

    /// The chain's id.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn chain_id(&self) -> Result<ChainId, ClientError> {
        let id = self
            .rpc
            .chain_id()
            .await
            .map_err(call_error("wes_chainId"))?;
        Ok(ChainId(id))
    }

    /// The unspent outputs locked to `key` alone, as the mempool leaves them: outputs that
    /// pooled transactions spend are left out and outputs they create are included (marked
    /// [`Utxo::pending`]), so coins picked from them are not already being spent and one
    /// key can send many transactions per block.
    ///
    /// # Errors
    /// As [`Client::call`]; [`ClientError::Answer`] for an entry that does not decode.
    pub async fn utxos(&self, key: &PublicKey) -> Result<Vec<Utxo>, ClientError> {
        const METHOD: &str = "wes_getUtxos";
        let answer = |reason: String| ClientError::Answer {
            method: METHOD.into(),
            reason,
        };
        let owner = hex::encode(key.0);
        let mut utxos = Vec::new();
        let mut after = None;
        loop {
            let page = Page {
                after: after.take(),
                limit: Some(Page::MAX_LIMIT),
            };
            let entries = self
                .rpc
                .get_utxos(owner.clone(), Some("pending".into()), Some(page))
                .await
                .map_err(call_error(METHOD))?;
            let full = entries.len() == Page::MAX_LIMIT;
            after = entries.last().map(|e| e.outpoint.clone());
            for entry in entries {
                utxos.push(Utxo {
                    outpoint: parse_outpoint(&entry.outpoint)
                        .map_err(|e| answer(format!("outpoint {:?}: {e}", entry.outpoint)))?,
                    output: hex::decode(&entry.encoded)
                        .map_err(|e| e.to_string())
                        .and_then(|b| codec::decode(&b).map_err(|e| e.to_string()))
                        .map_err(|e| answer(format!("output at {}: {e}", entry.outpoint)))?,
                    pending: entry.pending,
                });
            }
            if !full {
                return Ok(utxos);
            }
        }
    }

    /// Coins of `token` owned by `key` covering `need`: their outpoints and total.
    ///
    /// # Errors
    /// [`ClientError::Insufficient`], or as [`Client::utxos`].
    pub async fn coins(
        &self,
        key: &PublicKey,
        token: TokenId,
        need: u128,
    ) -> Result<(Vec<OutPoint>, u128), ClientError> {
        let mut picked = Vec::new();
        let mut total = 0u128;
        for utxo in self.utxos(key).await? {
            if total >= need {
                break;
            }
            if let Some(asset) = utxo.output.as_asset()
                && asset.token == token
            {
                picked.push(utxo.outpoint);
                total = total.saturating_add(asset.amount);
            }
        }
        if total < need {
            return Err(ClientError::Insufficient {
                token: token_name(&token),
                have: total,
                need,
            });
        }
        Ok((picked, total))
    }

    /// Signs and sends a plain transaction paying `outputs` plus `fee` in `fee_token` (which
    /// the chain's fee policy must accept) from `key`'s coins, change back to `key`. Returns
    /// the transaction's id.
    ///
    /// # Errors
    /// [`ClientError::Insufficient`]; the node refuses the transaction; as [`Client::call`].
    pub async fn pay(
        &self,
        key: &SecretKey,
        mut outputs: Vec<Output>,
        fee: u128,
        fee_token: TokenId,
    ) -> Result<TxId, ClientError> {
        let mut need: BTreeMap<TokenId, u128> = BTreeMap::new();
        *need.entry(fee_token).or_default() += fee;
        for asset in outputs.iter().filter_map(Output::as_asset) {
            let entry = need.entry(asset.token).or_default();
            *entry = entry.saturating_add(asset.amount);
        }
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

    /// Sends a signed transaction; returns its id as the node computed it.
    ///
    /// # Errors
    /// The node refuses it ([`ClientError::Call`] with the reason); an id that does not parse.
    pub async fn send(&self, tx: &SignedTransaction) -> Result<TxId, ClientError> {
        const METHOD: &str = "wes_sendRawTransaction";
        let id = self
            .rpc
            .send_raw_transaction(hex::encode(codec::encode(tx)))
            .await
            .map_err(call_error(METHOD))?;
        id.parse().map_err(|e| ClientError::Answer {
            method: METHOD.into(),
            reason: format!("txid {id:?}: {e}"),
        })
    }

    /// Sends many signed transactions in one request (`wes_sendRawTransactions`), in order:
    /// one may spend the outputs of one before it. The node verifies their signatures
    /// together. One result per transaction: its id, or the node's reason for refusing it.
    ///
    /// # Errors
    /// The request itself fails (unreachable node, too many transactions); an answer that
    /// does not hold one result per transaction.
    pub async fn send_many(
        &self,
        txs: &[SignedTransaction],
    ) -> Result<Vec<Result<TxId, String>>, ClientError> {
        const METHOD: &str = "wes_sendRawTransactions";
        let raws: Vec<String> = txs.iter().map(|t| hex::encode(codec::encode(t))).collect();
        let answers = self
            .rpc
            .send_raw_transactions(raws)
            .await
            .map_err(call_error(METHOD))?;
        if answers.len() != txs.len() {
            return Err(ClientError::Answer {
                method: METHOD.into(),
                reason: format!("{} results for {} transactions", answers.len(), txs.len()),
            });
        }
        Ok(answers
            .into_iter()
            .map(|a| match a {
                SendResult::Admitted { txid } => {
                    txid.parse().map_err(|e| format!("txid {txid:?}: {e}"))
                }
                SendResult::Refused { error } => Err(error.message),
            })
            .collect())
    }

    /// Signs a transaction the node constructed with `key`, attaches its proof and sends it,
    /// **unchecked**: for constructions the caller verified itself. Prefer
    /// [`sign_checked`](Client::sign_checked).
    ///
    /// # Errors
    /// [`ClientError::Answer`] for a construction that does not decode; as [`Client::send`].
    pub async fn sign_and_send(
        &self,
        key: &SecretKey,
        constructed: &ConstructedTx,
    ) -> Result<TxId, ClientError> {
        let (tx, proof) = decode_constructed(constructed, "wes_construct*")?;
        let mut signed = tx.sign(&[key]);
        signed.witness.proof = proof;
        self.send(&signed).await
    }

    /// A fee input for a construction: the key's first native coin of at least `need`.
    ///
    /// # Errors
    /// [`ClientError::NoSingleCoin`]; as [`Client::utxos`].
    pub async fn fee_input(&self, key: &SecretKey, need: u128) -> Result<OutPoint, ClientError> {
        self.utxos(&key.public_key())
            .await?
            .into_iter()
            .find(|u| {
                u.output
                    .as_asset()
                    .is_some_and(|a| a.token == TokenId::Native && a.amount >= need)
            })
            .map(|u| u.outpoint)
            .ok_or(ClientError::NoSingleCoin { need })
    }

    /// Creates a Resource output for `body`, owned by `key`, paying `fee`.
    ///
    /// # Errors
    /// As [`Client::pay`].
    pub async fn register_resource(
        &self,
        key: &SecretKey,
        body: ResourceBody,
        fee: u128,
    ) -> Result<TxId, ClientError> {
        let out = Output {
            lock: Lock::key(key.public_key()),
            body: OutputBody::Resource(body),
        };
        self.pay(key, vec![out], fee, TokenId::Native).await
    }
}

/// The transaction and proof of a construction `method` answered, decoded.
fn decode_constructed(
    constructed: &ConstructedTx,
    method: &str,
) -> Result<(Transaction, Vec<u8>), ClientError> {
    let answer = |reason: String| ClientError::Answer {
        method: method.into(),
        reason,
    };
    let tx: Transaction = hex::decode(&constructed.tx)
        .map_err(|e| e.to_string())
        .and_then(|b| codec::decode(&b).map_err(|e| e.to_string()))
        .map_err(|e| answer(format!("tx: {e}")))?;
    let proof = hex::decode(&constructed.proof).map_err(|e| answer(format!("proof: {e}")))?;
    Ok((tx, proof))
}

/// The body of a Resource output registering stored `content` of `kind`.
pub fn resource_body(
    content: ContentId,
    kind: ResourceKind,
    size: u64,
    name: &str,
) -> ResourceBody {
    ResourceBody {
        content,
        kind,
        size,
        meta: ResourceMeta {
            name: name.into(),
            mime: String::new(),
            verifying_key: None,
        },
    }
}

mod sponsor;

pub use sponsor::sponsor_pool_lock;
