//! Output formats end to end: human, JSON, JSONL and CSV snapshotted (insta, `snapshots/`) on
//! one fixed tree, and CSV quoting of hostile paths.

use crate::util::{fake, run_patrol, Output, TestDir};

/// The fixed tree every format is snapshotted on: three rules, one secret at two paths, a
/// path with a comma and a quote (CSV quoting), a clean file.
pub fn fixed_tree() -> TestDir {
    let t = TestDir::new();
    let legacy = fake("azure_devops.pat_legacy", 1);
    t.write(
        "app/config.py",
        format!("x = 1\nAZURE_PAT = \"{legacy}\"\n"),
    );
    t.write(
        "deploy/clone.sh",
        format!("git clone https://build:{legacy}@dev.azure.com/c/p/_git/r\n"),
    );
    t.write(
        "notes/a, \"b\".txt",
        format!("token: {}\n", fake("github.pat_classic", 3)),
    );
    t.write(
        ".npmrc",
        format!(
            "//registry.npmjs.org/:_authToken={}\n",
            fake("npm.token", 2)
        ),
    );
    t.write("README.md", "nothing here\n");
    t
}

pub fn scan_fixed(format: &str) -> Output {
    let t = fixed_tree();
    run_patrol(
        t.path(),
        &[
            "scan",
            ".",
            "--history",
            "none",
            "--no-progress",
            "--format",
            format,
        ],
    )
}

pub fn snapshot(name: &str, o: &Output) {
    let version = format!("\"{}\"", regex::escape(env!("CARGO_PKG_VERSION")));
    insta::with_settings!({
        filters => vec![
            (r"\d+\.\d\d s", "[DURATION] s"),
            (version.as_str(), "\"[VERSION]\""),
            (r"patrol \d+\.\d+\.\d+", "patrol [VERSION]"),
        ],
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, format!("exit: {}\n{}", o.code, o.stdout));
    });
}

#[test]
pub fn snapshot_human() {
    snapshot("format_human", &scan_fixed("human"));
}

#[test]
pub fn snapshot_json() {
    snapshot("format_json", &scan_fixed("json"));
}

#[test]
pub fn snapshot_jsonl() {
    snapshot("format_jsonl", &scan_fixed("jsonl"));
}

#[test]
pub fn snapshot_sarif() {
    snapshot("format_sarif", &scan_fixed("sarif"));
}

#[test]
pub fn snapshot_csv() {
    snapshot("format_csv", &scan_fixed("csv"));
}

#[test]
pub fn csv_has_one_row_per_location_and_quotes_hostile_paths() {
    let o = scan_fixed("csv");
    let rows: Vec<&str> = o.stdout.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(rows[0].starts_with("rule,name,provider,secret,"));
    assert_eq!(rows.len(), 1 + 4, "header + 4 locations: {}", o.stdout);
    assert!(
        rows.iter()
            .any(|r| r.contains(",\"notes/a, \"\"b\"\".txt\",")),
        "{}",
        o.stdout
    );
}
