// The HostABI v1 function table: the one place where the host functions are listed.
//
// Not a module. It is `include!`d by the host (`host.rs`: import validation, compute-unit costs,
// linking in `imports/`) and by the guest SDK (`guest/wes-contract/src/lib.rs`: its `extern`
// block), and each defines the `host_functions!` macro it is expanded with. HOSTABI.md is
// checked against it by a test. Keep it within Rust 1.63, the guest's compiler.
//
// Each entry: the guest-facing doc comment, the signature, the cost (`fixed + per_byte`, per
// byte of the call's encoded trace input plus output) and whether the function reads the chain
// view (a module that imports none of those runs without one). Parameter types: `ptr`
// (`*const u8`), `out` (`*mut u8`), `len` (`usize`), `u32` and `u64`; results `i32`, `i64` or
// `u64`. In WASM, `u64`/`i64` are `i64` and everything else is `i32`.
host_functions! {
    /// `() → i64`: the height the call is made for.
    fn height() -> u64 { cost: 10 + 0, reads_chain: false }
    /// `() → i64`: the block time in milliseconds (within bounds of the including block's,
    /// see HOSTABI.md).
    fn time_ms() -> u64 { cost: 10 + 0, reads_chain: false }
    /// `(dst) → ()`: writes the caller's 32-byte address.
    fn caller(dst: out) { cost: 20 + 0, reads_chain: false }
    /// `(dst) → ()`: writes the executed contract's 32-byte id.
    fn contract(dst: out) { cost: 20 + 0, reads_chain: false }
    /// `(dst) → ()`: writes the 32-byte id of this call.
    fn call_id(dst: out) { cost: 20 + 0, reads_chain: false }
    /// `(dst, cap) → i32`: total argument length; copies `min(len, cap)` bytes.
    fn args(dst: out, cap: len) -> i32 { cost: 10 + 1, reads_chain: false }
    /// `(key, key_len, dst, cap) → i32`: value length or -1 if absent; copies
    /// `min(len, cap)` bytes.
    fn state_get(key: ptr, key_len: len, dst: out, cap: len) -> i32 {
        cost: 100 + 1, reads_chain: true
    }
    /// `(key, key_len, val, val_len) → ()`.
    fn state_set(key: ptr, key_len: len, val: ptr, val_len: len) {
        cost: 200 + 2, reads_chain: true
    }
    /// `(key, key_len) → ()`.
    fn state_delete(key: ptr, key_len: len) { cost: 100 + 1, reads_chain: true }
    /// `(outpoint, dst, cap) → i32`: length of `enc(Output)` or -1 if not unspent; copies
    /// `min(len, cap)` bytes. `outpoint` points at 36 bytes.
    fn utxo_get(outpoint: ptr, dst: out, cap: len) -> i32 { cost: 100 + 1, reads_chain: true }
    /// `(outpoint) → ()`: spends an asset output owned by this contract.
    fn utxo_spend(outpoint: ptr) { cost: 300 + 1, reads_chain: true }
    /// `(id, offset, dst, cap) → i64`: total size or -1 if absent; copies
    /// `min(cap, 65536, size - offset)` bytes from `offset`.
    fn resource_read(id: ptr, offset: u64, dst: out, cap: len) -> i64 {
        cost: 100 + 1, reads_chain: true
    }
    /// `(lock, lock_len, token, token_len, amount) → ()`.
    fn output_asset(lock: ptr, lock_len: len, token: ptr, token_len: len, amount: u64) {
        cost: 300 + 1, reads_chain: false
    }
    /// `(lock, lock_len, tag, amount) → ()`: mints this contract's token `tag`.
    fn mint_asset(lock: ptr, lock_len: len, tag: ptr, amount: u64) {
        cost: 300 + 1, reads_chain: false
    }
    /// `(lock, lock_len, id, kind, name, name_len) → ()`.
    fn output_resource(lock: ptr, lock_len: len, id: ptr, kind: u32, name: ptr, name_len: len) {
        cost: 300 + 1, reads_chain: true
    }
    /// `(topic, topic_len, data, data_len) → ()`.
    fn emit_event(topic: ptr, topic_len: len, data: ptr, data_len: len) {
        cost: 50 + 1, reads_chain: false
    }
    /// `(ptr, len) → ()`: replaces the return data.
    fn set_return(ptr: ptr, len: len) { cost: 10 + 1, reads_chain: false }
    /// `(conn, conn_len, req, req_len, dst, cap) → i32`: response length; copies
    /// `min(len, cap)` bytes.
    fn external_call(conn: ptr, conn_len: len, req: ptr, req_len: len, dst: out, cap: len) -> i32 {
        cost: 500 + 1, reads_chain: false
    }
    /// `(resource, entry, entry_len, args, args_len, dst, cap) → i32`: the callee's
    /// return-data length; copies `min(len, cap)` bytes.
    ///
    /// A nested call instantiates a module (≈ 10 µs, as much as ≈ 150 k operators): priced so,
    /// plus everything the callee uses.
    fn call(
        resource: ptr, entry: ptr, entry_len: len, args: ptr, args_len: len, dst: out, cap: len
    ) -> i32 {
        cost: 50_000 + 1, reads_chain: true
    }
    /// `(dst) → i32`: 1 and the 32-byte signer of the latest external-call receipt, 0 if
    /// it was unsigned, -1 if there was none.
    fn external_signer(dst: out) -> i32 { cost: 20 + 0, reads_chain: false }
    /// `(msg, len) → ()`: fails the call with `msg`; never returns.
    fn abort(msg: ptr, len: len) { cost: 0 + 0, reads_chain: false }
    /// `(model, input, input_len, dst, cap) → i32`: runs the quantized network of an ONNX
    /// model on one row of `i32le` fixed-point input; writes the outputs as `i32le`.
    ///
    /// Costs the model's graph cost (`OnnxModel::cost(1)`) on top.
    fn model_infer(model: ptr, input: ptr, input_len: len, dst: out, cap: len) -> i32 {
        cost: 1_000 + 1, reads_chain: true
    }
}
