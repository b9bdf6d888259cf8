//! Contract ABIs: a contract declared with `contract!` carries its interface in the module's
//! `wes:abi` section; the host reads it back, encodes typed arguments and decodes return data,
//! events and errors exactly as the guest SDK does, and refuses at deploy a module whose ABI
//! does not match its exports.

mod common;
mod guest;

use serde_json::{Value, json};
use wes_core::{Executor, Lock, TokenId, codec};
use wes_ispc::abi::{ABI_SECTION, AbiError, AbiType, ContractAbi, DecodedError};
use wes_ispc::offchain::{CallError, TestChain, TypedEvent};
use wes_ispc::{WasmError, WasmExecutor};

// The contract targets Rust 1.63; its `#![no_std]` is for its WASM build.
#[allow(unused_attributes, dead_code)]
#[clippy::msrv = "1.63"]
#[path = "../guest/contracts/token.rs"]
mod token;

const TAG: [u8; 32] = [7; 32];

fn token_abi() -> ContractAbi {
    ContractAbi::from_module(&guest::contract("token"))
        .unwrap()
        .expect("the token module carries its ABI")
}

#[test]
fn the_module_carries_the_abi_its_source_declares() {
    let abi = token_abi();
    // The WASM build's section is the native build's `ABI_JSON`.
    assert_eq!(abi, ContractAbi::from_json(&token::ABI_JSON).unwrap());
    assert_eq!((abi.abi, abi.hostabi), (1, wes_ispc::host::HOSTABI_VERSION));
    assert_eq!(abi.name, "token");

    let names: Vec<&str> = abi.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["init", "mint", "transfer", "supply"]);
    let mint = abi.entry("mint").unwrap();
    let args: Vec<(&str, String)> = mint
        .args
        .iter()
        .map(|a| (a.name.as_str(), a.ty.to_string()))
        .collect();
    assert_eq!(
        args,
        [
            ("tag", "bytes32".to_string()),
            ("amount", "u64".into()),
            ("to", "lock".into())
        ]
    );
    assert_eq!(mint.returns, AbiType::Unit);
    assert_eq!(
        mint.doc,
        "Creates `amount` new tokens of class `tag` for `to` (owner only)."
    );
    assert_eq!(abi.entry("supply").unwrap().returns, AbiType::Uint(64));

    let events: Vec<&str> = abi.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["Mint", "Transfer"]);
    let errors: Vec<(u32, &str)> = abi
        .errors
        .iter()
        .map(|e| (e.code, e.name.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (1, "AlreadyInitialised"),
            (2, "NotInitialised"),
            (3, "NotOwner"),
            (4, "ZeroAmount"),
            (5, "SupplyOverflow")
        ]
    );

    // The JSON round-trips.
    let json = serde_json::to_vec(&abi).unwrap();
    assert_eq!(ContractAbi::from_json(&json).unwrap(), abi);
}

#[test]
fn typed_calls_encode_and_decode_with_the_abi() {
    let abi = token_abi();
    let mut chain = TestChain::new();
    let token = chain.deploy("token", token::ENTRIES);
    let owner = TestChain::address("owner");
    let bob = TestChain::lock("bob");
    let bob_hex = hex::encode(codec::encode(&bob));

    let init = abi.encode_args("init", &Value::Null).unwrap();
    chain.call(&token, "init", &init, owner).unwrap();

    // Arguments by name or in order; integers as numbers or strings; a lock as its encoding.
    let by_name = abi
        .encode_args(
            "mint",
            &json!({"amount": 500, "to": bob_hex, "tag": hex::encode(TAG)}),
        )
        .unwrap();
    let in_order = abi
        .encode_args("mint", &json!([hex::encode(TAG), "500", bob_hex]))
        .unwrap();
    assert_eq!(by_name, in_order);
    let mut expected = TAG.to_vec();
    expected.extend_from_slice(&500u64.to_le_bytes());
    expected.extend_from_slice(&codec::encode(&bob));
    assert_eq!(by_name, expected);

    let minted = chain.call(&token, "mint", &by_name, owner).unwrap();
    let event = &minted.events[0];
    assert_eq!(
        abi.decode_event(&event.topic, &event.data)
            .unwrap()
            .unwrap(),
        json!({"tag": hex::encode(TAG), "amount": "500", "to": bob_hex})
    );
    assert!(abi.decode_event("NoSuchEvent", &event.data).is_none());

    let supply = abi
        .encode_args("supply", &json!({"tag": hex::encode(TAG)}))
        .unwrap();
    let supply = chain.simulate(&token, "supply", &supply, owner).unwrap();
    assert_eq!(
        abi.decode_return("supply", &supply.return_data).unwrap(),
        json!("500")
    );

    // A contract error reaches the caller as its code, name and message.
    let refused = chain
        .call(&token, "mint", &by_name, TestChain::address("stranger"))
        .unwrap_err();
    let CallError::Execution(WasmError::Abort(message)) = refused else {
        panic!("expected an abort, got {refused:?}");
    };
    assert_eq!(
        abi.decode_error(&message),
        Some(DecodedError {
            code: 3,
            name: "NotOwner".into(),
            message: "only the owner may do this".into()
        })
    );
    assert_eq!(
        abi.decode_error("#3 Other: only the owner may do this"),
        None
    );
    assert_eq!(abi.decode_error("args: input too short"), None);
}

