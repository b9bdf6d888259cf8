//! The host functions of HostABI v1, one per entry of the table (`host_abi_table.rs`), named
//! as the table names them: each reads its arguments from guest memory, does its bookkeeping in
//! [`HostState`](crate::host::HostState), charges its cost and appends its trace entry.

#![allow(clippy::too_many_arguments)]

use super::*;

pub(super) fn height(mut env: FunctionEnvMut<Env>) -> HostResult<i64> {
    let h = env.data().host.height;
    finish(&mut env, "height", vec![], h.to_le_bytes().to_vec())?;
    Ok(h as i64)
}

pub(super) fn time_ms(mut env: FunctionEnvMut<Env>) -> HostResult<i64> {
    let t = if env.data().host.replaying() {
        let out = env.data().host.recorded_output("time_ms")?;
        let bytes: [u8; 8] = out
            .as_slice()
            .try_into()
            .map_err(|_| WasmError::TraceMismatch {
                index: env.data().host.trace.len(),
                reason: "time_ms output is not 8 bytes".into(),
            })?;
        u64::from_le_bytes(bytes)
    } else {
        env.data().host.time_ms
    };
    finish(&mut env, "time_ms", vec![], t.to_le_bytes().to_vec())?;
    Ok(t as i64)
}

pub(super) fn caller(mut env: FunctionEnvMut<Env>, dst: i32) -> HostResult<()> {
    let a = env.data().host.frame()?.caller.0.0;
    finish(&mut env, "caller", vec![], a.to_vec())?;
    write_mem(&env, "caller", dst, &a)
}

pub(super) fn contract(mut env: FunctionEnvMut<Env>, dst: i32) -> HostResult<()> {
    let c = env.data().host.frame()?.contract.0.0;
    finish(&mut env, "contract", vec![], c.to_vec())?;
    write_mem(&env, "contract", dst, &c)
}

pub(super) fn call_id(mut env: FunctionEnvMut<Env>, dst: i32) -> HostResult<()> {
    let c = env.data().host.frame()?.call_id.0;
    finish(&mut env, "call_id", vec![], c.to_vec())?;
    write_mem(&env, "call_id", dst, &c)
}

pub(super) fn args(mut env: FunctionEnvMut<Env>, dst: i32, cap: i32) -> HostResult<i32> {
    let args = env.data().host.frame()?.args.clone();
    let n = args.len().min(cap as u32 as usize);
    let mut output = (args.len() as u32).to_le_bytes().to_vec();
    output.extend_from_slice(&args[..n]);
    finish(
        &mut env,
        "args",
        (cap as u32).to_le_bytes().to_vec(),
        output,
    )?;
    write_mem(&env, "args", dst, &args[..n])?;
    Ok(args.len() as i32)
}

pub(super) fn state_get(
    mut env: FunctionEnvMut<Env>,
    kp: i32,
    kl: i32,
    dst: i32,
    cap: i32,
) -> HostResult<i32> {
    let key = read_mem(&env, "state_get", kp, kl, MAX_KEY_LEN)?;
    let data = env.data_mut();
    let value = data.host.state_get(&key, data.view.as_ref())?;
    let mut input = (cap as u32).to_le_bytes().to_vec();
    input.extend_from_slice(&key);
    let output = match &value {
        None => vec![0],
        Some(v) => [&[1u8][..], v].concat(),
    };
    finish(&mut env, "state_get", input, output)?;
    match value {
        None => Ok(-1),
        Some(v) => {
            copy_out(&env, "state_get", dst, cap, &v)?;
            Ok(v.len() as i32)
        }
    }
}

pub(super) fn state_set(
    mut env: FunctionEnvMut<Env>,
    kp: i32,
    kl: i32,
    vp: i32,
    vl: i32,
) -> HostResult<()> {
    let key = read_mem(&env, "state_set", kp, kl, MAX_KEY_LEN)?;
    let value = read_mem(&env, "state_set", vp, vl, MAX_VALUE_LEN)?;
    let data = env.data_mut();
    data.host.state_set(&key, &value, data.view.as_ref())?;
    finish(&mut env, "state_set", codec::encode(&(key, value)), vec![])
}

pub(super) fn state_delete(mut env: FunctionEnvMut<Env>, kp: i32, kl: i32) -> HostResult<()> {
    let key = read_mem(&env, "state_delete", kp, kl, MAX_KEY_LEN)?;
    let data = env.data_mut();
    data.host.state_delete(&key, data.view.as_ref())?;
    finish(&mut env, "state_delete", key, vec![])
}

