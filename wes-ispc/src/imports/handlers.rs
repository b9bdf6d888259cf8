//! The host functions of HostABI v1, one per entry of the table (`host_abi_table.rs`), named
//! as the table names them, written once for every engine ([`Guest`]): each reads its
//! arguments from guest memory, does its bookkeeping in
//! [`HostState`](crate::host::HostState), charges its cost and appends its trace entry.
//!
//! Parameters have the table's types with pointers and lengths widened to `u64`; results have
//! the table's types.

#![allow(clippy::too_many_arguments)]

use super::*;

pub(crate) fn height(g: &mut impl Guest) -> HostResult<u64> {
    let h = g.host().height;
    finish(g, "height", vec![], h.to_le_bytes().to_vec())?;
    Ok(h)
}

pub(crate) fn time_ms(g: &mut impl Guest) -> HostResult<u64> {
    let t = if g.host().replaying() {
        let out = g.host().recorded_output("time_ms")?;
        let bytes: [u8; 8] = out
            .as_slice()
            .try_into()
            .map_err(|_| WasmError::TraceMismatch {
                index: g.host().trace.len(),
                reason: "time_ms output is not 8 bytes".into(),
            })?;
        u64::from_le_bytes(bytes)
    } else {
        g.host().time_ms
    };
    finish(g, "time_ms", vec![], t.to_le_bytes().to_vec())?;
    Ok(t)
}

pub(crate) fn caller(g: &mut impl Guest, dst: u64) -> HostResult<()> {
    let a = g.host().frame()?.caller.0.0;
    finish(g, "caller", vec![], a.to_vec())?;
    g.write("caller", dst, &a)
}

pub(crate) fn contract(g: &mut impl Guest, dst: u64) -> HostResult<()> {
    let c = g.host().frame()?.contract.0.0;
    finish(g, "contract", vec![], c.to_vec())?;
    g.write("contract", dst, &c)
}

pub(crate) fn call_id(g: &mut impl Guest, dst: u64) -> HostResult<()> {
    let c = g.host().frame()?.call_id.0;
    finish(g, "call_id", vec![], c.to_vec())?;
    g.write("call_id", dst, &c)
}

pub(crate) fn args(g: &mut impl Guest, dst: u64, cap: u64) -> HostResult<i32> {
    let args = g.host().frame()?.args.clone();
    let mut output = (args.len() as u32).to_le_bytes().to_vec();
    let n = args.len().min(usize::try_from(cap).unwrap_or(usize::MAX));
    output.extend_from_slice(&args[..n]);
    finish(g, "args", (cap as u32).to_le_bytes().to_vec(), output)?;
    g.write("args", dst, &args[..n])?;
    Ok(args.len() as i32)
}

pub(crate) fn state_get(
    g: &mut impl Guest,
    kp: u64,
    kl: u64,
    dst: u64,
    cap: u64,
) -> HostResult<i32> {
    let key = g.read("state_get", kp, kl, MAX_KEY_LEN)?;
    let (host, view, _) = g.parts();
    let value = host.state_get(&key, view.as_ref())?;
    let mut input = (cap as u32).to_le_bytes().to_vec();
    input.extend_from_slice(&key);
    let output = match &value {
        None => vec![0],
        Some(v) => [&[1u8][..], v].concat(),
    };
    finish(g, "state_get", input, output)?;
    match value {
        None => Ok(-1),
        Some(v) => {
            copy_out(g, "state_get", dst, cap, &v)?;
            Ok(v.len() as i32)
        }
    }
}

pub(crate) fn state_set(g: &mut impl Guest, kp: u64, kl: u64, vp: u64, vl: u64) -> HostResult<()> {
    let key = g.read("state_set", kp, kl, MAX_KEY_LEN)?;
    let value = g.read("state_set", vp, vl, MAX_VALUE_LEN)?;
    let (host, view, _) = g.parts();
    host.state_set(&key, &value, view.as_ref())?;
    finish(g, "state_set", codec::encode(&(key, value)), vec![])
}

