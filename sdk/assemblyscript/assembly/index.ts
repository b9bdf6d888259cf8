// The WES contract SDK for AssemblyScript: safe wrappers over HostABI v1 (`env.ts`), a byte
// Reader and Writer in the encoding of the contract ABI (little-endian integers, `u32`-length-
// prefixed bytes and strings, self-delimiting locks and tokens), the canonical lock and token
// encodings, and contract errors with codes. The same HostABI and the same ABI format as the
// Rust SDK (`wes-ispc/guest/wes-contract`): `build.mjs` embeds a contract's ABI JSON in its
// module's `wes:abi` section.
//
// Floats are refused by the host: nothing here uses them, and `build.mjs` compiles with the
// stub runtime, which has none. Number formatting and `Math` would bring them in.

import * as env from "./env";

export { env };

/** Longest return data, event payload buffer for nested calls and external calls, in bytes. */
export const BUFFER_CAP: i32 = 4096;

// ---------------------------------------------------------------------------------------
// Failing.

/** Fails the whole call with `message` (UTF-8, the host keeps the first 256 bytes). */
export function fail(message: string): void {
  const bytes = Uint8Array.wrap(String.UTF8.encode(message));
  env.abort(bytes.dataStart, <usize>bytes.length);
  unreachable();
}

/** A contract error: a code, a name and a message, as the ABI's `errors` list them. */
export class ContractError {
  constructor(public code: u32, public name: string, public message: string) {}

  /** Fails the call with `#<code> <Name>: <message>`, which nodes decode with the ABI. */
  raise(): void {
    fail("#" + this.code.toString() + " " + this.name + ": " + this.message);
  }
}

/** Fails with `error()` unless `cond` holds. Errors are made by functions, not held in
 *  top-level constants: a top-level initialiser compiles to a start function, which the host
 *  refuses. */
export function ensure(cond: bool, error: () => ContractError): void {
  if (!cond) error().raise();
}

// ---------------------------------------------------------------------------------------
// Context.

/** The height the call is made for. */
export function height(): u64 {
  return env.height();
}

/** The block time chosen by the transaction's constructor, in ms since the Unix epoch. */
export function timeMs(): u64 {
  return env.time_ms();
}

function fixed32(write: (dst: usize) => void): Uint8Array {
  const out = new Uint8Array(32);
  write(out.dataStart);
  return out;
}

/** The caller's 32-byte address. */
export function caller(): Uint8Array {
  return fixed32((dst: usize): void => env.caller(dst));
}

/** This contract's 32-byte id. */
export function contract(): Uint8Array {
  return fixed32((dst: usize): void => env.contract(dst));
}

/** This call's 32-byte id. */
export function callId(): Uint8Array {
  return fixed32((dst: usize): void => env.call_id(dst));
}

/** The call's arguments. */
export function args(): Uint8Array {
  const len = env.args(0, 0);
  const out = new Uint8Array(len);
  env.args(out.dataStart, <usize>len);
  return out;
}

// ---------------------------------------------------------------------------------------
// State, outputs, events, return data.

/** This contract's state under `key`, or null. */
export function stateGet(key: Uint8Array): Uint8Array | null {
  const len = env.state_get(key.dataStart, <usize>key.length, 0, 0);
  if (len < 0) return null;
  const out = new Uint8Array(len);
  env.state_get(key.dataStart, <usize>key.length, out.dataStart, <usize>len);
  return out;
}

/** Whether `key` has a value. */
export function stateHas(key: Uint8Array): bool {
  return env.state_get(key.dataStart, <usize>key.length, 0, 0) >= 0;
}

/** Sets this contract's state under `key`. */
export function stateSet(key: Uint8Array, value: Uint8Array): void {
  env.state_set(key.dataStart, <usize>key.length, value.dataStart, <usize>value.length);
}

/** Deletes this contract's state under `key`. */
export function stateDelete(key: Uint8Array): void {
  env.state_delete(key.dataStart, <usize>key.length);
}

/** Creates an asset output of `amount` of `token` (encoded) locked by `lock` (encoded). */
export function outputAsset(lock: Uint8Array, token: Uint8Array, amount: u64): void {
  env.output_asset(lock.dataStart, <usize>lock.length, token.dataStart, <usize>token.length, amount);
}

