//! Sponsor pools from the client's side: create one for a contract (or any), fund it, let a
//! caller without tokens make a sponsored call (the pool pays the fee, its change goes back
//! to the pool, the call needs no signature), and withdraw from it as its owner.
//!
//! The ledger's rules: pool funds pay fees only, for calls of the sponsored contract, at most
//! the pool's cap per transaction; the owner spends the pool like any output of theirs.

use wes_core::{
    ContractId, Guard, Input, Lock, OutPoint, Output, SecretKey, SponsorPool, TokenId, Transaction,
    TxId, ValidityWindow,
};

use super::{Client, ClientError, ConstructedTx, call_error};
use crate::rpc::WesApiClient;
use crate::rpc::token_name;
use crate::rpc::types::{CallParams, PaymentParams};

/// The lock of a pool owned by `owner` sponsoring calls of `contract` (any contract when
/// `None`), paying at most `max_fee_per_tx` per transaction.
pub fn sponsor_pool_lock(
    owner: &SecretKey,
    contract: Option<ContractId>,
    max_fee_per_tx: u128,
) -> Lock {
    Lock::SponsorPool(SponsorPool {
        owner: Guard::Key(owner.public_key()),
        contract,
        max_fee_per_tx,
    })
}

impl Client {
    /// Creates a sponsor pool holding `amount` native tokens, owned by `owner`, sponsoring
    /// `contract` (any when `None`) up to `max_fee_per_tx` per call; `fee` for this
    /// transaction. The pool's outpoint.
    ///
    /// # Errors
    /// As [`Client::pay`].
    pub async fn create_sponsor_pool(
        &self,
        owner: &SecretKey,
        contract: Option<ContractId>,
        max_fee_per_tx: u128,
        amount: u128,
        fee: u128,
    ) -> Result<OutPoint, ClientError> {
        let lock = sponsor_pool_lock(owner, contract, max_fee_per_tx);
        let out = Output::asset(lock, TokenId::Native, amount);
        let txid = self.pay(owner, vec![out], fee, TokenId::Native).await?;
        Ok(OutPoint { tx: txid, index: 0 })
    }

    /// Adds `amount` native tokens from `from`'s coins to the pool at `pool` (a new output
    /// under the same lock: calls may use either). The new pool output's outpoint.
    ///
    /// # Errors
    /// `pool` is not a sponsor pool; as [`Client::pay`].
    pub async fn fund_sponsor_pool(
        &self,
        from: &SecretKey,
        pool: &OutPoint,
        amount: u128,
        fee: u128,
    ) -> Result<OutPoint, ClientError> {
        let lock = self.pool_output(pool).await?.lock;
        let out = Output::asset(lock, TokenId::Native, amount);
        let txid = self.pay(from, vec![out], fee, TokenId::Native).await?;
        Ok(OutPoint { tx: txid, index: 0 })
    }

    /// Takes everything in the pool output at `pool` back to its owner, `owner` (who signs),
    /// less `fee`.
    ///
    /// # Errors
    /// `pool` is not a sponsor pool or holds less than `fee`; the node refuses (another
    /// owner's key); as [`Client::send`].
    pub async fn withdraw_sponsor_pool(
        &self,
        owner: &SecretKey,
        pool: &OutPoint,
        fee: u128,
    ) -> Result<TxId, ClientError> {
        let held = self
            .pool_output(pool)
            .await?
            .as_asset()
            .filter(|a| a.token == TokenId::Native)
            .map_or(0, |a| a.amount);
        let back = held.checked_sub(fee).ok_or(ClientError::Insufficient {
            token: token_name(&TokenId::Native),
            have: held,
            need: fee,
        })?;
        let tx = Transaction {
            version: Transaction::VERSION,
            chain_id: self.chain_id().await?,
            inputs: vec![Input::spend(*pool)],
            outputs: vec![Output::asset(
                Lock::key(owner.public_key()),
                TokenId::Native,
                back,
            )],
            validity: ValidityWindow::ALWAYS,
            execution: None,
        };
        self.send(&tx.sign(&[owner])).await
    }

    /// Calls `entry(args)` of the contract `resource` with the fee paid by the sponsor pool
    /// at `pool`: the node constructs it (the pool is the first fee input, the change goes
    /// back to it), and it is sent without any signature. The construction is checked
    /// first ([`check_constructed`](super::check_constructed)): the call asked for, the pool
    /// the first input, and the pool loses at most `fee`.
    ///
    /// # Errors
    /// The node refuses the construction or the transaction; [`ClientError::Mismatch`] for a
    /// construction that is not what was asked.
    pub async fn call_sponsored(
        &self,
        resource: &wes_core::ContentId,
        entry: &str,
        args: &[u8],
        pool: &OutPoint,
        fee: u128,
    ) -> Result<(TxId, ConstructedTx), ClientError> {
        const METHOD: &str = "wes_constructCall";
        let pool_output = self.pool_output(pool).await?;
        let constructed = self
            .rpc
            .construct_call(CallParams {
                resource: resource.to_string(),
                entry: entry.into(),
                args: hex::encode(args),
                typed_args: None,
                payment: PaymentParams {
                    fee_inputs: Vec::new(),
                    change: None,
                    fee: fee.to_string(),
                    fee_token: None,
                    sponsor: Some(pool.to_string()),
                    cu_limit: crate::rpc::types::DEFAULT_CU_LIMIT,
                },
            })
            .await
            .map_err(call_error(METHOD))?;
        let (tx, proof) = super::decode_constructed(&constructed, METHOD)?;
        let expected = super::Expected {
            chain_id: self.chain_id().await?,
            resource: *resource,
            entry: entry.into(),
            args: args.to_vec(),
            change: pool_output.lock.clone(),
            fee_inputs: vec![(*pool, pool_output)],
            fee_token: TokenId::Native,
            max_spend: fee,
        };
        super::check_constructed(&tx, &expected)
            .map_err(|reason| ClientError::Mismatch { reason })?;
        let mut signed = tx.sign(&[]);
        signed.witness.proof = proof;
        Ok((self.send(&signed).await?, constructed))
    }

    /// The sponsor pool output at `pool`.
    async fn pool_output(&self, pool: &OutPoint) -> Result<Output, ClientError> {
        let output = self.output(pool).await?;
        if !matches!(output.lock, Lock::SponsorPool(_)) {
            return Err(ClientError::Answer {
                method: "wes_getOutput".into(),
                reason: format!("{pool} is not a sponsor pool"),
            });
        }
        Ok(output)
    }
}
