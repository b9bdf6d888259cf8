//! Deploy-time checks of a contract module: size, feature set (no floats), HostABI imports,
//! required exports and structural limits.

use wasmer::wasmparser::{
    CompositeInnerType, ExternalKind, FuncType, FuncValidatorAllocations, Operator, Parser,
    Payload, TypeRef, ValType, ValidPayload, Validator, WasmFeatures,
};

use crate::abi::ContractAbi;
use crate::error::WasmError;
use crate::host::{HOST_MODULE, host_function};

/// Structural and resource limits of contract modules and calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WasmLimits {
    /// Largest module, in bytes.
    pub max_code_bytes: usize,
    /// Largest declared maximum of the memory, in 64 KiB pages. A module must declare a
    /// maximum; `memory.grow` past it returns -1, so the limit also holds at run time.
    pub max_memory_pages: u64,
    /// Largest declared table size (initial and maximum, which must be declared).
    pub max_table_elements: u64,
    /// Most functions defined by the module.
    pub max_functions: u64,
    /// Most locals declared by one function (parameters excluded).
    pub max_locals_per_function: u64,
    /// Most globals.
    pub max_globals: u64,
    /// Most exports.
    pub max_exports: u64,
    /// Most parameters, and most results, of one function type.
    pub max_params: u64,
    /// Highest operand stack one function may reach. With the parameter and local limits
    /// this bounds a native frame, so that `MAX_WASM_DEPTH` frames always fit the wasm stack
    /// and the deterministic depth count, not the native stack, decides.
    pub max_operand_stack: u64,
    /// Deepest nesting of `block`, `loop` and `if` in one function.
    pub max_control_depth: u64,
    /// Largest compile weight of a module (see [`compile_weight`]): what compiling it may
    /// cost, so that a small module cannot make every node that runs it spend seconds in
    /// Cranelift. Before this limit a 30 KB module of 10,000 nested blocks compiled in 4 s,
    /// a 120 KB one of 20,000 calls in 23 s, and 100,000 nested blocks in 335 s.
    pub max_compile_weight: u64,
    /// Compiled modules kept in the cache.
    pub cache_capacity: usize,
    /// Whether modules may use floats (`f32`/`f64` types and instructions). Off by default: a
    /// module with any is refused at deploy. A chain that turns it on must turn it on for every
    /// node (it decides which modules are valid). Float arithmetic is then still deterministic:
    /// WASM fixes every result but the bits of NaNs, and the executor canonicalises those
    /// (Cranelift's `canonicalize_nans`), so every node computes the same bits
    /// (`wes-ispc/tests/floats.rs`).
    pub allow_floats: bool,
}

impl Default for WasmLimits {
    fn default() -> Self {
        WasmLimits {
            max_code_bytes: 512 * 1024,
            max_memory_pages: 16,
            max_table_elements: 1024,
            max_functions: 2048,
            max_locals_per_function: 256,
            max_globals: 128,
            max_exports: 256,
            max_params: 32,
            max_operand_stack: 512,
            max_control_depth: 512,
            max_compile_weight: COMPILE_WEIGHT_LIMIT,
            cache_capacity: 64,
            allow_floats: false,
        }
    }
}

/// What validation learnt about a module.
#[derive(Clone, Debug)]
pub(crate) struct ModuleFacts {
    /// Whether it imports a function that reads the chain (state, UTXOs, resources, nested
    /// calls), so that a call needs the chain view.
    pub uses_chain: bool,
    /// The HostABI functions it imports (only those are created per instance).
    pub imports: Vec<&'static str>,
    /// The declared maximum of its memory, in pages.
    pub max_pages: u32,
    /// Its compile weight (see [`WasmLimits::max_compile_weight`]).
    pub compile_weight: u64,
}

/// The default [`WasmLimits::max_compile_weight`]: the worst modules it admits compile in
/// about a second here (BENCHMARKS.md, *Compile cost*), and the example contracts weigh
/// under a hundredth of it.
pub const COMPILE_WEIGHT_LIMIT: u64 = 25_000_000;

/// How much work compiling `code` may cost, in the units of
/// [`WasmLimits::max_compile_weight`], or `None` if `code` fails the other `limits`. Useful to
/// size a chain's limits against its own contracts.
///
/// A function with `p` control points (blocks, loops, `if`/`else`, branches, each
/// `br_table` target; a call counts twice, for the depth check around it) and `v`
/// parameters and locals weighs `p × (p + 32 × (v + 1))`;
/// a module weighs the sum over its functions. Cranelift's time per function was measured to
/// grow with the square of its control points and with the values live across them
/// (a function of 10,000 calls over 20 locals: 6.5 s; 20,000: 23 s), so the weight tracks
/// compile time within a small factor whatever shape the module takes.
pub fn compile_weight(code: &[u8], limits: &WasmLimits) -> Option<u64> {
    validate_module(code, limits).ok().map(|f| f.compile_weight)
}

