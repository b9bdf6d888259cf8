//! Fees in any accepted token and sponsor pools, from the node's RPC and the Rust client,
//! on a running node: transfers and contract calls paying their fee in an issued token (the
//! producer earns it), a token the chain does not accept refused with its rule, and a pool
//! that pays the calls of a user without any token, refuses what its rules forbid, is funded
//! and withdrawn by its owner.

mod common;

use common::{contract_node, produce};
use wes_core::{
    ChainId, ContentId, ContractId, Genesis, Hash, Lock, Output, ResourceKind, SecretKey, TokenId,
};
use wes_ledger::{FeePolicy, LedgerConfig, TokenFee};
use wes_node::Client;
use wes_node::client::Utxo;
use wes_node::client::{ClientError, resource_body, sponsor_pool_lock};
use wes_node::rpc::types::{CallParams, PaymentParams};
use wes_node::rpc::{WesApiClient, token_name};

const CHAIN: ChainId = ChainId(35);

/// `greet` emits `greeted` and returns "hello".
const GREETER: &str = r#"(module
  (import "wes" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (import "wes" "set_return" (func $ret (param i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "greeted")
  (data (i32.const 16) "hello")
  (func (export "greet")
    (call $emit (i32.const 0) (i32.const 7) (i32.const 16) (i32.const 5))
    (call $ret (i32.const 16) (i32.const 5))))"#;

fn usd() -> TokenId {
    TokenId::Issued {
        contract: ContractId(Hash([0xd0; 32])),
        tag: Hash([1; 32]),
    }
}

fn genesis() -> Genesis {
    let mut g = common::genesis(CHAIN, "wes-node fee tests");
    g.allocations.push(Output::asset(
        Lock::key(SecretKey::dev("alice").public_key()),
        usd(),
        1_000_000,
    ));
    g.allocations.push(Output::asset(
        Lock::key(SecretKey::dev("alice").public_key()),
        TokenId::Native,
        5_000_000,
    ));
    g
}

fn ledger() -> LedgerConfig {
    let mut config = LedgerConfig::new(CHAIN);
    config.fees = FeePolicy::native(TokenFee {
        per_byte: 1,
        per_cu: 1,
    })
    .accept(
        usd(),
        TokenFee {
            per_byte: 2,
            per_cu: 2,
        },
    );
    config
}

fn held(utxos: &[Utxo], token: TokenId) -> u128 {
    utxos
        .iter()
        .filter_map(|u| u.output.as_asset())
        .filter(|a| a.token == token)
        .map(|a| a.amount)
        .sum()
}

/// The rule in a refusal's data.
fn rule(err: ClientError) -> String {
    match err {
        ClientError::Call {
            source: jsonrpsee::core::ClientError::Call(object),
            ..
        } => {
            let data: serde_json::Value =
                serde_json::from_str(object.data().unwrap().get()).unwrap();
            data["rule"].as_str().unwrap_or_default().to_owned()
        }
        other => panic!("expected the node's refusal, got {other}"),
    }
}

async fn deploy(client: &Client, alice: &SecretKey) -> ContentId {
    let code = wat::parse_str(GREETER).unwrap();
    let id: ContentId = client
        .api()
        .put_resource(hex::encode(&code), "wasm".into(), "greeter".into())
        .await
        .unwrap()
        .parse()
        .unwrap();
    let body = resource_body(id, ResourceKind::Wasm, code.len() as u64, "greeter");
    client.register_resource(alice, body, 10_000).await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fees_are_paid_in_any_accepted_token_and_earned_by_the_producer() {
    let dir = tempfile::tempdir().unwrap();
    let (running, client) = contract_node(&dir, genesis(), Some(ledger())).await;
    let alice = SecretKey::dev("alice");
    let bob = SecretKey::dev("bob");
    let sealer = SecretKey::dev("sealer");

    let accepted = client.api().fee_tokens().await.unwrap();
    let names: Vec<&str> = accepted.iter().map(|f| f.token.as_str()).collect();
    assert!(names.contains(&"native") && names.contains(&token_name(&usd()).as_str()));

    // A transfer of native tokens whose fee is paid in USD.
    let pay = Output::asset(Lock::key(bob.public_key()), TokenId::Native, 1_000);
    client.pay(&alice, vec![pay], 7_000, usd()).await.unwrap();
    let resource = deploy(&client, &alice).await;
    produce(&running).await;
    assert_eq!(
        held(
            &client.utxos(&bob.public_key()).await.unwrap(),
            TokenId::Native
        ),
        1_000
    );
    assert_eq!(
        held(&client.utxos(&alice.public_key()).await.unwrap(), usd()),
        1_000_000 - 7_000
    );
    assert_eq!(
        held(&client.utxos(&sealer.public_key()).await.unwrap(), usd()),
        7_000,
        "the producer earns the fee in the token it was paid in"
    );

    // A contract call whose fee is paid in USD.
    let (usd_coins, _) = client
        .coins(&alice.public_key(), usd(), 300_000)
        .await
        .unwrap();
    let constructed = client
        .api()
        .construct_call(CallParams {
            resource: resource.to_string(),
            entry: "greet".into(),
            args: String::new(),
            typed_args: None,
            payment: PaymentParams {
                fee_inputs: vec![usd_coins[0].to_string()],
                change: Some(hex::encode(alice.public_key().0)),
                fee: "300000".into(),
                fee_token: Some(token_name(&usd())),
                sponsor: None,
                cu_limit: 1_000_000,
            },
        })
        .await
        .unwrap();
    client.sign_and_send(&alice, &constructed).await.unwrap();
    produce(&running).await;
    assert_eq!(
        held(&client.utxos(&sealer.public_key()).await.unwrap(), usd()),
        307_000
    );

    // A token the chain does not accept is refused, with its rule.
    let other = TokenId::Issued {
        contract: ContractId(Hash([0xee; 32])),
        tag: Hash([2; 32]),
    };
    let err = client
        .api()
        .construct_call(CallParams {
            resource: resource.to_string(),
            entry: "greet".into(),
            args: String::new(),
            typed_args: None,
            payment: PaymentParams {
                fee_inputs: vec![usd_coins[0].to_string()],
                change: Some(hex::encode(alice.public_key().0)),
                fee: "1".into(),
                fee_token: Some(token_name(&other)),
                sponsor: None,
                cu_limit: 1_000_000,
            },
        })
        .await
        .unwrap_err();
    let err = ClientError::Call {
        method: "wes_constructCall".into(),
        source: err,
    };
    assert_eq!(rule(err), "fee_token_not_accepted");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sponsor_pool_pays_for_calls_of_its_contract_within_its_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (running, client) = contract_node(&dir, genesis(), Some(ledger())).await;
    let alice = SecretKey::dev("alice");
    let resource = deploy(&client, &alice).await;
    produce(&running).await;

    // Alice sponsors calls of the greeter, up to 300,000 each.
    let contract = wes_ispc::contract_id(&resource);
    let pool = client
        .create_sponsor_pool(&alice, Some(contract), 300_000, 1_000_000, 10_000)
        .await
        .unwrap();
    produce(&running).await;
    let pool_lock = sponsor_pool_lock(&alice, Some(contract), 300_000);
    let pool_owner = pool_lock.address().to_string();
    let pool_funds = |client: Client| {
        let owner = pool_owner.clone();
        async move {
            client
                .api()
                .get_utxos(owner, None, None)
                .await
                .unwrap()
                .into_iter()
                .map(|o| wes_node::rpc::parse_outpoint(&o.outpoint).unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(pool_funds(client.clone()).await, [pool]);

    // A call by nobody in particular: no key, no tokens, no signature.
    let (txid, constructed) = client
        .call_sponsored(&resource, "greet", &[], &pool, 200_000)
        .await
        .unwrap();
    assert_eq!(constructed.return_data, hex::encode("hello"));
    produce(&running).await;
    let tx = client
        .api()
        .get_transaction(txid.to_string())
        .await
        .unwrap();
    assert_eq!(tx.status, wes_node::rpc::types::TxState::Included);
    let left = pool_funds(client.clone()).await;
    assert_eq!(left.len(), 1, "the change went back to the pool");
    let change = client.api().get_output(left[0].to_string()).await.unwrap();
    assert!(matches!(
        change.body,
        wes_node::rpc::types::OutputBodyInfo::Asset { ref amount, .. } if amount == "800000"
    ));

    // Over the cap: refused with the ledger's rule.
    let err = client
        .call_sponsored(&resource, "greet", &[], &left[0], 400_000)
        .await
        .unwrap_err();
    assert_eq!(rule(err), "sponsor_over_cap");

    // Funded again, then withdrawn by its owner.
    let added = client
        .fund_sponsor_pool(&alice, &left[0], 500_000, 10_000)
        .await
        .unwrap();
    produce(&running).await;
    assert_eq!(pool_funds(client.clone()).await.len(), 2);
    let before = held(
        &client.utxos(&alice.public_key()).await.unwrap(),
        TokenId::Native,
    );
    client
        .withdraw_sponsor_pool(&alice, &added, 10_000)
        .await
        .unwrap();
    // Someone else cannot.
    let mallory = SecretKey::dev("mallory");
    assert!(
        client
            .withdraw_sponsor_pool(&mallory, &left[0], 10_000)
            .await
            .is_err()
    );
    produce(&running).await;
    assert_eq!(
        held(
            &client.utxos(&alice.public_key()).await.unwrap(),
            TokenId::Native
        ),
        before + 490_000
    );
    assert_eq!(pool_funds(client.clone()).await, [left[0]]);
    running.stop().await;
}
