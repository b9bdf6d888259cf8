/**
 * The canonical encoding, byte for byte what `wes_core::codec` writes: bincode with
 * little-endian fixed-width integers, lengths as u64, enum tags as u32, options as a 0/1
 * byte, fixed-size arrays (ids, keys, signatures) without a length. Decoding rejects
 * malformed and trailing bytes, so a byte string decodes only if it is exactly the encoding
 * of the value it decodes to. The Rust fixtures (`test/fixtures/codec.json`) hold both sides
 * to it.
 * @module
 */

import type {
  Block,
  BlockHeader,
  Execution,
  Guard,
  Input,
  KeySignature,
  Lock,
  LockTime,
  OutPoint,
  Output,
  OutputBody,
  ResourceBody,
  ResourceKind,
  SignedTransaction,
  TokenId,
  Transaction,
  ValidityWindow,
  Witness,
} from './types.js';

/** Why bytes did not decode. */
export class CodecError extends Error {
  override name = 'CodecError';
}

const U64_MAX = 2n ** 64n - 1n;
const U128_MAX = 2n ** 128n - 1n;
/** The largest input decoded (as in Rust). */
export const MAX_DECODE_SIZE = 32 * 1024 * 1024;

/** Appends canonical encodings to a growing buffer. */
export class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** The bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new CodecError(`u8 out of range: ${v}`);
    this.room(1);
    this.buf[this.len++] = v;
    return this;
  }

  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new CodecError(`u16 out of range: ${v}`);
    this.room(2);
    new DataView(this.buf.buffer).setUint16(this.len, v, true);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new CodecError(`u32 out of range: ${v}`);
    }
    this.room(4);
    new DataView(this.buf.buffer).setUint32(this.len, v, true);
    this.len += 4;
    return this;
  }

  u64(v: bigint | number): this {
    const b = BigInt(v);
    if (b < 0n || b > U64_MAX) throw new CodecError(`u64 out of range: ${b}`);
    this.room(8);
    new DataView(this.buf.buffer).setBigUint64(this.len, b, true);
    this.len += 8;
    return this;
  }

  u128(v: bigint): this {
    if (v < 0n || v > U128_MAX) throw new CodecError(`u128 out of range: ${v}`);
    this.u64(v & U64_MAX);
    return this.u64(v >> 64n);
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  /** Fixed-size bytes, without a length (ids, keys, signatures). */
  fixed(bytes: Uint8Array, size: number): this {
    if (bytes.length !== size) {
      throw new CodecError(`expected ${size} bytes, got ${bytes.length}`);
    }
    this.room(size);
    this.buf.set(bytes, this.len);
    this.len += size;
    return this;
  }

  /** Bytes with a u64 length. */
  bytes(bytes: Uint8Array): this {
    this.u64(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /** A UTF-8 string with a u64 length. */
  string(s: string): this {
    return this.bytes(new TextEncoder().encode(s));
  }

  /** A sequence with a u64 length. */
  seq<T>(items: readonly T[], item: (w: Writer, v: T) => void): this {
    this.u64(items.length);
    for (const v of items) item(this, v);
    return this;
  }

  /** An option: 0, or 1 and the value. */
  option<T>(v: T | null | undefined, item: (w: Writer, v: T) => void): this {
    if (v === null || v === undefined) return this.u8(0);
    this.u8(1);
    item(this, v);
    return this;
  }
}

/** Reads canonical encodings from bytes, refusing anything else. */
export class Reader {
  private at = 0;
  private readonly view: DataView;

  constructor(private readonly data: Uint8Array) {
    if (data.length > MAX_DECODE_SIZE) {
      throw new CodecError(`input of ${data.length} bytes exceeds ${MAX_DECODE_SIZE}`);
    }
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private need(n: number, what: string): void {
    if (this.at + n > this.data.length) {
      throw new CodecError(`${what}: unexpected end of input at byte ${this.at}`);
    }
  }

  /** Throws unless every byte was read. */
  end(what: string): void {
    if (this.at !== this.data.length) {
      throw new CodecError(
        `${what}: ${this.data.length - this.at} trailing bytes after a ${this.at}-byte encoding`,
      );
    }
  }

  u8(): number {
    this.need(1, 'u8');
    return this.data[this.at++]!;
  }

  u16(): number {
    this.need(2, 'u16');
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }

  u32(): number {
    this.need(4, 'u32');
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  u64(): bigint {
    this.need(8, 'u64');
    const v = this.view.getBigUint64(this.at, true);
    this.at += 8;
    return v;
  }

  u128(): bigint {
    const lo = this.u64();
    const hi = this.u64();
    return (hi << 64n) | lo;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw new CodecError(`bool: invalid byte ${b}`);
    return b === 1;
  }

  fixed(size: number): Uint8Array {
    this.need(size, `${size} bytes`);
    const v = this.data.slice(this.at, this.at + size);
    this.at += size;
    return v;
  }

  /** A length, checked against what is left (each item takes at least `min` bytes). */
  private length(what: string, min: number): number {
    const n = this.u64();
    if (n * BigInt(Math.max(min, 1)) > BigInt(this.data.length - this.at)) {
      throw new CodecError(`${what}: length ${n} exceeds the input`);
    }
    return Number(n);
  }

  bytes(): Uint8Array {
    const n = this.length('bytes', 1);
    return this.fixed(n);
  }

  string(): string {
    const bytes = this.bytes();
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new CodecError('string: invalid UTF-8');
    }
  }

  seq<T>(item: (r: Reader) => T, min = 1): T[] {
    const n = this.length('sequence', min);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }

  option<T>(item: (r: Reader) => T): T | null {
    const tag = this.u8();
    if (tag === 0) return null;
    if (tag === 1) return item(this);
    throw new CodecError(`option: invalid tag ${tag}`);
  }

  /** An enum tag below `count`. */
  tag(what: string, count: number): number {
    const t = this.u32();
    if (t >= count) throw new CodecError(`${what}: unknown variant ${t}`);
    return t;
  }
}

// ---- encoders ------------------------------------------------------------------------

const hash = (w: Writer, h: Uint8Array) => w.fixed(h, 32);

export function writeOutPoint(w: Writer, o: OutPoint): void {
  hash(w, o.tx);
  w.u32(o.index);
}

export function writeInput(w: Writer, i: Input): void {
  writeOutPoint(w, i.prev);
  w.u32(i.mode === 'spend' ? 0 : 1);
}

export function writeToken(w: Writer, t: TokenId): void {
  if (t.type === 'native') {
    w.u32(0);
  } else {
    w.u32(1);
    hash(w, t.contract);
    hash(w, t.tag);
  }
}

export function writeGuard(w: Writer, g: Guard): void {
  switch (g.type) {
    case 'key':
      w.u32(0).fixed(g.key, 32);
      break;
    case 'multisig':
      w.u32(1).u16(g.multisig.threshold);
      w.seq(g.multisig.keys, (w, k) => w.fixed(k, 32));
      break;
    case 'contract':
      w.u32(2);
      hash(w, g.contract);
      break;
  }
}

function writeLockTime(w: Writer, t: LockTime): void {
  if (t.type === 'height') w.u32(0).u64(t.height);
  else w.u32(1).u64(t.timeMs);
}

export function writeLock(w: Writer, l: Lock): void {
  switch (l.type) {
    case 'guarded':
      w.u32(0);
      writeGuard(w, l.guard);
      break;
    case 'timeLocked':
      w.u32(1);
      writeLockTime(w, l.until);
      writeGuard(w, l.guard);
      break;
    case 'sponsorPool':
      w.u32(2);
      writeGuard(w, l.pool.owner);
      w.option(l.pool.contract, hash);
      w.u128(l.pool.maxFeePerTx);
      break;
  }
}

function writeKind(w: Writer, k: ResourceKind): void {
  switch (k.type) {
    case 'wasm':
      w.u32(0);
      break;
    case 'onnx':
      w.u32(1);
      break;
    case 'file':
      w.u32(2);
      break;
    case 'custom':
      w.u32(3).u32(k.id);
      break;
  }
}

export function writeResourceBody(w: Writer, r: ResourceBody): void {
  hash(w, r.content);
  writeKind(w, r.kind);
  w.u64(r.size);
  w.string(r.meta.name).string(r.meta.mime);
  w.option(r.meta.verifyingKey, hash);
}

function writeBody(w: Writer, b: OutputBody): void {
  switch (b.type) {
    case 'asset':
      w.u32(0);
      writeToken(w, b.token);
      w.u128(b.amount);
      break;
    case 'resource':
      w.u32(1);
      writeResourceBody(w, b.resource);
      break;
    case 'state':
      w.u32(2);
      hash(w, b.state.contract);
      w.bytes(b.state.key).bytes(b.state.data).u64(b.state.version);
      break;
  }
}

export function writeOutput(w: Writer, o: Output): void {
  writeLock(w, o.lock);
  writeBody(w, o.body);
}

function writeValidity(w: Writer, v: ValidityWindow): void {
  w.u64(v.notBefore).u64(v.notAfter);
}

function writeExecution(w: Writer, e: Execution): void {
  hash(w, e.contract);
  w.seq(e.callees, hash);
  hash(w, e.resource);
  w.string(e.entry).bytes(e.args).u64(e.cuLimit).u64(e.cuUsed);
  hash(w, e.traceRoot);
  w.string(e.proofSystem);
}

export function writeTransaction(w: Writer, t: Transaction): void {
  w.u16(t.version).u32(t.chainId);
  w.seq(t.inputs, writeInput);
  w.seq(t.outputs, writeOutput);
  writeValidity(w, t.validity);
  w.option(t.execution, writeExecution);
}

export function writeWitness(w: Writer, x: Witness): void {
  w.seq(x.signatures, (w, s) => w.fixed(s.key, 32).fixed(s.signature, 64));
  w.bytes(x.proof);
}

export function writeSignedTransaction(w: Writer, s: SignedTransaction): void {
  writeTransaction(w, s.tx);
  writeWitness(w, s.witness);
}

export function writeBlockHeader(w: Writer, h: BlockHeader): void {
  w.u32(h.version).u32(h.chainId);
  hash(w, h.parent);
  w.u64(h.height).u64(h.timeMs);
  hash(w, h.txRoot);
  hash(w, h.witnessRoot);
  hash(w, h.stateRoot);
  w.fixed(h.producer, 32).u32(h.target).u64(h.nonce).bytes(h.seal);
}

export function writeBlock(w: Writer, b: Block): void {
  writeBlockHeader(w, b.header);
  w.seq(b.transactions, writeSignedTransaction);
}

// ---- decoders ------------------------------------------------------------------------

const readHash = (r: Reader) => r.fixed(32);

export function readOutPoint(r: Reader): OutPoint {
  return { tx: readHash(r), index: r.u32() };
}

function readInput(r: Reader): Input {
  const prev = readOutPoint(r);
  return { prev, mode: r.tag('InputMode', 2) === 0 ? 'spend' : 'reference' };
}

export function readToken(r: Reader): TokenId {
  if (r.tag('TokenId', 2) === 0) return { type: 'native' };
  return { type: 'issued', contract: readHash(r), tag: readHash(r) };
}

function readGuard(r: Reader): Guard {
  switch (r.tag('Guard', 3)) {
    case 0:
      return { type: 'key', key: r.fixed(32) };
    case 1: {
      const threshold = r.u16();
      return { type: 'multisig', multisig: { threshold, keys: r.seq((r) => r.fixed(32), 32) } };
    }
    default:
      return { type: 'contract', contract: readHash(r) };
  }
}

function readLockTime(r: Reader): LockTime {
  return r.tag('LockTime', 2) === 0
    ? { type: 'height', height: r.u64() }
    : { type: 'time', timeMs: r.u64() };
}

export function readLock(r: Reader): Lock {
  switch (r.tag('Lock', 3)) {
    case 0:
      return { type: 'guarded', guard: readGuard(r) };
    case 1: {
      const until = readLockTime(r);
      return { type: 'timeLocked', until, guard: readGuard(r) };
    }
    default: {
      const owner = readGuard(r);
      const contract = r.option(readHash);
      return { type: 'sponsorPool', pool: { owner, contract, maxFeePerTx: r.u128() } };
    }
  }
}

function readKind(r: Reader): ResourceKind {
  switch (r.tag('ResourceKind', 4)) {
    case 0:
      return { type: 'wasm' };
    case 1:
      return { type: 'onnx' };
    case 2:
      return { type: 'file' };
    default:
      return { type: 'custom', id: r.u32() };
  }
}

export function readResourceBody(r: Reader): ResourceBody {
  const content = readHash(r);
  const kind = readKind(r);
  const size = r.u64();
  const name = r.string();
  const mime = r.string();
  return { content, kind, size, meta: { name, mime, verifyingKey: r.option(readHash) } };
}

function readBody(r: Reader): OutputBody {
  switch (r.tag('OutputBody', 3)) {
    case 0: {
      const token = readToken(r);
      return { type: 'asset', token, amount: r.u128() };
    }
    case 1:
      return { type: 'resource', resource: readResourceBody(r) };
    default: {
      const contract = readHash(r);
      const key = r.bytes();
      const data = r.bytes();
      return { type: 'state', state: { contract, key, data, version: r.u64() } };
    }
  }
}

export function readOutput(r: Reader): Output {
  const lock = readLock(r);
  return { lock, body: readBody(r) };
}

function readExecution(r: Reader): Execution {
  const contract = readHash(r);
  const callees = r.seq(readHash, 32);
  const resource = readHash(r);
  const entry = r.string();
  const args = r.bytes();
  const cuLimit = r.u64();
  const cuUsed = r.u64();
  const traceRoot = readHash(r);
  const proofSystem = r.string();
  if (!/^[a-z0-9.-]{1,32}$/.test(proofSystem)) {
    throw new CodecError(`invalid proof system id ${JSON.stringify(proofSystem.slice(0, 64))}`);
  }
  return { contract, callees, resource, entry, args, cuLimit, cuUsed, traceRoot, proofSystem };
}

export function readTransaction(r: Reader): Transaction {
  const version = r.u16();
  const chainId = r.u32();
  const inputs = r.seq(readInput, 40);
  const outputs = r.seq(readOutput, 8);
  const validity = { notBefore: r.u64(), notAfter: r.u64() };
  return { version, chainId, inputs, outputs, validity, execution: r.option(readExecution) };
}

function readWitness(r: Reader): Witness {
  const signatures = r.seq((r): KeySignature => ({ key: r.fixed(32), signature: r.fixed(64) }), 96);
  return { signatures, proof: r.bytes() };
}

export function readSignedTransaction(r: Reader): SignedTransaction {
  const tx = readTransaction(r);
  return { tx, witness: readWitness(r) };
}

export function readBlockHeader(r: Reader): BlockHeader {
  const version = r.u32();
  const chainId = r.u32();
  const parent = readHash(r);
  const height = r.u64();
  const timeMs = r.u64();
  const txRoot = readHash(r);
  const witnessRoot = readHash(r);
  const stateRoot = readHash(r);
  const producer = r.fixed(32);
  const target = r.u32();
  const nonce = r.u64();
  return { version, chainId, parent, height, timeMs, txRoot, witnessRoot, stateRoot, producer, target, nonce, seal: r.bytes() };
}

export function readBlock(r: Reader): Block {
  const header = readBlockHeader(r);
  return { header, transactions: r.seq(readSignedTransaction, 8) };
}

// ---- whole values --------------------------------------------------------------------

function encoder<T>(write: (w: Writer, v: T) => void): (v: T) => Uint8Array {
  return (v) => {
    const w = new Writer();
    write(w, v);
    return w.finish();
  };
}

function decoder<T>(what: string, read: (r: Reader) => T): (bytes: Uint8Array) => T {
  return (bytes) => {
    const r = new Reader(bytes);
    const v = read(r);
    r.end(what);
    return v;
  };
}

/** The canonical encoding of a transaction (what its id hashes). */
export const encodeTransaction = encoder(writeTransaction);
/** The canonical encoding of a signed transaction (what `wes_sendRawTransaction` takes). */
export const encodeSignedTransaction = encoder(writeSignedTransaction);
/** The canonical encoding of an output. */
export const encodeOutput = encoder(writeOutput);
/** The canonical encoding of a lock (what an address hashes). */
export const encodeLock = encoder(writeLock);
/** The canonical encoding of a token id (how the RPC names issued tokens, in hex). */
export const encodeToken = encoder(writeToken);
/** The canonical encoding of a resource body. */
export const encodeResourceBody = encoder(writeResourceBody);
/** The canonical encoding of a block header (what its hash hashes). */
export const encodeBlockHeader = encoder(writeBlockHeader);
/** The canonical encoding of a block. */
export const encodeBlock = encoder(writeBlock);
/** The canonical encoding of a witness. */
export const encodeWitness = encoder(writeWitness);

/** Decodes a transaction; throws [[CodecError]] unless the bytes are exactly one. */
export const decodeTransaction = decoder('Transaction', readTransaction);
/** Decodes a signed transaction. */
export const decodeSignedTransaction = decoder('SignedTransaction', readSignedTransaction);
/** Decodes an output. */
export const decodeOutput = decoder('Output', readOutput);
/** Decodes a lock. */
export const decodeLock = decoder('Lock', readLock);
/** Decodes a token id. */
export const decodeToken = decoder('TokenId', readToken);
/** Decodes a resource body. */
export const decodeResourceBody = decoder('ResourceBody', readResourceBody);
/** Decodes a block header. */
export const decodeBlockHeader = decoder('BlockHeader', readBlockHeader);
/** Decodes a block. */
export const decodeBlock = decoder('Block', readBlock);
