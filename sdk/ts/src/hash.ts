/**
 * Domain-separated SHA3-256 (`wes_core::hash`): `SHA3-256(len(tag) ‖ tag ‖ data)`, and the
 * ids built on it — transaction ids, signature hashes, witness commitments, block hashes.
 * @module
 */

import { sha3_256 } from '@noble/hashes/sha3.js';

import { toHex, utf8 } from './bytes.js';
import { encodeBlockHeader, encodeTransaction, encodeWitness } from './codec.js';
import type { BlockHeader, Hash, OutPoint, SignedTransaction, Transaction } from './types.js';

/** The hashing domains of the chain (their tags, as in Rust's `Domain`). */
export const Domain = {
  TX: 'wes/tx',
  WITNESS: 'wes/witness',
  BLOCK_HEADER: 'wes/block-header',
  ADDRESS: 'wes/address',
  SIGHASH: 'wes/sighash',
  DEV_KEY: 'wes/dev-key',
  CONTRACT: 'wes-ispc/contract',
} as const;

/** `SHA3-256(len(tag) ‖ tag ‖ parts…)`. */
export function domainHash(tag: string, ...parts: Uint8Array[]): Hash {
  const t = utf8(tag);
  if (t.length === 0 || t.length > 255) throw new Error(`domain tag of ${t.length} bytes`);
  const h = sha3_256.create();
  h.update(Uint8Array.of(t.length));
  h.update(t);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** A transaction's id: the hash of its encoding, witnesses left out. */
export function txId(tx: Transaction): Hash {
  return domainHash(Domain.TX, encodeTransaction(tx));
}

/** What a transaction's signers sign: `H(sighash, txid)`. */
export function sighash(tx: Transaction): Hash {
  return domainHash(Domain.SIGHASH, txId(tx));
}

/** The leaf of a block's witness root: `H(witness, txid ‖ encode(witness))`. */
export function witnessCommitment(signed: SignedTransaction): Hash {
  return domainHash(Domain.WITNESS, txId(signed.tx), encodeWitness(signed.witness));
}

/** A block's hash: the hash of its header. */
export function blockHash(header: BlockHeader): Hash {
  return domainHash(Domain.BLOCK_HEADER, encodeBlockHeader(header));
}

/** The id of the contract whose code is the resource `code` (a contract is its code). */
export function contractId(code: Hash): Hash {
  return domainHash(Domain.CONTRACT, code);
}

/** The outpoint of output `index` of `tx`. */
export function outpoint(tx: Transaction, index: number): OutPoint {
  return { tx: txId(tx), index };
}

/** An id as the RPC writes it: 64 hex digits. */
export function idHex(id: Hash): string {
  return toHex(id);
}

/** `txid:index`, as the RPC writes outpoints. */
export function outpointString(o: OutPoint): string {
  return `${toHex(o.tx)}:${o.index}`;
}

/** Parses `txid:index`. */
export function parseOutpoint(s: string): OutPoint {
  const m = /^([0-9a-f]{64}):(\d+)$/.exec(s);
  if (!m) throw new Error(`outpoint ${JSON.stringify(s)}: expected <64 hex digits>:<index>`);
  const index = Number(m[2]);
  if (index > 0xffffffff) throw new Error(`outpoint ${s}: index out of range`);
  const tx = new Uint8Array(32);
  for (let i = 0; i < 32; i++) tx[i] = parseInt(m[1]!.slice(2 * i, 2 * i + 2), 16);
  return { tx, index };
}

