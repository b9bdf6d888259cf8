//! Memory style for contract instances.
//!
//! wasmer's default (`BaseTunables`) gives every memory the *static* style: 8 GiB of address
//! space reserved per instance so that compiled code can skip bounds checks. Contracts declare
//! at most `max_memory_pages` (1 MiB by default) and every call instantiates afresh, so the
//! reservation and its teardown dominate a short call. The *dynamic* style maps only what the
//! memory holds and bounds-checks accesses in compiled code.

// The `Tunables` trait has `unsafe fn`s; these only forward to wasmer's own implementation.
#![allow(unsafe_code)]

use std::ptr::NonNull;

use wasmer::sys::vm::{
    MemoryError, MemoryStyle, TableStyle, VMMemory, VMMemoryDefinition, VMTable, VMTableDefinition,
};
use wasmer::sys::{BaseTunables, Tunables};
use wasmer::{MemoryType, TableType};

/// Dynamic memories with a one-page offset guard; everything else as wasmer's default.
pub(crate) struct SmallMemories;

impl Tunables for SmallMemories {
    fn memory_style(&self, _memory: &MemoryType) -> MemoryStyle {
        MemoryStyle::Dynamic {
            offset_guard_size: 0x1_0000,
        }
    }

    fn table_style(&self, table: &TableType) -> TableStyle {
        BaseTunables::new().table_style(table)
    }

    fn create_host_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
    ) -> Result<VMMemory, MemoryError> {
        BaseTunables::new().create_host_memory(ty, style)
    }

    unsafe fn create_vm_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
        vm_definition_location: NonNull<VMMemoryDefinition>,
    ) -> Result<VMMemory, MemoryError> {
        // SAFETY: the caller's contract is forwarded unchanged to wasmer's implementation.
        unsafe { BaseTunables::new().create_vm_memory(ty, style, vm_definition_location) }
    }

    fn create_host_table(&self, ty: &TableType, style: &TableStyle) -> Result<VMTable, String> {
        BaseTunables::new().create_host_table(ty, style)
    }

    unsafe fn create_vm_table(
        &self,
        ty: &TableType,
        style: &TableStyle,
        vm_definition_location: NonNull<VMTableDefinition>,
    ) -> Result<VMTable, String> {
        // SAFETY: as above.
        unsafe { BaseTunables::new().create_vm_table(ty, style, vm_definition_location) }
    }
}
