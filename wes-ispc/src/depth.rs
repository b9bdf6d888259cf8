//! A deterministic call-depth limit, as a compiler middleware.
//!
//! Native stack overflow depends on how Cranelift lays out frames, so a guest recursing deeply
//! could trap on one build or machine and not on another. This middleware counts wasm calls in
//! a global instead: around every `call` / `call_indirect` it increments the count, traps with
//! the count above [`MAX_WASM_DEPTH`] before the call, and decrements it after. For the count,
//! not the native stack, to decide, the deepest allowed recursion must fit the stack: deploy
//! validation bounds a frame (≤ 256 locals, ≤ 32 parameters and results, an operand stack of
//! ≤ 512 values, all at most 8 bytes: under 7 KiB of wasm values, a few times that once
//! Cranelift spills), and the executor sets an 8 MiB wasm stack, so 128 frames use well under
//! half of it.

use std::sync::Mutex;

use wasmer::sys::{FunctionMiddleware, MiddlewareError, MiddlewareReaderState, ModuleMiddleware};
use wasmer::wasmparser::{BlockType, Operator};
use wasmer::{
    ExportIndex, GlobalInit, GlobalType, LocalFunctionIndex, ModuleInfo, Mutability, Type,
};

/// Deepest wasm call nesting within one contract instance.
pub const MAX_WASM_DEPTH: i32 = 128;

/// The exported name of the depth global (the `wasmer_` prefix is reserved from guests).
pub(crate) const DEPTH_GLOBAL: &str = "wasmer_wes_call_depth";

/// The module half: adds the depth global. One per compile, like the metering middleware.
#[derive(Debug, Default)]
pub(crate) struct CallDepth {
    global: Mutex<Option<u32>>,
}

impl ModuleMiddleware for CallDepth {
    fn generate_function_middleware<'a>(
        &self,
        _: LocalFunctionIndex,
    ) -> Box<dyn FunctionMiddleware<'a> + 'a> {
        let global = self.global.lock().ok().and_then(|g| *g).unwrap_or(u32::MAX);
        Box::new(FunctionDepth { global })
    }

    fn transform_module_info(&self, info: &mut ModuleInfo) -> Result<(), MiddlewareError> {
        let mut slot = self
            .global
            .lock()
            .map_err(|_| MiddlewareError::new("CallDepth", "poisoned"))?;
        if slot.is_some() {
            return Err(MiddlewareError::new(
                "CallDepth",
                "one CallDepth middleware per module",
            ));
        }
        let index = info
            .globals
            .push(GlobalType::new(Type::I32, Mutability::Var));
        info.global_initializers.push(GlobalInit::I32Const(0));
        info.exports
            .insert(DEPTH_GLOBAL.to_string(), ExportIndex::Global(index));
        *slot = Some(index.as_u32());
        Ok(())
    }
}

#[derive(Debug)]
struct FunctionDepth {
    global: u32,
}

impl<'a> FunctionMiddleware<'a> for FunctionDepth {
    fn feed(
        &mut self,
        operator: Operator<'a>,
        state: &mut MiddlewareReaderState<'a>,
    ) -> Result<(), MiddlewareError> {
        let is_call = matches!(
            operator,
            Operator::Call { .. } | Operator::CallIndirect { .. }
        );
        if !is_call {
            state.push_operator(operator);
            return Ok(());
        }
        let g = self.global;
        state.extend(&[
            Operator::GlobalGet { global_index: g },
            Operator::I32Const { value: 1 },
            Operator::I32Add,
            Operator::GlobalSet { global_index: g },
            Operator::GlobalGet { global_index: g },
            Operator::I32Const {
                value: MAX_WASM_DEPTH,
            },
            Operator::I32GtS,
            Operator::If {
                blockty: BlockType::Empty,
            },
            Operator::Unreachable,
            Operator::End,
        ]);
        state.push_operator(operator);
        state.extend(&[
            Operator::GlobalGet { global_index: g },
            Operator::I32Const { value: 1 },
            Operator::I32Sub,
            Operator::GlobalSet { global_index: g },
        ]);
        Ok(())
    }
}
