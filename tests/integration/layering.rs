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
        // or a re-export (`pub use x::Y;`, the module's front door) alone is structure, not a
        // use.
        if name == "mod" {
            let structure = |l: &str| {
                let l = l.trim_start();
                ["mod ", "pub mod ", "pub use ", "pub(crate) use ", "//"]
                    .iter()
                    .any(|p| l.starts_with(p))
            };
            for n in &names {
                if n != "mod"
                    && code
                        .lines()
                        .any(|l| !structure(l) && l.contains(&format!("{n}::")))
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
/// `crate::cli::x`), nor of `src/scan/`, `src/store/`, `src/sweep/` or `src/act/` (`super::x`,
/// `crate::<area>::x`): data and calls go one way there too, so each file can be read (and
/// changed) knowing only those below it. A `mod.rs` holds the area's types and its front door
/// (re-exports); the steps live in the files.
#[test]
fn no_import_circle_inside_an_area() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for area in ["cli", "scan", "store", "sweep", "act"] {
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

/// Every provider write request is decided in one file, and the list of writes comes from the
/// provider clients themselves, so a new one cannot slip past:
/// - in `src/provider/`, every function that builds a write request (a `Method::Post`, `Put`,
///   `Patch` or `Delete` that is not a match pattern) takes the write gate's marker `GateOpen`
///   ([`provider_write_problems`]); the compiler then makes every caller hold one;
/// - outside `src/provider/`, only `src/act/execute.rs` names `GateOpen`, and nothing builds a
///   write request (but the files of [`NOT_PROVIDER_WRITES`]); no public function returns a
///   `GateOpen` (so it cannot be had by inference).
#[test]
fn provider_writes_are_called_only_from_act_execute() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (writes, mut found) = provider_write_problems(&src.join("provider"));
    let names: Vec<&str> = writes
        .iter()
        .map(|w| w.rsplit(' ').next().unwrap())
        .collect();
    for known in [
        "create",
        "update",
        "revoke",
        "revoke_batch",
        "revoke_self",
        "write",
    ] {
        assert!(
            names.contains(&known),
            "the write `{known}` was not recognised; found {writes:?}"
        );
    }
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    for f in files {
        let rel = f
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("provider/") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        found.extend(outside_write_problems(&rel, &text));
    }
    assert!(
        found.is_empty(),
        "provider writes outside the gate (act/execute.rs):\n{}\n(write functions found in src/provider/: {})",
        found.join("\n"),
        writes.join(", ")
    );
}

/// The write check finds a planted write without the marker, a marker made outside the gate
/// and a write sent from elsewhere, and accepts match patterns and marked writes.
#[test]
fn the_write_check_finds_planted_writes() {
    let d = tempfile::tempdir().unwrap();
    let w = |t: &str| std::fs::write(d.path().join("client.rs"), t).unwrap();
    let marked = "impl C {\n    /// POST, but \"Method::Put\" in a string { is not code.\n    pub fn create(&self, gate: GateOpen) -> R {\n        self.send(Method::Post, '{')\n    }\n    fn spelling(m: Method) -> &'static str {\n        match m {\n            Method::Post | Method::Put => \"w\",\n            Method::Get => \"r\",\n        }\n    }\n}\n";
    w(marked);
    let (writes, problems) = provider_write_problems(d.path());
    assert_eq!(writes, ["client.rs:3: fn create"]);
    assert!(problems.is_empty(), "{problems:?}");
    w(&format!(
        "{marked}fn sneak(&self) -> R {{\n    let r = Request {{ method: Method::Delete }};\n}}\n"
    ));
    let (_, problems) = provider_write_problems(d.path());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("client.rs:13: `fn sneak`"),
        "{problems:?}"
    );
    w(&format!(
        "{marked}fn forge(&self) -> R {{\n    self.create(GateOpen::decided_by_act_execute())\n}}\n"
    ));
    let (_, problems) = provider_write_problems(d.path());
    assert!(
        problems.len() == 1 && problems[0].contains("`fn forge` makes a `GateOpen`"),
        "{problems:?}"
    );
    let cli = "fn run(c: &Client) {\n    // c.create(GateOpen) in a comment is fine\n    c.create(&req, GateOpen::decided_by_act_execute());\n}\n";
    let p = outside_write_problems("cli/pats.rs", cli);
    assert!(p.len() == 1 && p[0].starts_with("cli/pats.rs:3: "), "{p:?}");
    assert!(outside_write_problems("act/execute.rs", cli).is_empty());
    let p = outside_write_problems("act/execute.rs", "pub fn key() -> GateOpen { k() }\n");
    assert!(p.len() == 1 && p[0].contains("returns"), "{p:?}");
}

/// Files outside `src/provider/` that may build a `POST` because it is no provider write:
/// `notify/webhook.rs` delivers a message to the user's own webhook, changing nothing at a
/// provider.
const NOT_PROVIDER_WRITES: [&str; 1] = ["notify/webhook.rs"];

/// The marker every provider write takes (`provider/http.rs`).
const GATE: &str = "GateOpen";

/// The `Method` variants that send a write.
const WRITE_METHODS: [&str; 4] = [
    "Method::Post",
    "Method::Put",
    "Method::Patch",
    "Method::Delete",
];

/// The write functions of the provider files under `dir` (`file:line: fn name`), and the
/// problems: a function that builds a write request but takes no `GateOpen`, a function body
/// that makes one, a public function that returns one. Test code is left out.
fn provider_write_problems(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut files = Vec::new();
    rs_files(dir, &mut files);
    files.sort();
    let (mut writes, mut problems) = (Vec::new(), Vec::new());
    for f in files {
        let rel = f
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&f).unwrap();
        let code = code_only(text.split("#[cfg(test)]").next().unwrap_or_default());
        for func in functions(&code) {
            let at = format!("{rel}:{}", func.line);
            if builds_write(&func.body) {
                writes.push(format!("{at}: fn {}", func.name));
                if !func.signature.contains(GATE) {
                    problems.push(format!("{at}: `fn {}` sends a write request but takes no `{GATE}`: add a `{GATE}` parameter (only act/execute.rs makes one)", func.name));
                }
            }
            if func.body.contains(GATE) {
                problems.push(format!("{at}: `fn {}` makes a `{GATE}`: only act/execute.rs may; take one as a parameter", func.name));
            }
            if returns_gate(&func.signature) {
                problems.push(format!("{at}: `fn {}` returns a `{GATE}`", func.name));
            }
        }
    }
    (writes, problems)
}