pub(super) fn utxo_get(
    mut env: FunctionEnvMut<Env>,
    op: i32,
    dst: i32,
    cap: i32,
) -> HostResult<i32> {
    let outpoint = read_outpoint(&env, "utxo_get", op)?;
    let data = env.data_mut();
    let output = data.host.utxo_get(outpoint, data.view.as_ref())?;
    let mut input = codec::encode(&outpoint);
    input.extend_from_slice(&(cap as u32).to_le_bytes());
    let encoded = output.as_ref().map(codec::encode);
    let trace_out = match &encoded {
        None => vec![0],
        Some(e) => [&[1u8][..], e].concat(),
    };
    finish(&mut env, "utxo_get", input, trace_out)?;
    match encoded {
        None => Ok(-1),
        Some(e) => {
            copy_out(&env, "utxo_get", dst, cap, &e)?;
            Ok(e.len() as i32)
        }
    }
}

pub(super) fn utxo_spend(mut env: FunctionEnvMut<Env>, op: i32) -> HostResult<()> {
    let outpoint = read_outpoint(&env, "utxo_spend", op)?;
    let data = env.data_mut();
    let output = data.host.utxo_spend(outpoint, data.view.as_ref())?;
    finish(
        &mut env,
        "utxo_spend",
        codec::encode(&outpoint),
        codec::encode(&output),
    )
}

pub(super) fn resource_read(
    mut env: FunctionEnvMut<Env>,
    idp: i32,
    offset: i64,
    dst: i32,
    cap: i32,
) -> HostResult<i64> {
    let id = ContentId(Hash(read_array::<32>(&env, "resource_read", idp)?));
    let data = env.data_mut();
    let bytes = data.host.resource(&id, data.view.as_ref())?;
    let mut input = id.0.0.to_vec();
    input.extend_from_slice(&(offset as u64).to_le_bytes());
    input.extend_from_slice(&(cap as u32).to_le_bytes());
    let Some(bytes) = bytes else {
        finish(&mut env, "resource_read", input, vec![0])?;
        return Ok(-1);
    };
    let size = bytes.len();
    let start = (offset as u64).min(size as u64) as usize;
    let n = (cap as u32 as usize)
        .min(MAX_RESOURCE_READ)
        .min(size - start);
    let chunk = &bytes[start..start + n];
    let mut output = vec![1u8];
    output.extend_from_slice(&(size as u64).to_le_bytes());
    output.extend_from_slice(chunk);
    finish(&mut env, "resource_read", input, output)?;
    write_mem(&env, "resource_read", dst, chunk)?;
    Ok(size as i64)
}

/// `model_infer`: the quantized network of an ONNX model on one row of quantized input
/// (i32 LE values at scale 2^8), deterministic, re-run on replay like any host computation.
#[cfg(feature = "onnx")]
pub(super) fn model_infer(
    mut env: FunctionEnvMut<Env>,
    idp: i32,
    ip: i32,
    il: i32,
    dst: i32,
    cap: i32,
) -> HostResult<i32> {
    const CALL: &str = "model_infer";
    let id = ContentId(Hash(read_array::<32>(&env, CALL, idp)?));
    let raw = read_mem(&env, CALL, ip, il, crate::host::MAX_MODEL_INPUT)?;
    if raw.len() % 4 != 0 {
        return Err(bad(CALL, "input is not whole i32 values"));
    }
    let input: Vec<i64> = raw
        .chunks_exact(4)
        .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let data = env.data_mut();
    let bytes = data
        .host
        .resource(&id, data.view.as_ref())?
        .ok_or(WasmError::ResourceUnavailable(id))?;
    let loaded = data
        .shared
        .models
        .load(&id, &bytes)
        .map_err(|e| bad(CALL, format!("model {id}: {e}")))?;
    let net = loaded
        .net
        .as_ref()
        .map_err(|e| bad(CALL, format!("model {id}: {e}")))?;
    // The evaluation is the expensive part: refuse it before doing it when the points left
    // cannot pay for it.
    let cost = loaded.model.cost(1);
    {
        let (data, mut store) = env.data_and_store_mut();
        let meter = meter(data)?;
        match meter.get(&mut store) {
            MeteringPoints::Remaining(left) if left >= cost => {}
            _ => {
                meter.set(&mut store, 0)?;
                return Err(WasmError::OutOfCu { limit: 0 });
            }
        }
    }
    let out = net
        .evaluate(&input)
        .map_err(|e| bad(CALL, e.to_string()))?
        .output();
    let output: Vec<u8> = out.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect();
    let mut trace_in = id.0.0.to_vec();
    trace_in.extend_from_slice(&raw);
    finish_with(&mut env, CALL, trace_in, output.clone(), cost)?;
    copy_out(&env, CALL, dst, cap, &output)?;
    Ok(out.len() as i32)
}

