//! `patrol.toml` end to end: excludes, disabled rules, allow-list and extra rule files; the
//! repository root's file for a subdirectory scan; errors naming file, key and line.

use crate::baseline::fp;
use crate::util::{fake, jsonl, run_patrol, TestDir};

#[test]
fn patrol_toml_excludes_disables_allows_and_adds_rules() {
    let t = TestDir::new();
    let npm = fake("npm.token", 4);
    let gh = fake("github.pat_classic", 4);
    let legacy = fake("azure_devops.pat_legacy", 4);
    t.write("vendor/lib.js", format!("{npm}\n"));
    t.write("app.py", format!("A = '{gh}'\nB = '{legacy}'\n"));
    t.write("acme.txt", "key acme_9f3c1a7e5b2d4f6081c3e5a7b9d1f2e4\n");
    t.write(
        "rules/acme.toml",
        r#"
[[rule]]
id = "acme.api_key"
name = "Acme API key"
provider = "acme"
keywords = ["acme_"]
pattern = '''\b(?P<token>acme_[0-9a-f]{32})\b'''
examples = ["ACME_KEY=acme_9f3c1a7e5b2d4f6081c3e5a7b9d1f2e4"]
"#,
    );
    t.write(
        "patrol.toml",
        format!(
            "exclude = [\"vendor/**\"]\ndisable_rules = [\"github.pat_classic\"]\nrule_files = [\"rules/acme.toml\"]\n\n[[allow]]\nfingerprint = \"{}\"\nreason = \"revoked test fixture\"\n",
            fp("azure_devops.pat_legacy", &legacy)
        ),
    );
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--history", "none", "--format", "jsonl"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let rules: Vec<String> = jsonl(&o.stdout)
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rules, ["acme.api_key"], "{}", o.stdout);
    assert!(o.stderr.contains("(1 suppressed)"), "{}", o.stderr);
    // --config FILE wins over the discovered file.
    t.write("empty.toml", "");
    let o = run_patrol(
        t.path(),
        &[
            "scan",
            ".",
            "--history",
            "none",
            "--format",
            "jsonl",
            "--config",
            "empty.toml",
        ],
    );
    assert_eq!(jsonl(&o.stdout).len(), 3, "{}", o.stdout);
}

#[test]
fn patrol_toml_at_the_repository_root_applies_to_a_scan_of_a_subdirectory() {
    let t = TestDir::new();
    std::fs::create_dir(t.path().join(".git")).unwrap();
    t.write("patrol.toml", "disable_rules = [\"npm.token\"]\n");
    t.write("sub/a.env", format!("NPM={}\n", fake("npm.token", 1)));
    let o = run_patrol(t.path(), &["scan", "sub", "--history", "none"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let o = run_patrol(
        t.path(),
        &["scan", "sub", "--history", "none", "--config", "sub/a.env"],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("sub/a.env:1:"), "{}", o.stderr);
}

#[test]
fn config_errors_name_file_key_and_line_and_nothing_is_scanned() {
    let t = TestDir::new();
    t.write("a.env", format!("NPM={}\n", fake("npm.token", 1)));
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "exclude = []\nexclud = [\"x\"]\n",
            "patrol.toml:2:",
            &["exclud"],
        ),
        (
            "[[allow]]\nfingerprint = \"0123456789abcdef0123456789abcdef\"\n",
            "patrol.toml:1:",
            &["reason"],
        ),
        (
            "\n\ndisable_rules = [\"nope.rule\"]\n",
            "patrol.toml:3:",
            &["disable_rules", "no such rule"],
        ),
        ("exclude = [\"a\", \"[\"]\n", "patrol.toml:1:", &["exclude"]),
    ];
    for (text, at, words) in cases {
        t.write("patrol.toml", text);
        let o = run_patrol(
            t.path(),
            &["scan", ".", "--history", "none", "--format", "jsonl"],
        );
        assert_eq!(o.code, 2, "{text:?}: {}", o.stderr);
        assert!(o.stdout.is_empty(), "{text:?}: scanned anyway");
        assert!(o.stderr.contains(at), "{text:?}: {}", o.stderr);
        for w in words {
            assert!(o.stderr.contains(w), "{text:?}: {}", o.stderr);
        }
    }
}

/// Regression test for #26 (item 5): a `patrol.toml` or a `rule_files` entry that is a
/// symlink out of the scanned tree was read, and a parse error quoted values from the file it
/// pointed at. Both are refused with one line naming the file (exit 2, nothing scanned), and
/// no error echoes a value from a configuration or rule file.
#[test]
fn config_and_rule_files_that_link_out_of_the_tree_are_refused_and_values_never_echoed() {
    use std::os::unix::fs::symlink;
    let outside = TestDir::new();
    outside.write("creds.toml", "exclude = \"OUTSIDE-SECRET-VALUE\"\n");
    outside.write(
        "rules.toml",
        "[[rule]]\nkeywords = \"OUTSIDE-RULE-VALUE\"\n",
    );
    let t = TestDir::new();
    t.write("a.env", format!("NPM={}\n", fake("npm.token", 1)));
    symlink(
        outside.path().join("creds.toml"),
        t.path().join("patrol.toml"),
    )
    .unwrap();
    let scan = ["scan", ".", "--history", "none", "--format", "jsonl"];
    let o = run_patrol(t.path(), &scan);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stdout.is_empty(), "scanned anyway: {}", o.stdout);
    assert!(!o.stderr.contains("OUTSIDE-SECRET-VALUE"), "{}", o.stderr);
    assert!(
        o.stderr.contains("patrol.toml") && o.stderr.contains("outside"),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);

    std::fs::remove_file(t.path().join("patrol.toml")).unwrap();
    t.write("patrol.toml", "rule_files = [\"ci/rules.toml\"]\n");
    std::fs::create_dir_all(t.path().join("ci")).unwrap();
    symlink(
        outside.path().join("rules.toml"),
        t.path().join("ci/rules.toml"),
    )
    .unwrap();
    let o = run_patrol(t.path(), &scan);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stdout.is_empty(), "scanned anyway: {}", o.stdout);
    assert!(!o.stderr.contains("OUTSIDE-RULE-VALUE"), "{}", o.stderr);
    assert!(
        o.stderr.contains("ci/rules.toml") && o.stderr.contains("outside"),
        "{}",
        o.stderr
    );

    // Inside the tree, a wrong value is named by key and line, never quoted.
    t.write("patrol.toml", "\nexclude = \"IN-TREE-VALUE\"\n");
    let o = run_patrol(t.path(), &scan);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("patrol.toml:2:"), "{}", o.stderr);
    assert!(o.stderr.contains("exclude"), "{}", o.stderr);
    assert!(!o.stderr.contains("IN-TREE-VALUE"), "{}", o.stderr);
    t.write("patrol.toml", "rule_files = [\"r.toml\"]\n");
    t.write("r.toml", "[[rule]]\nkeywords = \"IN-TREE-RULE-VALUE\"\n");
    let o = run_patrol(t.path(), &scan);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("r.toml"), "{}", o.stderr);
    assert!(!o.stderr.contains("IN-TREE-RULE-VALUE"), "{}", o.stderr);
}
