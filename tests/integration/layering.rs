//! The module layering of ../shared/STYLE.md section 3, enforced: every `crate::<module>`
//! path in a library file must be one its module may use. Data flows one way.

use std::collections::BTreeMap;
use std::path::Path;

/// Module -> modules it may use. `cli` (in the binary) may use anything and is not listed.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("error", &[][..]),
        ("rules", &["error"][..]),
        ("source", &["error"][..]),
        ("matcher", &["rules", "error"][..]),
        ("finding", &["rules", "source", "error"][..]),
        ("baseline", &["finding", "error"][..]),
        (
            "scan",
            &["source", "matcher", "rules", "finding", "baseline", "error"][..],
        ),
        ("report", &["finding", "rules", "error"][..]),
        ("audit", &["finding", "rules", "error"][..]),
        ("provider", &["finding", "rules", "error"][..]),
        ("revoke", &["provider", "finding", "audit", "error"][..]),
        (
            "config",
            &["rules", "source", "report", "provider", "error"][..],
        ),
        ("store", &["error"][..]),
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
