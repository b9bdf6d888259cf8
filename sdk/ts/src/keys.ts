/**
 * Ed25519 keys and signatures (RFC 8032, `@noble/curves`), and addresses: bech32m
 * (`@scure/base`) of `H(address, encode(lock))` with the prefix `wes`.
 * @module
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { bech32m } from '@scure/base';

import { utf8 } from './bytes.js';
import { encodeLock } from './codec.js';
import { Domain, domainHash, sighash } from './hash.js';
import type { Hash, KeySignature, Lock, PublicKey, Signature, SignedTransaction, Transaction } from './types.js';

/** The human-readable prefix of addresses. */
export const ADDRESS_PREFIX = 'wes';

/** A secret key: a 32-byte RFC 8032 seed. */
export class SecretKey {
  readonly #seed: Uint8Array;
  /** Its public key. */
  readonly publicKey: PublicKey;

  /** The key with `seed` (32 bytes). */
  constructor(seed: Uint8Array) {
    if (seed.length !== 32) throw new Error(`a secret key seed is 32 bytes, got ${seed.length}`);
    this.#seed = Uint8Array.from(seed);
    this.publicKey = ed25519.getPublicKey(this.#seed);
  }

  /** A fresh key from the platform's secure randomness. */
  static generate(): SecretKey {
    return new SecretKey(ed25519.utils.randomSecretKey());
  }

  /**
   * The development key named `name` (`alice`, `bob`, `miner`…): its seed is
   * `H("wes/dev-key", name)`, as `SecretKey::dev` in Rust. Anyone can derive it: for devnets
   * and tests only.
   */
  static dev(name: string): SecretKey {
    return new SecretKey(domainHash(Domain.DEV_KEY, utf8(name)));
  }

  /** The seed, for storing the key. Handle with care. */
  seed(): Uint8Array {
    return Uint8Array.from(this.#seed);
  }

  /** Signs `message` (deterministic). */
  sign(message: Uint8Array): Signature {
    return ed25519.sign(message, this.#seed);
  }

  /** Its single-signature lock. */
  lock(): Lock {
    return keyLock(this.publicKey);
  }

  /** The address of its single-signature lock. */
  address(): string {
    return address(this.lock());
  }
}

/** Whether `signature` by `key` over `message` is valid. */
export function verify(key: PublicKey, message: Uint8Array, signature: Signature): boolean {
  try {
    return ed25519.verify(signature, message, key);
  } catch {
    return false;
  }
}

/** The lock of one key. */
export function keyLock(key: PublicKey): Lock {
  return { type: 'guarded', guard: { type: 'key', key } };
}

/** The raw address of a lock: `H(address, encode(lock))`. */
export function addressHash(lock: Lock): Hash {
  return domainHash(Domain.ADDRESS, encodeLock(lock));
}

/** A lock's address, bech32m with the prefix `wes` (`wes1…`). */
export function address(lock: Lock): string {
  return bech32m.encode(ADDRESS_PREFIX, bech32m.toWords(addressHash(lock)));
}

/** The 32 bytes an address names; throws on a bad checksum, prefix or length. */
export function parseAddress(text: string): Hash {
  const { prefix, words } = bech32m.decode(text as `${string}1${string}`);
  if (prefix !== ADDRESS_PREFIX) throw new Error(`address prefix ${prefix}, expected ${ADDRESS_PREFIX}`);
  const bytes = bech32m.fromWords(words);
  if (bytes.length !== 32) throw new Error(`address payload of ${bytes.length} bytes, expected 32`);
  return bytes;
}

/** `tx` signed by `keys`, with an empty proof. */
export function signTransaction(tx: Transaction, keys: readonly SecretKey[]): SignedTransaction {
  const message = sighash(tx);
  const signatures: KeySignature[] = keys.map((k) => ({ key: k.publicKey, signature: k.sign(message) }));
  return { tx, witness: { signatures, proof: new Uint8Array() } };
}
