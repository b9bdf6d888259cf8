// token, in AssemblyScript: the same contract as the Rust example
// (wes-ispc/guest/contracts/token.rs), with the same ABI (token.abi.json, embedded by
// build.mjs), so the same clients and typed calls work with either.
//
// Token classes are told apart by a 32-byte `tag`; tokens live in ordinary asset outputs, and
// the contract tracks each class's supply under "supply" ‖ tag (u64le).

import {
  ContractError, Reader, Writer, args, caller, contract, emitEvent, ensure, equal, issuedToken,
  mintAsset, outputAsset, setReturn, stateGet, stateHas, stateSet, utf8,
} from "../assembly/index";

// The errors, as the ABI lists them. Functions, not top-level objects: a top-level
// initialiser would compile to a start function, which the host refuses (it would run
// unmetered).
function AlreadyInitialised(): ContractError {
  return new ContractError(1, "AlreadyInitialised", "already initialised");
}
function NotInitialised(): ContractError {
  return new ContractError(2, "NotInitialised", "not initialised");
}
function NotOwner(): ContractError {
  return new ContractError(3, "NotOwner", "only the owner may do this");
}
function ZeroAmount(): ContractError {
  return new ContractError(4, "ZeroAmount", "amount must be positive");
}
function SupplyOverflow(): ContractError {
  return new ContractError(5, "SupplyOverflow", "supply overflow");
}

/** The state key of the owner's address. */
function ownerKey(): Uint8Array {
  return utf8("owner");
}

function supplyKey(tag: Uint8Array): Uint8Array {
  return new Writer().bytes(utf8("supply")).bytes(tag).finish();
}

function supplyOf(tag: Uint8Array): u64 {
  const stored = stateGet(supplyKey(tag));
  if (stored === null) return 0;
  const r = new Reader(stored, "state");
  const v = r.u64();
  r.end();
  return v;
}

/** Makes the caller the owner. Runs once. */
export function init(): void {
  new Reader(args()).end();
  ensure(!stateHas(ownerKey()), AlreadyInitialised);
  stateSet(ownerKey(), caller());
}

/** Creates `amount` new tokens of class `tag` for `to` (owner only). */
export function mint(): void {
  const r = new Reader(args());
  const tag = r.fixed(32);
  const amount = r.u64();
  const to = r.lock();
  r.end();
  ensure(amount > 0, ZeroAmount);
  const owner = stateGet(ownerKey());
  ensure(owner !== null, NotInitialised);
  ensure(equal(owner!, caller()), NotOwner);
  mintAsset(to, tag, amount);
  const supply = supplyOf(tag);
  ensure(supply <= U64.MAX_VALUE - amount, SupplyOverflow);
  stateSet(supplyKey(tag), new Writer().u64(supply + amount).finish());
  emitEvent("Mint", new Writer().bytes(tag).u64(amount).bytes(to).finish());
}

/** Pays `amount` tokens of class `tag` to `to` from the caller's inputs. */
export function transfer(): void {
  const r = new Reader(args());
  const tag = r.fixed(32);
  const amount = r.u64();
  const to = r.lock();
  r.end();
  ensure(amount > 0, ZeroAmount);
  outputAsset(to, issuedToken(contract(), tag), amount);
  emitEvent("Transfer", new Writer().bytes(tag).u64(amount).bytes(to).finish());
}

/** The supply of class `tag` (0 if never minted). */
export function supply(): void {
  const r = new Reader(args());
  const tag = r.fixed(32);
  r.end();
  setReturn(new Writer().u64(supplyOf(tag)).finish());
}