/// The problems of one file outside `src/provider/` (`rel` from `src/`): naming `GateOpen`
/// anywhere but `act/execute.rs`, building a write request, a public function returning a
/// `GateOpen`.
fn outside_write_problems(rel: &str, text: &str) -> Vec<String> {
    let code = code_only(text);
    let mut found = Vec::new();
    for (n, (line, original)) in code.lines().zip(text.lines()).enumerate() {
        let named = rel != "act/execute.rs" && line.contains(GATE);
        let builds =
            !NOT_PROVIDER_WRITES.contains(&rel) && WRITE_METHODS.iter().any(|m| line.contains(m));
        if named || builds {
            found.push(format!("{rel}:{}: {}", n + 1, original.trim()));
        }
    }
    for func in functions(&code) {
        if returns_gate(&func.signature) && func.signature.trim_start().starts_with("pub") {
            found.push(format!(
                "{rel}:{}: `fn {}` returns a `{GATE}`",
                func.line, func.name
            ));
        }
    }
    found
}

fn returns_gate(signature: &str) -> bool {
    signature
        .split_once("->")
        .is_some_and(|(_, r)| r.contains(GATE))
}

/// Whether `body` builds a write request: a write `Method` variant that is not a match
/// pattern (`Method::Post =>`, `Method::Post | ...`, `... | Method::Post`) or a comparison.
fn builds_write(body: &str) -> bool {
    WRITE_METHODS.iter().any(|m| {
        body.match_indices(m).any(|(i, _)| {
            let after = body[i + m.len()..].trim_start();
            let before = body[..i].trim_end();
            let ident_goes_on =
                body[i + m.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
            !ident_goes_on
                && !after.starts_with("=>")
                && !after.starts_with('|')
                && !before.ends_with('|')
                && !before.ends_with("==")
                && !before.ends_with("!=")
        })
    })
}

/// One function: name, line, signature (from `fn` or the `pub` before it, to the `{` or `;`)
/// and body (between its braces; empty for a declaration).
struct Function {
    name: String,
    line: usize,
    signature: String,
    body: String,
}

/// The functions of `code` (already through [`code_only`]), nested ones included.
fn functions(code: &str) -> Vec<Function> {
    let b = code.as_bytes();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    for (i, _) in code.match_indices("fn ") {
        if i > 0 && is_ident(b[i - 1]) {
            continue;
        }
        let name: String = code[i + 3..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // The signature ends at its `{`, or at the `;` of a declaration (not one in `[T; N]`).
        let mut nest = 0i32;
        let Some(open) = code[i..]
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' | '[' => nest += 1,
                    ')' | ']' => nest -= 1,
                    _ => {}
                }
                c == '{' || (c == ';' && nest == 0)
            })
            .map(|(o, _)| i + o)
        else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let line_start = code[..i].rfind('\n').map_or(0, |p| p + 1);
        let signature = code[line_start..open].to_string();
        let mut body = String::new();
        if b[open] == b'{' {
            let mut depth = 0usize;
            for (k, c) in code[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    body = code[open + 1..open + k].to_string();
                    break;
                }
            }
        }
        out.push(Function {
            name,
            line: code[..i].matches('\n').count() + 1,
            signature,
            body,
        });
    }
    out
}

/// `text` with comments and string and character literals blanked out (line breaks kept, so
/// line numbers hold): what is left is code.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && ident(c[i - 1]);
        let end = if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len())
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            (i + 2..c.len().saturating_sub(1))
                .find(|&k| c[k] == '*' && c[k + 1] == '/')
                .map_or(c.len(), |k| k + 2)
        } else if c[i] == 'r' && !prev_ident && matches!(c.get(i + 1), Some('"' | '#')) {
            let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
            if c.get(i + 1 + hashes) == Some(&'"') {
                let close: String = std::iter::once('"')
                    .chain("#".repeat(hashes).chars())
                    .collect();
                let from = i + 2 + hashes;
                let rest: String = c[from..].iter().collect();
                rest.find(&close)
                    .map_or(c.len(), |k| from + rest[..k].chars().count() + close.len())
            } else {
                i
            }
        } else if c[i] == '"' {
            let mut k = i + 1;
            while k < c.len() && c[k] != '"' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            (k + 1).min(c.len())
        } else if c[i] == '\'' && c.get(i + 1) == Some(&'\\') {
            (i + 2..c.len())
                .find(|&k| c[k] == '\'')
                .map_or(c.len(), |k| k + 1)
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            i + 3
        } else {
            i
        };
        if end > i {
            for &ch in &c[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}
