// The SDK against the Rust conformance fixtures (test/fixtures/codec.json, written by
// wes-core/tests/sdk_fixtures.rs): every value decodes, re-encodes to the same bytes, and
// hashes, signs and addresses as in Rust; what Rust refuses, the SDK refuses.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  CodecError,
  SecretKey,
  address,
  blockHash,
  decodeBlock,
  decodeBlockHeader,
  decodeLock,
  decodeOutput,
  decodeSignedTransaction,
  decodeToken,
  decodeTransaction,
  encodeBlock,
  encodeBlockHeader,
  encodeLock,
  encodeOutput,
  encodeSignedTransaction,
  encodeToken,
  encodeTransaction,
  fromHex,
  idHex,
  keyLock,
  parseAddress,
  sighash,
  signTransaction,
  toHex,
  txId,
  verify,
  witnessCommitment,
} from '../src/index.js';

const fixtures = JSON.parse(
  readFileSync(new URL('../../test/fixtures/codec.json', import.meta.url), 'utf8'),
);

test('dev keys, signatures and addresses are those of wes-core', () => {
  for (const k of fixtures.dev_keys) {
    const key = SecretKey.dev(k.name);
    assert.equal(toHex(key.seed()), k.seed, k.name);
    assert.equal(toHex(key.publicKey), k.public_key, k.name);
    assert.equal(key.address(), k.address, k.name);
    assert.equal(toHex(parseAddress(k.address)).length, 64);
  }
  const s = fixtures.signature;
  const alice = SecretKey.dev(s.key);
  assert.equal(toHex(alice.sign(fromHex(s.message))), s.signature);
  assert.ok(verify(alice.publicKey, fromHex(s.message), fromHex(s.signature)));
  assert.ok(!verify(alice.publicKey, fromHex('00'), fromHex(s.signature)));
  const good: string = fixtures.dev_keys[0].address;
  const typo = good.slice(0, -1) + (good.endsWith('q') ? 'p' : 'q');
  assert.throws(() => parseAddress(typo), /checksum|Invalid/i);
});

test('locks, tokens and outputs round-trip and address as in Rust', () => {
  for (const l of fixtures.locks) {
    const lock = decodeLock(fromHex(l.encoded));
    assert.equal(toHex(encodeLock(lock)), l.encoded, l.name);
    assert.equal(address(lock), l.address, l.name);
  }
  for (const t of fixtures.tokens) {
    assert.equal(toHex(encodeToken(decodeToken(fromHex(t.encoded)))), t.encoded);
  }
  for (const o of fixtures.outputs) {
    const out = decodeOutput(fromHex(o.encoded));
    assert.equal(toHex(encodeOutput(out)), o.encoded);
    assert.equal(address(out.lock), o.owner);
  }
});

test('transactions round-trip with their ids, signature hashes and witness commitments', () => {
  for (const t of fixtures.transactions) {
    const signed = decodeSignedTransaction(fromHex(t.signed));
    assert.equal(toHex(encodeSignedTransaction(signed)), t.signed, t.name);
    assert.equal(toHex(encodeTransaction(signed.tx)), t.tx, t.name);
    assert.deepEqual(decodeTransaction(fromHex(t.tx)), signed.tx, t.name);
    assert.equal(idHex(txId(signed.tx)), t.txid, t.name);
    assert.equal(toHex(sighash(signed.tx)), t.sighash, t.name);
    assert.equal(toHex(witnessCommitment(signed)), t.witness_commitment, t.name);
    assert.equal(signed.witness.signatures.length, t.signatures, t.name);
    assert.equal(signed.tx.outputs.length, t.outputs, t.name);
    for (const s of signed.witness.signatures) {
      assert.ok(verify(s.key, sighash(signed.tx), s.signature), `${t.name}: signature`);
    }
  }
});

test('a transfer built and signed here is byte for byte the one built in Rust', () => {
  const rust = decodeSignedTransaction(fromHex(fixtures.transactions[0].signed));
  const alice = SecretKey.dev('alice');
  const bob = SecretKey.dev('bob');
  const tx = {
    version: 1,
    chainId: 7,
    inputs: [{ prev: rust.tx.inputs[0]!.prev, mode: 'spend' as const }],
    outputs: [
      { lock: keyLock(bob.publicKey), body: { type: 'asset' as const, token: { type: 'native' as const }, amount: 1_000n } },
      { lock: alice.lock(), body: { type: 'asset' as const, token: { type: 'native' as const }, amount: 989_000n } },
    ],
    validity: { notBefore: 0n, notAfter: 2n ** 64n - 1n },
    execution: null,
  };
  assert.equal(toHex(encodeSignedTransaction(signTransaction(tx, [alice]))), fixtures.transactions[0].signed);
});

test('blocks decode with their hashes and transaction ids', () => {
  for (const b of fixtures.blocks) {
    const block = decodeBlock(fromHex(b.encoded));
    assert.equal(toHex(encodeBlock(block)), b.encoded);
    assert.equal(toHex(encodeBlockHeader(decodeBlockHeader(fromHex(b.header)))), b.header);
    assert.equal(idHex(blockHash(block.header)), b.hash);
    assert.deepEqual(block.transactions.map((t) => idHex(txId(t.tx))), b.txids);
  }
});

test('what wes-core refuses to decode, the SDK refuses', () => {
  const decoders: Record<string, (b: Uint8Array) => unknown> = {
    SignedTransaction: decodeSignedTransaction,
    Transaction: decodeTransaction,
    Lock: decodeLock,
  };
  for (const bad of fixtures.invalid) {
    const decode = decoders[bad.type];
    assert.ok(decode, bad.type);
    assert.throws(() => decode(fromHex(bad.hex)), CodecError, bad.name);
  }
});