/// The weight of one function with `points` control points and `values` parameters and
/// locals (see [`compile_weight`]).
fn function_weight(points: u64, values: u64) -> u64 {
    let linear = values.saturating_add(1).saturating_mul(32);
    points.saturating_mul(points.saturating_add(linear))
}

/// How many control points `op` adds (see [`compile_weight`]): each starts or ends a basic
/// block; a call is also a point every live value must survive.
fn control_points(op: &Operator<'_>) -> u64 {
    match op {
        Operator::Block { .. }
        | Operator::If { .. }
        | Operator::Else
        | Operator::Loop { .. }
        | Operator::Br { .. }
        | Operator::BrIf { .. } => 1,
        // The call and the depth check's branch around it.
        Operator::Call { .. } | Operator::CallIndirect { .. } => 2,
        Operator::BrTable { targets } => u64::from(targets.len()) + 1,
        _ => 0,
    }
}

/// The accepted WebAssembly feature set: the MVP without floats (unless
/// [`WasmLimits::allow_floats`]), plus mutable globals, sign extension and multi-value. No SIMD,
/// threads, bulk memory, reference types, memory64, exceptions, tail calls or GC.
pub(crate) fn features(limits: &WasmLimits) -> WasmFeatures {
    let features = WasmFeatures::GC_TYPES
        | WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::MULTI_VALUE;
    if limits.allow_floats {
        features | WasmFeatures::FLOATS
    } else {
        features
    }
}

fn limit(what: &'static str, value: u64, max: u64) -> Result<(), WasmError> {
    if value > max {
        Err(WasmError::Limit { what, value, max })
    } else {
        Ok(())
    }
}

fn signature(ty: &FuncType) -> Option<(String, String)> {
    let code = |v: &ValType| match v {
        ValType::I32 => Some('i'),
        ValType::I64 => Some('I'),
        _ => None,
    };
    let params: Option<String> = ty.params().iter().map(code).collect();
    let results: Option<String> = ty.results().iter().map(code).collect();
    Some((params?, results?))
}

