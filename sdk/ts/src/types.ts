/**
 * The chain's data types, as the canonical codec encodes them (`wes_core` in Rust). Ids
 * and keys are 32-byte `Uint8Array`s, amounts `bigint` (u128), heights and sizes `bigint`
 * where Rust has u64.
 * @module
 */

/** A 32-byte SHA3-256 digest (transaction, block, content and contract ids are hashes). */
export type Hash = Uint8Array;
/** An Ed25519 public key (32 bytes). */
export type PublicKey = Uint8Array;
/** An Ed25519 signature (64 bytes). */
export type Signature = Uint8Array;

/** Names an output: the transaction that created it and its position there. */
export interface OutPoint {
  tx: Hash;
  index: number;
}

/** Spend an output, or only read it (a reference). */
export type InputMode = 'spend' | 'reference';

/** A transaction input. */
export interface Input {
  prev: OutPoint;
  mode: InputMode;
}

/** The native token, or one issued by a contract. */
export type TokenId = { type: 'native' } | { type: 'issued'; contract: Hash; tag: Hash };

/** m-of-n keys. */
export interface MultiSig {
  threshold: number;
  keys: PublicKey[];
}

/** Who may act: a key, a multisig, or a contract. */
export type Guard =
  | { type: 'key'; key: PublicKey }
  | { type: 'multisig'; multisig: MultiSig }
  | { type: 'contract'; contract: Hash };

/** A height or a time (milliseconds since the Unix epoch). */
export type LockTime = { type: 'height'; height: bigint } | { type: 'time'; timeMs: bigint };

/** A pool that pays the fees of calls to a contract (or any contract). */
export interface SponsorPool {
  owner: Guard;
  contract: Hash | null;
  maxFeePerTx: bigint;
}

/** Who may spend an output. */
export type Lock =
  | { type: 'guarded'; guard: Guard }
  | { type: 'timeLocked'; until: LockTime; guard: Guard }
  | { type: 'sponsorPool'; pool: SponsorPool };

/** What a resource is. */
export type ResourceKind =
  | { type: 'wasm' }
  | { type: 'onnx' }
  | { type: 'file' }
  | { type: 'custom'; id: number };

/** Metadata of a resource. */
export interface ResourceMeta {
  name: string;
  mime: string;
  /** A model's circuit resource. */
  verifyingKey: Hash | null;
}

/** A registered resource (contract code, model, file). */
export interface ResourceBody {
  content: Hash;
  kind: ResourceKind;
  size: bigint;
  meta: ResourceMeta;
}

/** A contract's state under a key. */
export interface StateBody {
  contract: Hash;
  key: Uint8Array;
  data: Uint8Array;
  version: bigint;
}

/** What an output holds. */
export type OutputBody =
  | { type: 'asset'; token: TokenId; amount: bigint }
  | { type: 'resource'; resource: ResourceBody }
  | { type: 'state'; state: StateBody };

/** An output: a lock and a body. */
export interface Output {
  lock: Lock;
  body: OutputBody;
}

/** Heights at which a transaction may be included (inclusive). */
export interface ValidityWindow {
  notBefore: bigint;
  notAfter: bigint;
}

/** A window that is always open. */
export const ALWAYS: ValidityWindow = { notBefore: 0n, notAfter: 2n ** 64n - 1n };

/** The record of an execution carried by a transaction. */
export interface Execution {
  contract: Hash;
  callees: Hash[];
  resource: Hash;
  entry: string;
  args: Uint8Array;
  cuLimit: bigint;
  cuUsed: bigint;
  traceRoot: Hash;
  proofSystem: string;
}

/** A transaction without its witnesses: everything its id commits to. */
export interface Transaction {
  version: number;
  chainId: number;
  inputs: Input[];
  outputs: Output[];
  validity: ValidityWindow;
  execution: Execution | null;
}

/** A signature by one key. */
export interface KeySignature {
  key: PublicKey;
  signature: Signature;
}

/** Signatures and the execution proof. */
export interface Witness {
  signatures: KeySignature[];
  proof: Uint8Array;
}

/** A transaction with its witness. */
export interface SignedTransaction {
  tx: Transaction;
  witness: Witness;
}

/** A block header. */
export interface BlockHeader {
  version: number;
  chainId: number;
  parent: Hash;
  height: bigint;
  timeMs: bigint;
  txRoot: Hash;
  witnessRoot: Hash;
  stateRoot: Hash;
  producer: PublicKey;
  target: number;
  nonce: bigint;
  seal: Uint8Array;
}

/** A block: its header and transactions, the coinbase first. */
export interface Block {
  header: BlockHeader;
  transactions: SignedTransaction[];
}

/** The transaction format version this SDK writes. */
export const TX_VERSION = 1;