#[test]
fn bad_arguments_are_refused_with_the_reason() {
    let abi = token_abi();
    let tag = hex::encode(TAG);
    let key = "11".repeat(32);
    let refused = |entry: &str, args: Value| abi.encode_args(entry, &args).unwrap_err();

    assert_eq!(
        refused("burn", json!({})),
        AbiError::UnknownEntry("burn".into())
    );
    assert!(matches!(
        refused("mint", json!({"tag": tag, "amount": 1})),
        AbiError::Args { reason, .. } if reason == "argument \"to\" is missing"
    ));
    assert!(matches!(
        refused("mint", json!({"tag": tag, "amount": 1, "to": key, "memo": "x"})),
        AbiError::Args { reason, .. } if reason == "takes no argument \"memo\""
    ));
    assert!(matches!(
        refused("mint", json!([tag, 1])),
        AbiError::Args { reason, .. } if reason == "takes 3 arguments, 2 given"
    ));
    let value_error = |args: Value| match refused("mint", args) {
        AbiError::Value { what, reason } => format!("{what}: {reason}"),
        other => panic!("expected a value error, got {other}"),
    };
    assert_eq!(
        value_error(json!({"tag": tag, "amount": "18446744073709551616", "to": key})),
        "argument \"amount\": 18446744073709551616 does not fit u64"
    );
    assert_eq!(
        value_error(json!({"tag": tag, "amount": -1, "to": key})),
        "argument \"amount\": -1 is not an unsigned integer"
    );
    assert_eq!(
        value_error(json!({"tag": "00ff", "amount": 1, "to": key})),
        "argument \"tag\": expected 32 bytes, got 2"
    );
    assert!(value_error(json!({"tag": tag, "amount": 1, "to": "zz"})).contains("not hex"));

    // A 32-byte argument may be given as an address; a lock as a key or a contract.
    let address = Lock::key(common::key("carol").public_key()).address();
    let args = abi
        .encode_args("supply", &json!({"tag": address.to_string()}))
        .unwrap();
    assert_eq!(args, address.0.0);
    let to_contract = abi
        .encode_args(
            "mint",
            &json!({"tag": tag, "amount": 1, "to": format!("contract:{}", "22".repeat(32))}),
        )
        .unwrap();
    let contract = Lock::contract(wes_core::ContractId(wes_core::Hash([0x22; 32])));
    assert!(to_contract.ends_with(&codec::encode(&contract)));

    // Return data that does not decode is an error, not a guess.
    assert!(abi.decode_return("supply", &[1, 2, 3]).is_err());
    assert!(abi.decode_return("supply", &[0; 9]).is_err());
}

// -- The guest SDK's encoding and the host's are one encoding. ---------------------------------

wes_contract::record! {
    /// Every kind of value once.
    pub struct Sample<'a> {
        /// A field.
        pub small: u8,
        /// A field.
        pub wide: u128,
        /// A field.
        pub negative: i64,
        /// A field.
        pub flag: bool,
        /// A field.
        pub id: [u8; 4],
        /// A field.
        pub blob: &'a [u8],
        /// A field.
        pub text: &'a str,
        /// A field.
        pub maybe: Option<u32>,
        /// A field.
        pub nothing: Option<u16>,
        /// A field.
        pub lock: wes_contract::Lock,
        /// A field.
        pub token: wes_contract::Token,
    }
}