pub(super) fn output_asset(
    mut env: FunctionEnvMut<Env>,
    lp: i32,
    ll: i32,
    tp: i32,
    tl: i32,
    amount: i64,
) -> HostResult<()> {
    let lock = read_mem(&env, "output_asset", lp, ll, MAX_ENCODED_ARG)?;
    let token = read_mem(&env, "output_asset", tp, tl, MAX_ENCODED_ARG)?;
    env.data_mut()
        .host
        .output_asset(&lock, &token, amount as u64)?;
    finish(
        &mut env,
        "output_asset",
        codec::encode(&(lock, token, amount as u64)),
        vec![],
    )
}

pub(super) fn mint_asset(
    mut env: FunctionEnvMut<Env>,
    lp: i32,
    ll: i32,
    tp: i32,
    amount: i64,
) -> HostResult<()> {
    let lock = read_mem(&env, "mint_asset", lp, ll, MAX_ENCODED_ARG)?;
    let tag = read_array::<32>(&env, "mint_asset", tp)?;
    env.data_mut().host.mint_asset(&lock, tag, amount as u64)?;
    finish(
        &mut env,
        "mint_asset",
        codec::encode(&(lock, tag, amount as u64)),
        vec![],
    )
}

pub(super) fn output_resource(
    mut env: FunctionEnvMut<Env>,
    lp: i32,
    ll: i32,
    idp: i32,
    kind: i32,
    np: i32,
    nl: i32,
) -> HostResult<()> {
    let lock = read_mem(&env, "output_resource", lp, ll, MAX_ENCODED_ARG)?;
    let id = ContentId(Hash(read_array::<32>(&env, "output_resource", idp)?));
    let name = read_mem(&env, "output_resource", np, nl, MAX_RESOURCE_NAME)?;
    let data = env.data_mut();
    let size = data
        .host
        .output_resource(&lock, id, kind as u32, &name, data.view.as_ref())?;
    finish(
        &mut env,
        "output_resource",
        codec::encode(&(lock, id, kind as u32, name)),
        size.to_le_bytes().to_vec(),
    )
}

pub(super) fn emit_event(
    mut env: FunctionEnvMut<Env>,
    tp: i32,
    tl: i32,
    dp: i32,
    dl: i32,
) -> HostResult<()> {
    let topic = read_mem(&env, "emit_event", tp, tl, MAX_TOPIC_LEN)?;
    let data = read_mem(&env, "emit_event", dp, dl, MAX_EVENT_DATA)?;
    env.data_mut().host.emit_event(&topic, &data)?;
    // The emitter is recorded, so that anyone holding the trace can attribute the event,
    // nested calls included (see `replay::events_of`).
    let contract = env.data().host.frame()?.contract;
    finish(
        &mut env,
        "emit_event",
        codec::encode(&(contract, topic, data)),
        vec![],
    )
}

pub(super) fn set_return(mut env: FunctionEnvMut<Env>, p: i32, l: i32) -> HostResult<()> {
    let data = read_mem(&env, "set_return", p, l, MAX_RETURN_LEN)?;
    env.data_mut().host.set_return(&data)?;
    finish(&mut env, "set_return", data, vec![])
}

pub(super) fn external_call(
    mut env: FunctionEnvMut<Env>,
    np: i32,
    nl: i32,
    rp: i32,
    rl: i32,
    dst: i32,
    cap: i32,
) -> HostResult<i32> {
    const CALL: &str = "external_call";
    let name = read_mem(&env, CALL, np, nl, MAX_CONNECTOR_NAME)?;
    let name = String::from_utf8(name).map_err(|_| bad(CALL, "connector name is not UTF-8"))?;
    let request = read_mem(&env, CALL, rp, rl, MAX_EXTERNAL_PAYLOAD)?;
    let op = env.data_mut().host.next_external_op()?;
    let receipt = if env.data().host.replaying() {
        // Never call the connector again: the receipt comes from the trace, checked against
        // the op id and, when it names a signer, that signer's signature. Nothing here depends
        // on the node's own configuration, so every node reaches the same verdict.
        let index = env.data().host.trace.len();
        let mismatch = |reason: String| WasmError::TraceMismatch { index, reason };
        let recorded = env.data().host.recorded_output(CALL)?;
        let receipt: ConnectorReceipt =
            codec::decode_with_limit(&recorded, MAX_EXTERNAL_PAYLOAD + 1024)
                .map_err(|e| mismatch(format!("connector receipt: {e}")))?;
        if receipt.op != op {
            return Err(mismatch("connector receipt is for another op".into()));
        }
        if receipt.response.len() > MAX_EXTERNAL_PAYLOAD {
            return Err(mismatch("connector response too long".into()));
        }
        match (&receipt.signer, &receipt.signature) {
            (None, None) => {}
            (Some(key), Some(_)) if receipt.signed_by(key, &name, &request) => {}
            _ => {
                return Err(mismatch(format!(
                    "receipt of connector {name:?} has a bad signature"
                )));
            }
        }
        receipt
    } else {
        let contract = env.data().host.frame()?.contract;
        let ext = ExternalOp {
            id: op,
            contract,
            request: request.clone(),
        };
        let receipt = env.data().shared.connectors.prepare(&name, &ext)?;
        env.data_mut()
            .host
            .external
            .push(crate::connector::PendingExternal {
                connector: name.clone(),
                op,
            });
        receipt
    };
    let response = receipt.response.clone();
    let signer = receipt.signer;
    finish(
        &mut env,
        CALL,
        codec::encode(&(name, request)),
        codec::encode(&receipt),
    )?;
    env.data_mut().host.last_signer = Some(signer);
    copy_out(&env, CALL, dst, cap, &response)?;
    Ok(response.len() as i32)
}