/// Checks `code` against `limits`.
pub(crate) fn validate_module(code: &[u8], limits: &WasmLimits) -> Result<ModuleFacts, WasmError> {
    if code.len() > limits.max_code_bytes {
        return Err(WasmError::TooLarge {
            size: code.len(),
            max: limits.max_code_bytes,
        });
    }
    let invalid = |e: wasmer::wasmparser::BinaryReaderError| WasmError::Invalid(e.to_string());
    // Full validation, measuring each function's operand stack, nesting and compile weight
    // on the way, so that a module too costly to compile is refused before compiling.
    let mut validator = Validator::new_with_features(features(limits));
    let mut compile_weight = 0u64;
    for payload in Parser::new(0).parse_all(code) {
        let payload = payload.map_err(invalid)?;
        if let ValidPayload::Func(func, body) = validator.payload(&payload).map_err(invalid)? {
            let mut fv = func.into_validator(FuncValidatorAllocations::default());
            let mut values = u64::from(fv.len_locals());
            let mut locals = body.get_locals_reader().map_err(invalid)?;
            for _ in 0..locals.get_count() {
                let offset = locals.original_position();
                let (count, ty) = locals.read().map_err(invalid)?;
                fv.define_locals(offset, count, ty).map_err(invalid)?;
                values = values.saturating_add(u64::from(count));
            }
            let mut ops = body.get_operators_reader().map_err(invalid)?;
            let (mut height, mut depth, mut points) = (0u32, 0u32, 0u64);
            while !ops.eof() {
                let offset = ops.original_position();
                let op = ops.read().map_err(invalid)?;
                fv.op(offset, &op).map_err(invalid)?;
                points = points.saturating_add(control_points(&op));
                height = height.max(fv.operand_stack_height());
                depth = depth.max(fv.control_stack_height());
            }
            ops.finish().map_err(invalid)?;
            limit(
                "operand stack height of one function",
                u64::from(height),
                limits.max_operand_stack,
            )?;
            // The function's own body is the outermost frame.
            limit(
                "control nesting of one function",
                u64::from(depth.saturating_sub(1)),
                limits.max_control_depth,
            )?;
            compile_weight = compile_weight.saturating_add(function_weight(points, values));
            limit("compile weight", compile_weight, limits.max_compile_weight)?;
        }
    }

    let mut types: Vec<Option<FuncType>> = Vec::new();
    let mut uses_chain = false;
    let mut max_pages = 0u32;
    let mut imported: Vec<&'static str> = Vec::new();
    let mut has_memory_export = false;
    let mut exported_functions: Vec<&str> = Vec::new();
    let mut memories = 0u64;
    for payload in Parser::new(0).parse_all(code) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(invalid)?.into_types() {
                        if let CompositeInnerType::Func(f) = &sub.composite_type.inner {
                            limit(
                                "function parameters",
                                f.params().len() as u64,
                                limits.max_params,
                            )?;
                            limit(
                                "function results",
                                f.results().len() as u64,
                                limits.max_params,
                            )?;
                        }
                        types.push(match sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(f),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    let refuse = |reason: &str| WasmError::ForbiddenImport {
                        module: import.module.chars().take(64).collect(),
                        name: import.name.chars().take(64).collect(),
                        reason: reason.into(),
                    };
                    if import.module != HOST_MODULE {
                        return Err(refuse("only the `wes` HostABI module may be imported"));
                    }
                    let TypeRef::Func(index) = import.ty else {
                        return Err(refuse("only functions may be imported"));
                    };
                    let Some(function) = host_function(import.name) else {
                        return Err(refuse("not a HostABI v1 function"));
                    };
                    let got = types
                        .get(index as usize)
                        .and_then(|t| t.as_ref())
                        .and_then(signature);
                    let (params, results) = (function.params, function.results);
                    if got != Some((params.to_string(), results.to_string())) {
                        return Err(refuse(&format!(
                            "wrong type, HostABI v1 wants ({params}) -> ({results}) \
                             with i = i32, I = i64"
                        )));
                    }
                    uses_chain |= function.reads_chain;
                    if !imported.contains(&function.name) {
                        imported.push(function.name);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                limit("functions", u64::from(reader.count()), limits.max_functions)?;
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let ty = table.map_err(invalid)?.ty;
                    let max = ty.maximum.ok_or(WasmError::Limit {
                        what: "table maximum (must be declared)",
                        value: u64::MAX,
                        max: limits.max_table_elements,
                    })?;
                    limit("table size", max.max(ty.initial), limits.max_table_elements)?;
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let ty = memory.map_err(invalid)?;
                    memories += 1;
                    let max = ty.maximum.ok_or(WasmError::Limit {
                        what: "memory maximum pages (must be declared)",
                        value: u64::MAX,
                        max: limits.max_memory_pages,
                    })?;
                    limit("memory pages", max.max(ty.initial), limits.max_memory_pages)?;
                    max_pages = max_pages.max(u32::try_from(max).unwrap_or(u32::MAX));
                }
            }
            Payload::GlobalSection(reader) => {
                limit("globals", u64::from(reader.count()), limits.max_globals)?;
            }
            Payload::ExportSection(reader) => {
                limit("exports", u64::from(reader.count()), limits.max_exports)?;
                for export in reader {
                    let export = export.map_err(invalid)?;
                    if export.name.starts_with("wasmer_") {
                        return Err(WasmError::Invalid(
                            "export names starting with `wasmer_` are reserved".into(),
                        ));
                    }
                    if export.name == "memory" && export.kind == ExternalKind::Memory {
                        has_memory_export = true;
                    }
                    if export.kind == ExternalKind::Func {
                        exported_functions.push(export.name);
                    }
                }
            }
            Payload::StartSection { .. } => {
                return Err(WasmError::Invalid(
                    "a start function is not allowed (it would run unmetered)".into(),
                ));
            }
            Payload::CodeSectionEntry(body) => {
                let mut locals = 0u64;
                for group in body.get_locals_reader().map_err(invalid)? {
                    let (count, _) = group.map_err(invalid)?;
                    locals = locals.saturating_add(u64::from(count));
                }
                limit(
                    "locals in one function",
                    locals,
                    limits.max_locals_per_function,
                )?;
            }
            _ => {}
        }
    }
    if memories == 0 || !has_memory_export {
        return Err(WasmError::MissingExport(
            "`memory`: a contract must define and export its memory".into(),
        ));
    }
    // The schema check: a module that describes itself must describe what it exports.
    if let Some(abi) = ContractAbi::from_module(code)? {
        abi.check_exports(exported_functions)?;
    }
    Ok(ModuleFacts {
        uses_chain,
        imports: imported,
        max_pages,
        compile_weight,
    })
}
