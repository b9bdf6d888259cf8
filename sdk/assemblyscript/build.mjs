// Builds an AssemblyScript contract into a module the WES host accepts, with its ABI:
//
//   node sdk/assemblyscript/build.mjs CONTRACT.ts OUT_DIR
//
// writes OUT_DIR/<name>.wasm. The flags keep the output within the host's rules: a stub
// runtime (`assembly/rt/wes.ts`: no collector, no floats, no start function), no bulk memory or non-trapping float conversions, a
// memory of at most 16 pages (1 MiB). AssemblyScript's own `abort` (failed assertions, `throw`)
// fails the call through the host. If CONTRACT.abi.json exists beside the source, it is checked
// (format, names, the module's exports) and embedded as the module's `wes:abi` custom section,
// as the Rust SDK's `contract!` does.

import { readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const [source, outDir] = process.argv.slice(2);
if (!source || !outDir) {
  console.error("usage: node build.mjs CONTRACT.ts OUT_DIR");
  process.exit(2);
}
const sdk = dirname(fileURLToPath(import.meta.url));
const name = basename(source, ".ts");
mkdirSync(outDir, { recursive: true });
const out = join(outDir, `${name}.wasm`);

const { error, stderr } = await asc.main([
  source,
  "--outFile", out,
  "--runtime", join(sdk, "assembly/rt/wes"),
  "--optimizeLevel", "3", "--shrinkLevel", "2",
  "--noAssert",
  "--disable", "bulk-memory",
  "--disable", "nontrapping-f2i",
  "--initialMemory", "1",
  "--maximumMemory", "16",
  "--use", "abort=wes_abort",
]);
if (error) {
  console.error(stderr.toString());
  console.error(`build.mjs: compiling ${source} failed: ${error.message}`);
  process.exit(1);
}

let wasm = readFileSync(out);
if (sectionIds(wasm).includes(8)) {
  fail(
    `${source} compiles to a start function, which the host refuses (it would run ` +
      "unmetered): move top-level initialisers (objects, strings built at load) into functions",
  );
}
const abiPath = source.replace(/\.ts$/, ".abi.json");
if (existsSync(abiPath)) {
  const text = readFileSync(abiPath, "utf8");
  const abi = JSON.parse(text);
  if (abi.abi !== 1 || abi.hostabi !== 1) {
    fail(`${abiPath}: format ${abi.abi} for HostABI ${abi.hostabi}; expected 1 and 1`);
  }
  const exported = WebAssembly.Module.exports(new WebAssembly.Module(wasm))
    .filter((e) => e.kind === "function")
    .map((e) => e.name)
    .sort();
  const declared = abi.entries.map((e) => e.name).sort();
  if (JSON.stringify(exported) !== JSON.stringify(declared)) {
    fail(`${abiPath} declares ${declared.join(", ")}; the module exports ${exported.join(", ")}`);
  }
  wasm = Buffer.concat([wasm, customSection("wes:abi", Buffer.from(JSON.stringify(abi)))]);
  writeFileSync(out, wasm);
}
console.log(`${out}: ${wasm.length} bytes`);

/** The ids of the module's sections, in order. */
function sectionIds(bytes) {
  const ids = [];
  let at = 8;
  while (at < bytes.length) {
    ids.push(bytes[at]);
    at += 1;
    let size = 0;
    let shift = 0;
    let b;
    do {
      b = bytes[at++];
      size |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    at += size;
  }
  return ids;
}

function fail(message) {
  console.error(`build.mjs: ${message}`);
  process.exit(1);
}

/** A custom section: id 0, its size, the name (length-prefixed), the payload. */
function customSection(sectionName, payload) {
  const nameBytes = Buffer.from(sectionName);
  const body = Buffer.concat([leb(nameBytes.length), nameBytes, payload]);
  return Buffer.concat([Buffer.from([0]), leb(body.length), body]);
}

function leb(value) {
  const bytes = [];
  do {
    let b = value & 0x7f;
    value >>>= 7;
    if (value !== 0) b |= 0x80;
    bytes.push(b);
  } while (value !== 0);
  return Buffer.from(bytes);
}
