// The raw HostABI v1 imports (module `wes`), one per function of the host's table
// (wes-ispc/src/host_abi_table.rs; a test in wes-ispc checks every declaration against it).
// Pointers and lengths are `usize` (i32); amounts, heights and offsets 64-bit. Prefer the
// wrappers in `index.ts`.

/** `() → i64`: the height the call is made for. */
@external("wes", "height")
export declare function height(): u64;
/** `() → i64`: the block time in milliseconds. */
@external("wes", "time_ms")
export declare function time_ms(): u64;
/** `(dst) → ()`: writes the caller's 32-byte address. */
@external("wes", "caller")
export declare function caller(dst: usize): void;
/** `(dst) → ()`: writes the executed contract's 32-byte id. */
@external("wes", "contract")
export declare function contract(dst: usize): void;
/** `(dst) → ()`: writes the 32-byte id of this call. */
@external("wes", "call_id")
export declare function call_id(dst: usize): void;
/** `(dst, cap) → i32`: total argument length; copies `min(len, cap)` bytes. */
@external("wes", "args")
export declare function args(dst: usize, cap: usize): i32;
/** `(key, key_len, dst, cap) → i32`: value length or -1 if absent. */
@external("wes", "state_get")
export declare function state_get(key: usize, key_len: usize, dst: usize, cap: usize): i32;
/** `(key, key_len, val, val_len) → ()`. */
@external("wes", "state_set")
export declare function state_set(key: usize, key_len: usize, val: usize, val_len: usize): void;
/** `(key, key_len) → ()`. */
@external("wes", "state_delete")
export declare function state_delete(key: usize, key_len: usize): void;
/** `(outpoint, dst, cap) → i32`: length of `enc(Output)` or -1 if not unspent. */
@external("wes", "utxo_get")
export declare function utxo_get(outpoint: usize, dst: usize, cap: usize): i32;
/** `(outpoint) → ()`: spends an asset output owned by this contract. */
@external("wes", "utxo_spend")
export declare function utxo_spend(outpoint: usize): void;
/** `(id, offset, dst, cap) → i64`: total size or -1 if absent. */
@external("wes", "resource_read")
export declare function resource_read(id: usize, offset: u64, dst: usize, cap: usize): i64;
/** `(lock, lock_len, token, token_len, amount) → ()`. */
@external("wes", "output_asset")
export declare function output_asset(
  lock: usize, lock_len: usize, token: usize, token_len: usize, amount: u64,
): void;
/** `(lock, lock_len, tag, amount) → ()`: mints this contract's token `tag`. */
@external("wes", "mint_asset")
export declare function mint_asset(lock: usize, lock_len: usize, tag: usize, amount: u64): void;
/** `(lock, lock_len, id, kind, name, name_len) → ()`. */
@external("wes", "output_resource")
export declare function output_resource(
  lock: usize, lock_len: usize, id: usize, kind: u32, name: usize, name_len: usize,
): void;
/** `(topic, topic_len, data, data_len) → ()`. */
@external("wes", "emit_event")
export declare function emit_event(topic: usize, topic_len: usize, data: usize, data_len: usize): void;
/** `(ptr, len) → ()`: sets the return data. */
@external("wes", "set_return")
export declare function set_return(ptr: usize, len: usize): void;
/** `(conn, conn_len, req, req_len, dst, cap) → i32`: response length. */
@external("wes", "external_call")
export declare function external_call(
  conn: usize, conn_len: usize, req: usize, req_len: usize, dst: usize, cap: usize,
): i32;
/** `(resource, entry, entry_len, args, args_len, dst, cap) → i32`: return data length. */
@external("wes", "call")
export declare function call(
  resource: usize, entry: usize, entry_len: usize, args: usize, args_len: usize, dst: usize,
  cap: usize,
): i32;
/** `(dst) → i32`: 1 and the receipt signer's key if the last external call was signed. */
@external("wes", "external_signer")
export declare function external_signer(dst: usize): i32;
/** `(msg, len) → ()`: fails the call; never returns. */
@external("wes", "abort")
export declare function abort(msg: usize, len: usize): void;
/** `(model, input, input_len, dst, cap) → i32`: runs an ONNX model's quantized network. */
@external("wes", "model_infer")
export declare function model_infer(
  model: usize, input: usize, input_len: usize, dst: usize, cap: usize,
): i32;
