//! The layer check: data flows one way, and a module may use only the modules below it. The
//! table here is the rule; `the_source_tree_keeps_its_layers` holds every file of src/ to it,
//! so an upward import fails the test suite.
//!
//! 0 `clock` `digest` `redact` `pool`: time, hashes, masking secrets, worker threads
//! 1 `http`: the HTTP all clients share
//! 2 `azure` (the Blob client), `contract` (the file formats)
//! 3 `plan`: pure decisions
//! 4 `outcome` (what a sync reports), `config` (the settings table)
//! 5 `backends`: Supabase Auth and Storage clients
//! 6 `error` (the one funnel to PostgreSQL errors), `spi` (SQL helpers), `remote` (waiting for threads)
//! 7 `apply`: the SQL
//! 8 `run`: a run and its use cases (schedule, users)
//! 9 `api`: the `#[pg_extern]` functions
//! 10 the pg_tests, the fuzzer and this check
//!
//! Modules of one layer do not use each other: each stands on what is below.

const LAYERS: &[(&str, u8)] = &[
    ("clock", 0),
    ("digest", 0),
    ("redact", 0),
    ("pool", 0),
    ("http", 1),
    ("azure", 2),
    ("contract", 2),
    ("plan", 3),
    ("outcome", 4),
    ("config", 4),
    ("backends", 5),
    ("error", 6),
    ("spi", 6),
    ("remote", 6),
    ("apply", 7),
    ("run", 8),
    ("api", 9),
    ("pgrx_tests", 10),
    ("layers", 10),
    ("fuzz", 10),
];

fn rank(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// `src/run/users.rs` → ["run", "users"]; `src/run/mod.rs` → ["run"].
fn module_path(file: &str) -> Vec<String> {
    let rel = file.trim_start_matches("src/").trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn leading_ident(s: &str) -> Option<&str> {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// The crate's top-level modules that `code` (comments removed) names.
fn referenced_modules(own_path: &[String], code: &str) -> Vec<String> {
    let mut found = vec![];
    let mut rest = code;
    while let Some(i) = rest.find("crate::").into_iter().chain(rest.find("super::")).min() {
        let after = &rest[i..];
        if let Some(path) = after.strip_prefix("crate::") {
            if let Some(group) = path.strip_prefix('{') {
                // `crate::{a, b::c}`: the first segment of each path in the group.
                let inner = &group[..group.find('}').unwrap_or(group.len())];
                found.extend(inner.split(',').filter_map(|p| leading_ident(p.trim())).map(str::to_string));
            } else if let Some(m) = leading_ident(path) {
                found.push(m.to_string());
            }
            rest = &after["crate::".len()..];
        } else {
            let mut ups = 0;
            let mut tail = after;
            while let Some(t) = tail.strip_prefix("super::") {
                ups += 1;
                tail = t;
            }
            // Up to the crate root: a module of the crate. (From an inline `mod tests` the
            // same words reach only the file's own module, whose items are not in the table.)
            if ups >= own_path.len() {
                if let Some(m) = leading_ident(tail).filter(|m| rank(m).is_some()) {
                    found.push(m.to_string());
                }
            }
            rest = &after["super::".len()..];
        }
    }
    found
}

/// Every import of `files` (path under the crate, text) that goes up or sideways.
fn violations(files: &[(String, String)]) -> Vec<String> {
    let mut out = vec![];
    for (file, text) in files {
        let path = module_path(file);
        let Some(own) = path.first() else { continue };
        let Some(own_rank) = rank(own) else {
            out.push(format!("{file}: module {own} is not in the layer table (src/layers.rs)"));
            continue;
        };
        let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        for target in referenced_modules(&path, &code) {
            if &target == own {
                continue;
            }
            match rank(&target) {
                Some(r) if r < own_rank => {}
                Some(r) => out.push(format!("{file}: {own} (layer {own_rank}) uses {target} (layer {r})")),
                None => out.push(format!("{file}: uses crate::{target}, which is not in the layer table")),
            }
        }
    }
    out
}

fn source_files(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        let rel = path.strip_prefix(root).expect("under the crate").to_string_lossy().replace('\\', "/");
        if path.is_dir() {
            // Benchmark programs borrow modules by path; they are not part of the layers.
            if rel != "src/bin" {
                source_files(&path, root, out);
            }
        } else if rel.ends_with(".rs") && rel != "src/lib.rs" && rel != "src/layers.rs" {
            // (lib.rs declares the modules; this file's own examples are imports on purpose.)
            out.push((rel, std::fs::read_to_string(&path).expect("a source file is readable")));
        }
    }
}

#[test]
fn the_source_tree_keeps_its_layers() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    source_files(&root.join("src"), root, &mut files);
    assert!(files.len() > 40, "found only {} source files", files.len());
    let found = violations(&files);
    assert!(found.is_empty(), "imports against the layers:\n{}", found.join("\n"));
}

#[test]
fn an_upward_or_sideways_import_is_caught() {
    let file = |path: &str, text: &str| vec![(path.to_string(), text.to_string())];
    assert_eq!(
        violations(&file("src/apply/users.rs", "use crate::run::progress;\n")),
        ["src/apply/users.rs: apply (layer 7) uses run (layer 8)"]
    );
    assert_eq!(
        violations(&file("src/azure/client.rs", "let e = super::super::plan::blobs::strip_quotes(x);")),
        ["src/azure/client.rs: azure (layer 2) uses plan (layer 3)"]
    );
    assert_eq!(violations(&file("src/plan/x.rs", "use crate::{clock::Timestamp, outcome};")), ["src/plan/x.rs: plan (layer 3) uses outcome (layer 4)"]);
    assert_eq!(violations(&file("src/contract/x.rs", "use crate::azure::Credential;")), ["src/contract/x.rs: contract (layer 2) uses azure (layer 2)"]);
    assert!(violations(&file("src/run/x.rs", "use crate::apply::users; use super::headers; // crate::api in a comment")).is_empty());
    assert_eq!(violations(&file("src/newthing.rs", "")), ["src/newthing.rs: module newthing is not in the layer table (src/layers.rs)"]);
}