/// `external_signer(dst) → i32`: the key that signed the latest `external_call` receipt
/// (its signature already checked), so a contract can require a service's key.
pub(super) fn external_signer(mut env: FunctionEnvMut<Env>, dst: i32) -> HostResult<i32> {
    let (output, result) = match env.data().host.last_signer {
        None => (vec![2u8], -1),
        Some(None) => (vec![0u8], 0),
        Some(Some(key)) => ([&[1u8][..], &key.0].concat(), 1),
    };
    finish(&mut env, "external_signer", vec![], output.clone())?;
    if result == 1 {
        write_mem(&env, "external_signer", dst, &output[1..])?;
    }
    Ok(result)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn call(
    mut env: FunctionEnvMut<Env>,
    rp: i32,
    ep: i32,
    el: i32,
    ap: i32,
    al: i32,
    dst: i32,
    cap: i32,
) -> HostResult<i32> {
    let resource = ContentId(Hash(read_array::<32>(&env, "call", rp)?));
    let entry = read_mem(&env, "call", ep, el, MAX_ENTRY_LEN)?;
    let entry = String::from_utf8(entry).map_err(|_| bad("call", "entry is not UTF-8"))?;
    let args = read_mem(&env, "call", ap, al, MAX_CALL_ARGS)?;
    let callee = crate::contract_id(&resource);
    let input = codec::encode(&(resource, &entry, &args));
    // Charge the fixed part up front, so a call with no points left fails before any work.
    let fixed = HostState::cost("call", &input, &[]);
    let (data, mut store) = env.data_and_store_mut();
    let meter = meter(data)?;
    let budget = match meter.get(&mut store) {
        MeteringPoints::Remaining(left) if left >= fixed => left - fixed,
        _ => {
            meter.set(&mut store, 0)?;
            return Err(WasmError::OutOfCu { limit: 0 });
        }
    };
    data.host.check_call(&callee)?;
    let code = data
        .host
        .resource(&resource, data.view.as_ref())?
        .ok_or(WasmError::ResourceUnavailable(resource))?;
    let compiled = data.shared.compiled(&resource, &code)?;
    data.host.push_frame(callee, args)?;
    // The callee runs in its own store and instance, with the execution's host state moved
    // in, its chain view shared, and what is left of the caller's points as its budget.
    let host = std::mem::take(&mut data.host);
    let run = call_instance(
        &data.shared.clone(),
        &compiled,
        &entry,
        host,
        data.view.clone(),
        budget,
    );
    data.host = run.host;
    let return_data = data.host.pop_frame()?;
    meter.set(&mut store, run.left.saturating_add(fixed))?;
    if let Err(e) = run.result {
        meter.set(&mut store, 0)?;
        return Err(match e {
            WasmError::OutOfCu { .. } => WasmError::OutOfCu { limit: 0 },
            other => WasmError::Callee {
                contract: callee,
                source: Box::new(other),
            },
        });
    }
    finish(&mut env, "call", input, return_data.clone())?;
    copy_out(&env, "call", dst, cap, &return_data)?;
    Ok(return_data.len() as i32)
}

pub(super) fn abort(env: FunctionEnvMut<Env>, p: i32, l: i32) -> HostResult<()> {
    let l = (l as u32).min(MAX_ABORT_LEN as u32) as i32;
    let msg = read_mem(&env, "abort", p, l, MAX_ABORT_LEN)?;
    Err(WasmError::Abort(String::from_utf8_lossy(&msg).into_owned()))
}

/// `model_infer` in a build without the `onnx` feature: the function is part of HostABI v1, so a
/// module may import it, but every call fails as the node's own shortcoming.
#[cfg(not(feature = "onnx"))]
pub(super) fn model_infer(
    _env: FunctionEnvMut<Env>,
    _idp: i32,
    _ip: i32,
    _il: i32,
    _dst: i32,
    _cap: i32,
) -> HostResult<i32> {
    Err(WasmError::Engine(
        "model_infer: this node was built without ONNX support (feature `onnx`)".into(),
    ))
}