/** Mints `amount` of this contract's token `tag` (32 bytes) to `lock` (encoded). */
export function mintAsset(lock: Uint8Array, tag: Uint8Array, amount: u64): void {
  env.mint_asset(lock.dataStart, <usize>lock.length, tag.dataStart, amount);
}

/** The unspent output at `outpoint` (36 bytes) as `enc(Output)`, or null. */
export function utxoGet(outpoint: Uint8Array): Uint8Array | null {
  const buf = new Uint8Array(BUFFER_CAP);
  const len = env.utxo_get(outpoint.dataStart, buf.dataStart, <usize>BUFFER_CAP);
  if (len < 0) return null;
  if (len > BUFFER_CAP) fail("utxo_get: does not fit the buffer");
  return buf.subarray(0, len);
}

/** Spends the asset output at `outpoint`, which this contract owns. */
export function utxoSpend(outpoint: Uint8Array): void {
  env.utxo_spend(outpoint.dataStart);
}

/** Emits an event: `topic` and its data. */
export function emitEvent(topic: string, data: Uint8Array): void {
  const t = Uint8Array.wrap(String.UTF8.encode(topic));
  env.emit_event(t.dataStart, <usize>t.length, data.dataStart, <usize>data.length);
}

/** Sets the call's return data. */
export function setReturn(data: Uint8Array): void {
  env.set_return(data.dataStart, <usize>data.length);
}

/** Calls `entry` of the contract deployed as `resource` with `args`; its return data. */
export function call(resource: Uint8Array, entry: string, args: Uint8Array): Uint8Array {
  const e = Uint8Array.wrap(String.UTF8.encode(entry));
  const buf = new Uint8Array(BUFFER_CAP);
  const len = env.call(
    resource.dataStart, e.dataStart, <usize>e.length, args.dataStart, <usize>args.length,
    buf.dataStart, <usize>BUFFER_CAP,
  );
  if (len > BUFFER_CAP) fail("call: does not fit the buffer");
  return buf.subarray(0, len);
}

/** Sends `request` to the node's connector `connector`; the response. */
export function externalCall(connector: string, request: Uint8Array): Uint8Array {
  const c = Uint8Array.wrap(String.UTF8.encode(connector));
  const buf = new Uint8Array(BUFFER_CAP);
  const len = env.external_call(
    c.dataStart, <usize>c.length, request.dataStart, <usize>request.length, buf.dataStart,
    <usize>BUFFER_CAP,
  );
  if (len > BUFFER_CAP) fail("external_call: does not fit the buffer");
  return buf.subarray(0, len);
}

// ---------------------------------------------------------------------------------------
// Encodings.

/** `enc(Lock::key(pk))`: 00000000 00000000 ‖ pk[32]. */
export function keyLock(pk: Uint8Array): Uint8Array {
  return new Writer().u32(0).u32(0).bytes(pk).finish();
}

/** `enc(Lock::contract(id))`: 00000000 02000000 ‖ id[32]. */
export function contractLock(id: Uint8Array): Uint8Array {
  return new Writer().u32(0).u32(2).bytes(id).finish();
}

/** `enc(TokenId::Issued { contract, tag })`: 01000000 ‖ contract[32] ‖ tag[32]. */
export function issuedToken(contract: Uint8Array, tag: Uint8Array): Uint8Array {
  return new Writer().u32(1).bytes(contract).bytes(tag).finish();
}