pub(crate) fn state_delete(g: &mut impl Guest, kp: u64, kl: u64) -> HostResult<()> {
    let key = g.read("state_delete", kp, kl, MAX_KEY_LEN)?;
    let (host, view, _) = g.parts();
    host.state_delete(&key, view.as_ref())?;
    finish(g, "state_delete", key, vec![])
}

pub(crate) fn utxo_get(g: &mut impl Guest, op: u64, dst: u64, cap: u64) -> HostResult<i32> {
    let outpoint = read_outpoint(g, "utxo_get", op)?;
    let (host, view, _) = g.parts();
    let output = host.utxo_get(outpoint, view.as_ref())?;
    let mut input = codec::encode(&outpoint);
    input.extend_from_slice(&(cap as u32).to_le_bytes());
    let encoded = output.as_ref().map(codec::encode);
    let trace_out = match &encoded {
        None => vec![0],
        Some(e) => [&[1u8][..], e].concat(),
    };
    finish(g, "utxo_get", input, trace_out)?;
    match encoded {
        None => Ok(-1),
        Some(e) => {
            copy_out(g, "utxo_get", dst, cap, &e)?;
            Ok(e.len() as i32)
        }
    }
}

pub(crate) fn utxo_spend(g: &mut impl Guest, op: u64) -> HostResult<()> {
    let outpoint = read_outpoint(g, "utxo_spend", op)?;
    let (host, view, _) = g.parts();
    let output = host.utxo_spend(outpoint, view.as_ref())?;
    finish(
        g,
        "utxo_spend",
        codec::encode(&outpoint),
        codec::encode(&output),
    )
}

pub(crate) fn resource_read(
    g: &mut impl Guest,
    idp: u64,
    offset: u64,
    dst: u64,
    cap: u64,
) -> HostResult<i64> {
    let id = ContentId(Hash(read_array::<32>(g, "resource_read", idp)?));
    let (host, view, _) = g.parts();
    let bytes = host.resource(&id, view.as_ref())?;
    let mut input = id.0.0.to_vec();
    input.extend_from_slice(&offset.to_le_bytes());
    input.extend_from_slice(&(cap as u32).to_le_bytes());
    let Some(bytes) = bytes else {
        finish(g, "resource_read", input, vec![0])?;
        return Ok(-1);
    };
    let size = bytes.len();
    let start = offset.min(size as u64) as usize;
    let n = usize::try_from(cap)
        .unwrap_or(usize::MAX)
        .min(MAX_RESOURCE_READ)
        .min(size - start);
    let chunk = &bytes[start..start + n];
    let mut output = vec![1u8];
    output.extend_from_slice(&(size as u64).to_le_bytes());
    output.extend_from_slice(chunk);
    finish(g, "resource_read", input, output)?;
    g.write("resource_read", dst, chunk)?;
    Ok(size as i64)
}

/// `model_infer`: the quantized network of an ONNX model on one row of quantized input
/// (i32 LE values at scale 2^8), deterministic, re-run on replay like any host computation.
#[cfg(feature = "onnx")]
pub(crate) fn model_infer(
    g: &mut impl Guest,
    idp: u64,
    ip: u64,
    il: u64,
    dst: u64,
    cap: u64,
) -> HostResult<i32> {
    const CALL: &str = "model_infer";
    let id = ContentId(Hash(read_array::<32>(g, CALL, idp)?));
    let raw = g.read(CALL, ip, il, crate::host::MAX_MODEL_INPUT)?;
    if raw.len() % 4 != 0 {
        return Err(bad(CALL, "input is not whole i32 values"));
    }
    let input: Vec<i64> = raw
        .chunks_exact(4)
        .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let (host, view, shared) = g.parts();
    let bytes = host
        .resource(&id, view.as_ref())?
        .ok_or(WasmError::ResourceUnavailable(id))?;
    let loaded = shared
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
    match g.points()? {
        MeteringPoints::Remaining(left) if left >= cost => {}
        _ => {
            g.set_points(0)?;
            return Err(WasmError::OutOfCu { limit: 0 });
        }
    }
    // Trees take their features as keys of f32 values: the contract's 2^8 values converted.
    let input = net.input_from_fixed(&input);
    let out = net
        .evaluate(&input)
        .map_err(|e| bad(CALL, e.to_string()))?
        .output();
    let output: Vec<u8> = out.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect();
    let mut trace_in = id.0.0.to_vec();
    trace_in.extend_from_slice(&raw);
    finish_with(g, CALL, trace_in, output.clone(), cost)?;
    copy_out(g, CALL, dst, cap, &output)?;
    Ok(out.len() as i32)
}

