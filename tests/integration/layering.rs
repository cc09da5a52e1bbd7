//! The module layering of ../shared/STYLE.md section 3, enforced: every `crate::<module>`
//! path in a library file must be one its module may use. Data flows one way.

use std::collections::BTreeMap;
use std::path::Path;

/// Module -> modules it may use. `cli` (in the binary) may use anything and is not listed.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("error", &[][..]),
        ("clock", &[][..]),
        ("rules", &["error"][..]),
        ("source", &["error"][..]),
        ("matcher", &["rules", "error"][..]),
        ("finding", &["rules", "source", "error"][..]),
        ("baseline", &["finding", "error"][..]),
        (
            "scan",
            &[
                "source", "matcher", "rules", "finding", "baseline", "config", "error",
            ][..],
        ),
        ("report", &["finding", "rules", "error"][..]),
        ("audit", &["finding", "rules", "clock", "error"][..]),
        ("provider", &["finding", "rules", "clock", "error"][..]),
        (
            "act",
            &["provider", "finding", "audit", "clock", "error"][..],
        ),
        (
            "notify",
            &["provider", "finding", "rules", "clock", "error"][..],
        ),
        (
            "config",
            &[
                "rules", "source", "matcher", "finding", "baseline", "report", "provider", "error",
            ][..],
        ),
        // The types it stores (`finding`) and the stamps it writes (`clock`).
        ("store", &["finding", "clock", "error"][..]),
        (
            "sweep",
            &[
                "store", "scan", "source", "matcher", "rules", "finding", "config", "provider",
                "error",
            ][..],
        ),
    ])
}

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn library_modules_only_use_what_the_layering_table_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let table = allowed();
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut violations = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let module = rel.split(['/', '.']).next().unwrap();
        if matches!(module, "cli" | "main" | "lib") {
            continue;
        }
        let Some(ok) = table.get(module) else {
            violations.push(format!(
                "{rel}: module `{module}` is not in the layering table"
            ));
            continue;
        };
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + 7..];
                let used: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if used != module && !ok.contains(&used.as_str()) {
                    violations.push(format!("{rel}:{}: `{module}` uses `crate::{used}`", n + 1));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}

/// The sibling files of `dir` (`mod.rs` counts as the directory itself, named `mod`) and,
/// for each, the siblings it names through `super::x` or `crate::<area>::x` (a name that is
/// not a sibling is an item of `mod.rs`). Test code (after `#[cfg(test)]`) is left out: a
/// test module may use anything.
fn sibling_edges(dir: &Path, area: &str) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rs") {
            files.push(p);
        }
    }
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut edges = BTreeMap::new();
    for (f, name) in files.iter().zip(&names) {
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut used = std::collections::BTreeSet::new();
        let prefixes = ["super::".to_string(), format!("crate::{area}::")];
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for prefix in &prefixes {
                let mut rest = line;
                while let Some(i) = rest.find(prefix.as_str()) {
                    rest = &rest[i + prefix.len()..];
                    let next: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    // From a child, `super::x` names `x` in mod.rs unless `x` is a sibling.
                    let target = if names.contains(&next) {
                        next
                    } else {
                        "mod".to_string()
                    };
                    if &target != name {
                        used.insert(target);
                    }
                }
            }
            // `use super::{a, b::c}` lists several at once.
            if let Some(i) = line.find("super::{") {
                for part in line[i + 8..].split(['}', ',']) {
                    let first: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if names.contains(&first) && &first != name {
                        used.insert(first);
                    }
                }
            }
        }
        // mod.rs uses every child it declares only when it names it in code; a `mod x;` line
        // alone is structure, not a use.
        if name == "mod" {
            for n in &names {
                if n != "mod"
                    && code.lines().any(|l| {
                        !l.trim_start().starts_with("mod ")
                            && !l.trim_start().starts_with("pub mod ")
                            && !l.trim_start().starts_with("//")
                            && (l.contains(&format!("{n}::")))
                    })
                {
                    used.insert(n.clone());
                }
            }
        }
        edges.insert(name.clone(), used);
    }
    edges
}

/// A cycle in `edges`, as the list of its files, if there is one.
fn find_cycle(edges: &BTreeMap<String, std::collections::BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, std::collections::BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut c = stack[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    for n in edges.keys() {
        if let Some(c) = visit(n, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// No import circle between the files of `src/cli/` (the binary's `use super::x` and
/// `crate::cli::x`) or of `src/scan/` (`super::x`, `crate::scan::x`): data and calls go one way
/// there too, so each file can be read (and changed) knowing only those below it.
#[test]
fn no_import_circle_inside_cli_or_scan() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for area in ["cli", "scan"] {
        let edges = sibling_edges(&src.join(area), area);
        assert!(edges.len() > 2, "{area}: files not found");
        if let Some(c) = find_cycle(&edges) {
            panic!("import circle in src/{area}/: {}", c.join(" -> "));
        }
    }
}

/// The circle check finds a planted circle (a -> b -> a) and accepts a chain.
#[test]
fn the_circle_check_finds_a_planted_circle() {
    let d = tempfile::tempdir().unwrap();
    let w = |n: &str, t: &str| std::fs::write(d.path().join(n), t).unwrap();
    w("mod.rs", "mod a;\nmod b;\npub use a::A;\n");
    w("a.rs", "use super::b::B;\npub struct A;\n");
    w(
        "b.rs",
        "pub struct B;\n#[cfg(test)]\nmod tests { use super::super::a::A; }\n",
    );
    assert_eq!(find_cycle(&sibling_edges(d.path(), "x")), None);
    w("b.rs", "use super::a::A;\npub struct B;\n");
    let c = find_cycle(&sibling_edges(d.path(), "x")).expect("a circle");
    assert!(
        c.contains(&"a".to_string()) && c.contains(&"b".to_string()),
        "{c:?}"
    );
    // A child naming something of mod.rs while mod.rs uses the child is a circle too.
    w("b.rs", "use super::Thing;\npub struct B;\n");
    w(
        "mod.rs",
        "mod a;\nmod b;\npub struct Thing;\nfn f() { b::B; }\n",
    );
    assert!(find_cycle(&sibling_edges(d.path(), "x")).is_some());
}

/// Every provider write request is decided in one file: outside `src/provider/` (where the
/// calls are defined) only `src/act/execute.rs` may call a write function.
#[test]
fn provider_writes_are_called_only_from_act_execute() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let writes = [
        ".revoke(",
        "create_revocation_rule(",
        "revoke_batch(",
        "revoke_self(",
    ];
    let mut found = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("provider/") || rel == "act/execute.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for w in writes {
                if code.contains(w) {
                    found.push(format!("{rel}:{}: {}", n + 1, code));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "write calls outside act/execute.rs:\n{}",
        found.join("\n")
    );
}
