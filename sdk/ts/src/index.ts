/**
 * The WES TypeScript SDK: the chain's canonical codec, ids and addresses, Ed25519 keys,
 * transaction builders and a typed JSON-RPC client. Everything is a named export, so
 * bundlers keep only what an application uses.
 *
 * ```ts
 * import { SecretKey, WesClient, Wallet } from '@wes/sdk';
 * const client = WesClient.http('http://127.0.0.1:8645');
 * const alice = new Wallet(client, SecretKey.dev('alice'));
 * const txid = await alice.transfer(SecretKey.dev('bob').publicKey, 1_000n);
 * ```
 * @module
 */

export * from './bytes.js';
export * from './codec.js';
export * from './hash.js';
export * from './keys.js';
export * from './rpc.js';
export * from './types.js';
export * from './wallet.js';