/// The host's [`AbiType`] of a guest type, through the JSON the guest writes.
fn host_type<T: wes_contract::Type>() -> AbiType {
    let json = wes_contract::abi::JsonWriter::<4096>::new().ty(&T::TY);
    let len = json.len();
    serde_json::from_slice(&json.into_bytes()[..len]).unwrap()
}

/// Encodes with the guest SDK, checks the host encodes `json` to the same bytes, and that the
/// host decodes them back to `json`.
fn same_encoding<T: wes_contract::Encode>(value: &T, json: Value) {
    let guest = wes_contract::encode::<T, 4096>(value);
    let ty = host_type::<T>();
    let mut host = Vec::new();
    wes_ispc::abi::encode_value(&ty, &json, &mut host).unwrap();
    assert_eq!(host, guest.as_slice(), "{ty}: {json}");
    assert_eq!(
        wes_ispc::abi::decode_value(&ty, &host).unwrap(),
        json,
        "{ty}"
    );
}

#[test]
fn the_guest_and_the_host_encode_alike() {
    same_encoding(&u8::MAX, json!(255));
    same_encoding(&u16::MAX, json!(65535));
    same_encoding(&u32::MAX, json!(4294967295u32));
    same_encoding(&u64::MAX, json!("18446744073709551615"));
    same_encoding(&u128::MAX, json!(u128::MAX.to_string()));
    same_encoding(&i8::MIN, json!(-128));
    same_encoding(&i32::MIN, json!(i32::MIN));
    same_encoding(&i64::MIN, json!(i64::MIN.to_string()));
    same_encoding(&i128::MIN, json!(i128::MIN.to_string()));
    same_encoding(&true, json!(true));
    same_encoding(&(), Value::Null);
    same_encoding(&[1u8, 2, 3], json!("010203"));
    same_encoding(&&b"\x00\xff"[..], json!("00ff"));
    same_encoding(&"héllo", json!("héllo"));
    same_encoding(&Some(7u64), json!("7"));
    same_encoding(&None::<u64>, Value::Null);
    let key = [9u8; 32];
    same_encoding(
        &wes_contract::Lock::key(&key),
        json!(hex::encode(codec::encode(&Lock::key(wes_core::PublicKey(
            key
        ))))),
    );
    same_encoding(&wes_contract::Token::Native, json!("native"));
    let issued = TokenId::Issued {
        contract: wes_core::ContractId(wes_core::Hash([3; 32])),
        tag: wes_core::Hash([4; 32]),
    };
    same_encoding(
        &wes_contract::Token::Issued {
            contract: [3; 32],
            tag: [4; 32],
        },
        json!(hex::encode(codec::encode(&issued))),
    );
    same_encoding(
        &Sample {
            small: 1,
            wide: 1 << 100,
            negative: -5,
            flag: false,
            id: *b"wes!",
            blob: b"\x01\x02",
            text: "",
            maybe: Some(9),
            nothing: None,
            lock: wes_contract::Lock::contract(&[5; 32]),
            token: wes_contract::Token::Native,
        },
        json!({
            "small": 1, "wide": (1u128 << 100).to_string(), "negative": "-5", "flag": false,
            "id": hex::encode(b"wes!"), "blob": "0102", "text": "", "maybe": 9, "nothing": null,
            "lock": hex::encode(codec::encode(&Lock::contract(wes_core::ContractId(wes_core::Hash([5; 32]))))),
            "token": "native",
        }),
    );
}

// -- The deploy-time schema check. ---------------------------------------------------------------

/// `code` without its `wes:abi` sections, then with `abis` appended as such sections.
fn with_abis(code: &[u8], abis: &[&[u8]]) -> Vec<u8> {
    let mut out = code[..8].to_vec();
    let mut rest = &code[8..];
    while !rest.is_empty() {
        let start = rest;
        let id = rest[0];
        rest = &rest[1..];
        let (size, n) = leb(rest);
        let header = 1 + n;
        let body = &rest[n..n + size];
        rest = &rest[n + size..];
        let name_len = if id == 0 { leb(body) } else { (0, 0) };
        let is_abi =
            id == 0 && &body[name_len.1..name_len.1 + name_len.0] == ABI_SECTION.as_bytes();
        if !is_abi {
            out.extend_from_slice(&start[..header + size]);
        }
    }
    for abi in abis {
        let mut body = Vec::new();
        push_leb(&mut body, ABI_SECTION.len());
        body.extend_from_slice(ABI_SECTION.as_bytes());
        body.extend_from_slice(abi);
        out.push(0);
        push_leb(&mut out, body.len());
        out.extend_from_slice(&body);
    }
    out
}

