//! Modules designed to be slow to compile, as WAT: they stress what Cranelift's time grows
//! with (control points per function, values live across them, nesting). Shared by the
//! compile-cost tests and the `compile` benchmark.

#![allow(dead_code)]

use std::fmt::Write;

const MEMORY: &str = r#"(memory (export "memory") 1 1)"#;

/// One function of `depth` nested empty blocks.
pub fn nested_blocks(depth: usize) -> String {
    format!(
        r#"(module {MEMORY} (func (export "run") {}{}))"#,
        "(block ".repeat(depth),
        ")".repeat(depth)
    )
}

/// One function over `locals` i32 locals with `ifs` conditional updates that keep every
/// local live to the end.
pub fn branchy(locals: usize, ifs: usize) -> String {
    let mut body = String::new();
    for i in 0..ifs {
        let (c, d, a, b) = (
            (i * 3) % locals,
            i % locals,
            (i * 7) % locals,
            (i * 13) % locals,
        );
        write!(
            body,
            "(if (local.get {c}) (then (local.set {d} (i32.add (local.get {a}) (local.get {b})))))"
        )
        .expect("writing to a String");
    }
    let mut sum = String::from("(i32.const 0)");
    for i in 0..locals {
        sum = format!("(i32.add {sum} (local.get {i}))");
    }
    format!(
        r#"(module {MEMORY} (func (export "run") (result i32) (local {}) {body} {sum}))"#,
        "i32 ".repeat(locals)
    )
}

/// `functions` functions over `locals` i32 locals, each making `calls` calls that pass and
/// keep locals.
pub fn call_heavy(functions: usize, locals: usize, calls: usize) -> String {
    let mut module =
        format!(r#"(module {MEMORY} (func $id (param i32) (result i32) (local.get 0))"#);
    for f in 0..functions {
        write!(
            module,
            r#"(func (export "f{f}") (local {})"#,
            "i32 ".repeat(locals)
        )
        .expect("writing to a String");
        for i in 0..calls {
            let (d, a) = (i % locals, (i * 7) % locals);
            write!(module, "(local.set {d} (call $id (local.get {a})))")
                .expect("writing to a String");
        }
        module.push(')');
    }
    module.push(')');
    module
}