/// `model_infer` in a build without the `onnx` feature: the function is part of HostABI v1, so a
/// module may import it, but every call fails as the node's own shortcoming.
#[cfg(not(feature = "onnx"))]
pub(crate) fn model_infer(
    _g: &mut impl Guest,
    _idp: u64,
    _ip: u64,
    _il: u64,
    _dst: u64,
    _cap: u64,
) -> HostResult<i32> {
    Err(WasmError::Engine(
        "model_infer: this node was built without ONNX support (feature `onnx`)".into(),
    ))
}

pub(crate) fn output_asset(
    g: &mut impl Guest,
    lp: u64,
    ll: u64,
    tp: u64,
    tl: u64,
    amount: u64,
) -> HostResult<()> {
    let lock = g.read("output_asset", lp, ll, MAX_ENCODED_ARG)?;
    let token = g.read("output_asset", tp, tl, MAX_ENCODED_ARG)?;
    g.parts().0.output_asset(&lock, &token, amount)?;
    finish(
        g,
        "output_asset",
        codec::encode(&(lock, token, amount)),
        vec![],
    )
}

pub(crate) fn mint_asset(
    g: &mut impl Guest,
    lp: u64,
    ll: u64,
    tp: u64,
    amount: u64,
) -> HostResult<()> {
    let lock = g.read("mint_asset", lp, ll, MAX_ENCODED_ARG)?;
    let tag = read_array::<32>(g, "mint_asset", tp)?;
    g.parts().0.mint_asset(&lock, tag, amount)?;
    finish(g, "mint_asset", codec::encode(&(lock, tag, amount)), vec![])
}

pub(crate) fn output_resource(
    g: &mut impl Guest,
    lp: u64,
    ll: u64,
    idp: u64,
    kind: u32,
    np: u64,
    nl: u64,
) -> HostResult<()> {
    let lock = g.read("output_resource", lp, ll, MAX_ENCODED_ARG)?;
    let id = ContentId(Hash(read_array::<32>(g, "output_resource", idp)?));
    let name = g.read("output_resource", np, nl, MAX_RESOURCE_NAME)?;
    let (host, view, _) = g.parts();
    let size = host.output_resource(&lock, id, kind, &name, view.as_ref())?;
    finish(
        g,
        "output_resource",
        codec::encode(&(lock, id, kind, name)),
        size.to_le_bytes().to_vec(),
    )
}

pub(crate) fn emit_event(g: &mut impl Guest, tp: u64, tl: u64, dp: u64, dl: u64) -> HostResult<()> {
    let topic = g.read("emit_event", tp, tl, MAX_TOPIC_LEN)?;
    let data = g.read("emit_event", dp, dl, MAX_EVENT_DATA)?;
    g.parts().0.emit_event(&topic, &data)?;
    // The emitter is recorded, so that anyone holding the trace can attribute the event,
    // nested calls included (see `replay::events_of`).
    let contract = g.host().frame()?.contract;
    finish(
        g,
        "emit_event",
        codec::encode(&(contract, topic, data)),
        vec![],
    )
}

pub(crate) fn set_return(g: &mut impl Guest, p: u64, l: u64) -> HostResult<()> {
    let data = g.read("set_return", p, l, MAX_RETURN_LEN)?;
    g.parts().0.set_return(&data)?;
    finish(g, "set_return", data, vec![])
}