fn leb(bytes: &[u8]) -> (usize, usize) {
    let (mut value, mut shift, mut n) = (0usize, 0, 0);
    loop {
        let b = bytes[n];
        value |= usize::from(b & 0x7f) << shift;
        n += 1;
        shift += 7;
        if b & 0x80 == 0 {
            return (value, n);
        }
    }
}

fn push_leb(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let b = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[test]
fn a_module_whose_abi_does_not_match_its_exports_is_refused() {
    let code = guest::contract("token");
    let executor = WasmExecutor::new(Default::default());
    executor.validate(&code).unwrap();
    let abi: Value = serde_json::from_slice(&token::ABI_JSON).unwrap();
    let validate = |abis: &[&[u8]]| executor.validate(&with_abis(&code, abis));

    // A module without an ABI is accepted: hand-written modules need none.
    validate(&[]).unwrap();
    validate(&[&token::ABI_JSON]).unwrap();

    let mut extra = abi.clone();
    let mut burn = extra["entries"][0].clone();
    burn["name"] = json!("burn");
    extra["entries"].as_array_mut().unwrap().push(burn);
    assert_eq!(
        validate(&[&serde_json::to_vec(&extra).unwrap()]),
        Err(WasmError::Abi(AbiError::Exports {
            missing: vec!["burn".into()],
            undeclared: vec![]
        }))
    );

    let mut fewer = abi.clone();
    fewer["entries"].as_array_mut().unwrap().pop();
    assert_eq!(
        validate(&[&serde_json::to_vec(&fewer).unwrap()]),
        Err(WasmError::Abi(AbiError::Exports {
            missing: vec![],
            undeclared: vec!["supply".into()]
        }))
    );

    let mut newer = abi.clone();
    newer["hostabi"] = json!(2);
    assert_eq!(
        validate(&[&serde_json::to_vec(&newer).unwrap()]),
        Err(WasmError::Abi(AbiError::Version {
            format: 1,
            hostabi: 2
        }))
    );

    let mut twice = abi.clone();
    let first = twice["entries"][0].clone();
    twice["entries"].as_array_mut().unwrap().push(first);
    assert!(matches!(
        validate(&[&serde_json::to_vec(&twice).unwrap()]),
        Err(WasmError::Abi(AbiError::Malformed(m))) if m.contains("\"init\" is declared twice")
    ));

    let mut bad_type = abi;
    bad_type["entries"][1]["args"][1]["type"] = json!("u63");
    assert!(matches!(
        validate(&[&serde_json::to_vec(&bad_type).unwrap()]),
        Err(WasmError::Abi(AbiError::Malformed(m))) if m.contains("unknown type \"u63\"")
    ));

    assert!(matches!(
        validate(&[b"{\"abi\":"]),
        Err(WasmError::Abi(AbiError::Malformed(_)))
    ));
    assert_eq!(
        validate(&[&token::ABI_JSON, &token::ABI_JSON]),
        Err(WasmError::Abi(AbiError::Duplicate(2)))
    );
}

#[test]
fn typed_calls_off_chain_decode_as_the_node_does() {
    let abi = ContractAbi::from_json(&token::ABI_JSON).unwrap();
    let mut chain = TestChain::new();
    let token = chain.deploy("token", token::ENTRIES);
    let owner = TestChain::address("owner");
    let bob = hex::encode(codec::encode(&TestChain::lock("bob")));
    let tag = hex::encode(TAG);

    chain
        .call_typed(&abi, &token, "init", Value::Null, owner)
        .unwrap();
    let minted = chain
        .call_typed(
            &abi,
            &token,
            "mint",
            json!({"tag": tag, "amount": 5, "to": bob}),
            owner,
        )
        .unwrap();
    assert_eq!(minted.returns, Value::Null);
    assert_eq!(
        minted.events,
        vec![TypedEvent {
            topic: "Mint".into(),
            fields: Some(json!({"tag": tag, "amount": "5", "to": bob})),
        }]
    );
    let supply = chain
        .simulate_typed(&abi, &token, "supply", json!([tag]), owner)
        .unwrap();
    assert_eq!(supply.returns, json!("5"));
    assert!(matches!(
        chain.call_typed(&abi, &token, "mint", json!({"tag": tag}), owner),
        Err(CallError::Abi(AbiError::Args { .. }))
    ));
}
