//! Deploy-time checks of a contract module: size, feature set (no floats), HostABI imports,
//! required exports and structural limits.

use wasmer::wasmparser::{
    CompositeInnerType, ExternalKind, FuncType, FuncValidatorAllocations, Parser, Payload, TypeRef,
    ValType, ValidPayload, Validator, WasmFeatures,
};

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
    /// Compiled modules kept in the cache.
    pub cache_capacity: usize,
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
            cache_capacity: 64,
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
}

/// The accepted WebAssembly feature set: the MVP without floats, plus mutable globals, sign
/// extension and multi-value. No SIMD, threads, bulk memory, reference types, memory64,
/// exceptions, tail calls or GC.
pub(crate) fn features() -> WasmFeatures {
    WasmFeatures::GC_TYPES
        | WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::MULTI_VALUE
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
    // Full validation, measuring each function's operand stack on the way.
    let mut validator = Validator::new_with_features(features());
    for payload in Parser::new(0).parse_all(code) {
        let payload = payload.map_err(invalid)?;
        if let ValidPayload::Func(func, body) = validator.payload(&payload).map_err(invalid)? {
            let mut fv = func.into_validator(FuncValidatorAllocations::default());
            let mut locals = body.get_locals_reader().map_err(invalid)?;
            for _ in 0..locals.get_count() {
                let offset = locals.original_position();
                let (count, ty) = locals.read().map_err(invalid)?;
                fv.define_locals(offset, count, ty).map_err(invalid)?;
            }
            let mut ops = body.get_binary_reader_for_operators().map_err(invalid)?;
            let mut height = 0u32;
            while !ops.eof() {
                let offset = ops.original_position();
                ops.visit_operator(&mut fv.visitor(offset))
                    .map_err(invalid)?
                    .map_err(invalid)?;
                height = height.max(fv.operand_stack_height());
            }
            ops.finish_expression(&fv.visitor(ops.original_position()))
                .map_err(invalid)?;
            limit(
                "operand stack height of one function",
                u64::from(height),
                limits.max_operand_stack,
            )?;
        }
    }

    let mut types: Vec<Option<FuncType>> = Vec::new();
    let mut uses_chain = false;
    let mut max_pages = 0u32;
    let mut imported: Vec<&'static str> = Vec::new();
    let mut has_memory_export = false;
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
    Ok(ModuleFacts {
        uses_chain,
        imports: imported,
        max_pages,
    })
}