pub(crate) fn external_call(
    g: &mut impl Guest,
    np: u64,
    nl: u64,
    rp: u64,
    rl: u64,
    dst: u64,
    cap: u64,
) -> HostResult<i32> {
    const CALL: &str = "external_call";
    let name = g.read(CALL, np, nl, MAX_CONNECTOR_NAME)?;
    let name = String::from_utf8(name).map_err(|_| bad(CALL, "connector name is not UTF-8"))?;
    let request = g.read(CALL, rp, rl, MAX_EXTERNAL_PAYLOAD)?;
    let (host, _, shared) = g.parts();
    let op = host.next_external_op()?;
    let receipt = if host.replaying() {
        // Never call the connector again: the receipt comes from the trace, checked against
        // the op id and, when it names a signer, that signer's signature. Nothing here depends
        // on the node's own configuration, so every node reaches the same verdict.
        let index = host.trace.len();
        let mismatch = |reason: String| WasmError::TraceMismatch { index, reason };
        let recorded = host.recorded_output(CALL)?;
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
        let contract = host.frame()?.contract;
        let ext = ExternalOp {
            id: op,
            contract,
            request: request.clone(),
        };
        let receipt = shared.connectors.prepare(&name, &ext)?;
        host.external.push(crate::connector::PendingExternal {
            connector: name.clone(),
            op,
        });
        receipt
    };
    let response = receipt.response.clone();
    let signer = receipt.signer;
    finish(
        g,
        CALL,
        codec::encode(&(name, request)),
        codec::encode(&receipt),
    )?;
    g.parts().0.last_signer = Some(signer);
    copy_out(g, CALL, dst, cap, &response)?;
    Ok(response.len() as i32)
}

/// `external_signer(dst) → i32`: the key that signed the latest `external_call` receipt
/// (its signature already checked), so a contract can require a service's key.
pub(crate) fn external_signer(g: &mut impl Guest, dst: u64) -> HostResult<i32> {
    let (output, result) = match g.host().last_signer {
        None => (vec![2u8], -1),
        Some(None) => (vec![0u8], 0),
        Some(Some(key)) => ([&[1u8][..], &key.0].concat(), 1),
    };
    finish(g, "external_signer", vec![], output.clone())?;
    if result == 1 {
        g.write("external_signer", dst, &output[1..])?;
    }
    Ok(result)
}

pub(crate) fn call<G: Guest>(
    g: &mut G,
    rp: u64,
    ep: u64,
    el: u64,
    ap: u64,
    al: u64,
    dst: u64,
    cap: u64,
) -> HostResult<i32> {
    let resource = ContentId(Hash(read_array::<32>(g, "call", rp)?));
    let entry = g.read("call", ep, el, MAX_ENTRY_LEN)?;
    let entry = String::from_utf8(entry).map_err(|_| bad("call", "entry is not UTF-8"))?;
    let args = g.read("call", ap, al, MAX_CALL_ARGS)?;
    let callee_id = crate::contract_id(&resource);
    let input = codec::encode(&(resource, &entry, &args));
    // Charge the fixed part up front, so a call with no points left fails before any work.
    let fixed = HostState::cost("call", &input, &[]);
    let budget = match g.points()? {
        MeteringPoints::Remaining(left) if left >= fixed => left - fixed,
        _ => {
            g.set_points(0)?;
            return Err(WasmError::OutOfCu { limit: 0 });
        }
    };
    g.parts().0.check_call(&callee_id)?;
    let callee = g.callee(&resource)?;
    g.parts().0.push_frame(callee_id, args)?;
    // The callee draws on what is left of the caller's points.
    let (result, left) = g.run_callee(callee, &entry, budget);
    let return_data = g.parts().0.pop_frame()?;
    g.set_points(left.saturating_add(fixed))?;
    if let Err(e) = result {
        g.set_points(0)?;
        return Err(match e {
            WasmError::OutOfCu { .. } => WasmError::OutOfCu { limit: 0 },
            other => WasmError::Callee {
                contract: callee_id,
                source: Box::new(other),
            },
        });
    }
    finish(g, "call", input, return_data.clone())?;
    copy_out(g, "call", dst, cap, &return_data)?;
    Ok(return_data.len() as i32)
}

pub(crate) fn abort(g: &mut impl Guest, p: u64, l: u64) -> HostResult<()> {
    let l = l.min(MAX_ABORT_LEN as u64);
    let msg = g.read("abort", p, l, MAX_ABORT_LEN)?;
    Err(WasmError::Abort(String::from_utf8_lossy(&msg).into_owned()))
}