/** Whether `a` and `b` hold the same bytes. */
export function equal(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

/** The UTF-8 bytes of `s` (state keys, say). */
export function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/** Reads values in the ABI's encoding; a read past the end, or a malformed value, fails the
 *  call with `"<name>: …"`. */
export class Reader {
  private pos: i32 = 0;

  constructor(private buf: Uint8Array, private name: string = "args") {}

  private take(n: i32): Uint8Array {
    if (n < 0 || n > this.buf.length - this.pos) fail(this.name + ": input too short");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A `u8`. */
  u8(): u8 {
    return this.take(1)[0];
  }

  /** A `u32le`. */
  u32(): u32 {
    const b = this.take(4);
    return load<u32>(b.dataStart);
  }

  /** A `u64le`. */
  u64(): u64 {
    const b = this.take(8);
    return load<u64>(b.dataStart);
  }

  /** A bool: one byte, 0 or 1. */
  bool(): bool {
    const b = this.u8();
    if (b > 1) fail(this.name + ": a bool is not 0 or 1");
    return b == 1;
  }

  /** Exactly `n` bytes (`bytesN` in the ABI). */
  fixed(n: i32): Uint8Array {
    return this.take(n);
  }

  /** A `u32le`-prefixed byte string (`bytes`). */
  bytes(): Uint8Array {
    return this.take(<i32>this.u32());
  }

  /** A `u32le`-prefixed UTF-8 string (`string`). */
  string(): string {
    const b = this.bytes();
    return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }

  /** An encoded lock (`lock`), which delimits itself. */
  lock(): Uint8Array {
    const rest = this.buf.subarray(this.pos);
    const len = lockLen(rest);
    if (len < 0) fail(this.name + ": not a lock");
    return this.take(len);
  }

  /** An encoded token id (`token`): 4 or 68 bytes. */
  token(): Uint8Array {
    const rest = this.buf.subarray(this.pos);
    if (rest.length < 4) fail(this.name + ": not a token");
    const tag = load<u32>(rest.dataStart);
    if (tag == 0) return this.take(4);
    if (tag == 1) return this.take(68);
    fail(this.name + ": not a token");
    return rest;
  }

  /** Fails unless everything was read. */
  end(): void {
    if (this.pos != this.buf.length) fail(this.name + ": trailing bytes");
  }
}

/** The length of the encoded guard at the start of `b`, or -1. */
function guardLen(b: Uint8Array): i32 {
  if (b.length < 4) return -1;
  const kind = load<u32>(b.dataStart);
  if (kind == 0 || kind == 2) return b.length >= 36 ? 36 : -1;
  if (kind == 1) {
    // threshold u16 ‖ keys: u64le count ‖ count × 32 bytes.
    if (b.length < 14) return -1;
    const count = load<u64>(b.dataStart + 6);
    if (count > 32) return -1;
    const len = 14 + 32 * <i32>count;
    return b.length >= len ? len : -1;
  }
  return -1;
}

/** The length of the encoded lock at the start of `b` (any kind), or -1. */
export function lockLen(b: Uint8Array): i32 {
  if (b.length < 4) return -1;
  const kind = load<u32>(b.dataStart);
  if (kind == 0) {
    const g = guardLen(b.subarray(4));
    return g < 0 ? -1 : 4 + g;
  }
  if (kind == 1) {
    // until: LockTime (u32 kind ≤ 1 ‖ u64) ‖ guard.
    if (b.length < 16 || load<u32>(b.dataStart + 4) > 1) return -1;
    const g = guardLen(b.subarray(16));
    return g < 0 ? -1 : 16 + g;
  }
  if (kind == 2) {
    // owner: Guard ‖ contract: Option<ContractId> ‖ max_fee_per_tx: u128.
    const g = guardLen(b.subarray(4));
    if (g < 0) return -1;
    let at = 4 + g;
    if (b.length <= at) return -1;
    const some = b[at];
    if (some == 0) at += 1;
    else if (some == 1) at += 33;
    else return -1;
    at += 16;
    return b.length >= at ? at : -1;
  }
  return -1;
}

/** Writes values in the ABI's encoding into a growing buffer. */
export class Writer {
  private buf: Uint8Array = new Uint8Array(64);
  private len: i32 = 0;

  private reserve(n: i32): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  /** Appends one byte. */
  u8(v: u8): Writer {
    this.reserve(1);
    this.buf[this.len++] = v;
    return this;
  }

  /** Appends a `u32le`. */
  u32(v: u32): Writer {
    this.reserve(4);
    store<u32>(this.buf.dataStart + <usize>this.len, v);
    this.len += 4;
    return this;
  }

  /** Appends a `u64le`. */
  u64(v: u64): Writer {
    this.reserve(8);
    store<u64>(this.buf.dataStart + <usize>this.len, v);
    this.len += 8;
    return this;
  }

  /** Appends bytes as they are (`bytesN`, a lock, a token). */
  bytes(b: Uint8Array): Writer {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Appends a `u32le`-prefixed byte string (`bytes`). */
  prefixed(b: Uint8Array): Writer {
    return this.u32(<u32>b.length).bytes(b);
  }

  /** Appends a `u32le`-prefixed UTF-8 string (`string`). */
  string(s: string): Writer {
    return this.prefixed(utf8(s));
  }

  /** The bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
