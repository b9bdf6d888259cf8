//! HOSTABI.md documents the function table the host and the guest SDK are generated from
//! (`src/host_abi_table.rs`): the same functions, signatures and costs.

use std::collections::BTreeMap;

use wes_ispc::host::{HOST_FUNCTIONS, HostCost};

/// One row of the Functions table of HOSTABI.md: (params, results, cost), in the table's
/// letters (`i` = i32, `I` = i64).
type Row = (String, String, HostCost);

fn documented() -> BTreeMap<String, Row> {
    let doc = std::fs::read_to_string("HOSTABI.md").expect("HOSTABI.md is readable");
    let section = doc
        .split("## Functions")
        .nth(1)
        .expect("HOSTABI.md has a Functions section");
    let mut rows = BTreeMap::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let Some(name) = cells[0].strip_prefix('`').and_then(|n| n.strip_suffix('`')) else {
            continue; // the header and its rule
        };
        rows.insert(
            name.to_string(),
            (
                signature(cells[1], name),
                results(cells[1], name),
                cost(cells[4], name),
            ),
        );
    }
    rows
}

/// `(a, b i64, c) → …` gives `iIi`.
fn signature(cell: &str, name: &str) -> String {
    let inner = cell
        .strip_prefix("`(")
        .and_then(|c| c.split_once(") →"))
        .unwrap_or_else(|| panic!("{name}: no `(params) → result` in {cell:?}"))
        .0;
    inner
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| if p.ends_with(" i64") { 'I' } else { 'i' })
        .collect()
}

fn results(cell: &str, name: &str) -> String {
    let after = cell
        .split_once(") → ")
        .unwrap_or_else(|| panic!("{name}: no result in {cell:?}"))
        .1;
    if after.starts_with("()") {
        String::new()
    } else if after.starts_with("i64") {
        "I".into()
    } else if after.starts_with("i32") {
        "i".into()
    } else {
        panic!("{name}: unknown result in {cell:?}")
    }
}

/// `100 + 1`, `50 000 + 1, plus …` or `0`.
fn cost(cell: &str, name: &str) -> HostCost {
    let head = cell.split(',').next().unwrap_or(cell);
    let number = |s: &str| -> u64 {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: cost {cell:?} is not `fixed + per byte`"))
    };
    match head.split_once('+') {
        Some((fixed, per_byte)) => HostCost {
            fixed: number(fixed),
            per_byte: number(per_byte),
        },
        None => HostCost {
            fixed: number(head),
            per_byte: 0,
        },
    }
}

#[test]
fn hostabi_md_documents_the_table() {
    let documented = documented();
    let table: BTreeMap<String, Row> = HOST_FUNCTIONS
        .iter()
        .map(|f| {
            (
                f.name.to_string(),
                (f.params.to_string(), f.results.to_string(), f.cost),
            )
        })
        .collect();
    for (name, row) in &table {
        assert_eq!(
            documented.get(name),
            Some(row),
            "HOSTABI.md and the table (src/host_abi_table.rs) disagree on `{name}`"
        );
    }
    for name in documented.keys() {
        assert!(
            table.contains_key(name),
            "HOSTABI.md documents `{name}`, which is not in the table"
        );
    }
}

/// The WASM type letter of an AssemblyScript type in `env.ts`.
fn as_letter(ty: &str) -> char {
    match ty.trim() {
        "usize" | "u32" | "i32" => 'i',
        "u64" | "i64" => 'I',
        other => panic!("env.ts: unexpected type {other:?}"),
    }
}

/// `sdk/assemblyscript/assembly/env.ts`: name → (params, results), in the table's letters.
fn assemblyscript_bindings() -> BTreeMap<String, (String, String)> {
    let env = std::fs::read_to_string("../sdk/assemblyscript/assembly/env.ts")
        .expect("the AssemblyScript SDK's env.ts is readable");
    let mut bindings = BTreeMap::new();
    for declaration in env.split("@external(").skip(1) {
        let (import, rest) = declaration
            .split_once(')')
            .expect("@external(\"wes\", \"name\")");
        let import: Vec<&str> = import
            .split(',')
            .map(|s| s.trim().trim_matches('"'))
            .collect();
        assert_eq!(import[0], "wes", "env.ts imports from module `wes` only");
        let signature = rest
            .split_once("declare function")
            .expect("a declared function follows @external")
            .1;
        let (name, rest) = signature.split_once('(').expect("a parameter list");
        assert_eq!(
            name.trim(),
            import[1],
            "env.ts: a binding named like its import"
        );
        let (params, rest) = rest.split_once(')').expect("a closed parameter list");
        let params: String = params
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| as_letter(p.split_once(':').expect("name: type").1))
            .collect();
        let result = rest
            .split_once(':')
            .expect("a result type")
            .1
            .split(';')
            .next()
            .unwrap()
            .trim();
        let results = if result == "void" {
            String::new()
        } else {
            as_letter(result).to_string()
        };
        bindings.insert(import[1].to_string(), (params, results));
    }
    bindings
}

#[test]
fn the_assemblyscript_bindings_are_the_table() {
    let bindings = assemblyscript_bindings();
    let table: BTreeMap<String, (String, String)> = HOST_FUNCTIONS
        .iter()
        .map(|f| {
            (
                f.name.to_string(),
                (f.params.to_string(), f.results.to_string()),
            )
        })
        .collect();
    assert_eq!(
        bindings, table,
        "sdk/assemblyscript/assembly/env.ts and the table (src/host_abi_table.rs) disagree"
    );
}
