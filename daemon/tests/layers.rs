//! The layers of `daemon/src` import one way (ARCHITECTURE.md): a module may name the layers
//! below its own, never one above. This reads every `crate::LAYER` path in the sources (comments
//! aside, unit tests included) and fails with the file, line and path at fault. It also checks
//! that the pure crates (`selfgate-rules`, `selfgate-money`: the rules, the liquidation, the
//! reports) touch no file, socket, clock or runtime outside their unit tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// The layers, lowest first: a file's layer is the first folder of its path under `src/`.
const LAYERS: [&str; 5] = ["config", "infra", "store", "node", "cli"];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::NAME` in `line`, comments cut off.
fn crate_paths(line: &str) -> Vec<&str> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .filter(|(i, _)| {
            // `selfgate_rules::…` or `$crate::` are not this crate's layers.
            !code[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$')
        })
        .map(|(i, m)| {
            let rest = &code[i + m.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// The violations in the sources under `src`: (file, line number, the layer named).
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let top = relative.components().next().unwrap().as_os_str();
        let Some(own) = rank(&top.to_string_lossy()) else {
            // lib.rs and main.rs sit above every layer.
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for named in crate_paths(line) {
                if rank(named).is_some_and(|r| r > own) {
                    found.push(format!(
                        "{}:{}: the {} layer names crate::{named}, a higher layer",
                        relative.display(),
                        n + 1,
                        LAYERS[own]
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn no_module_imports_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    // Every file is in a layer (or is lib.rs / main.rs): a new top-level module needs a place.
    for f in &files {
        let relative = f.strip_prefix(&src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        assert!(
            rank(&top).is_some() || top == "lib.rs" || top == "main.rs",
            "{} is in no layer: put it under one of {LAYERS:?}",
            relative.display()
        );
    }
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "imports against the layers:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_an_upward_import() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(
        store.join("mod.rs"),
        "use crate::config::Config;\n// crate::node in a comment is fine\n\
         fn f() { crate::infra::telemetry::repeat(); let _ = selfgate_rules::crate::x; }\n\
         use crate::node::gate::Shared;\n",
    )
    .unwrap();
    let cli = dir.path().join("cli");
    std::fs::create_dir_all(&cli).unwrap();
    std::fs::write(
        cli.join("run.rs"),
        "use crate::node::Node;\nuse crate::store::Store;\n",
    )
    .unwrap();
    let found = violations(dir.path());
    assert_eq!(
        found,
        ["store/mod.rs:4: the store layer names crate::node, a higher layer"],
        "{found:?}"
    );
}

/// What the pure crates may not name outside their unit tests: files, sockets, processes,
/// the environment, the clock, the runtime. Time and data are passed in.
const IMPURE: [&str; 9] = [
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "Utc::now",
    "Local::now",
    "SystemTime::now",
    "Instant::now",
    "tokio",
];

/// `file:line: text` for every impure name in the `.rs` files under `dir`, each file read up
/// to its `#[cfg(test)]` module.
fn impurities(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(dir, &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            let code = line.split("//").next().unwrap_or("");
            for name in IMPURE {
                if code.contains(name) {
                    found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn the_rules_and_the_money_do_no_io_and_read_no_clock() {
    let daemon = Path::new(env!("CARGO_MANIFEST_DIR"));
    for krate in ["rules/src", "money/src"] {
        let found = impurities(&daemon.join(krate));
        assert!(
            found.is_empty(),
            "I/O or the clock in a pure crate:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_purity_check_finds_a_clock_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.rs"),
        "fn f() { let _ = chrono::Utc::now(); }\n// Utc::now in a comment is fine\n\
         #[cfg(test)]\nmod tests { fn g() { std::fs::read(\"x\"); } }\n",
    )
    .unwrap();
    let found = impurities(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("a.rs:1"), "{found:?}");
}
