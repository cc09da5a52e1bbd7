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
    t.write("acme.txt", "key acme_3f9a1c7e5b2d8f4a6c0e9b1d7a3f5c8e\n");
    t.write(
        "rules/acme.toml",
        r#"
[[rule]]
id = "acme.api_key"
name = "Acme API key"
provider = "acme"
keywords = ["acme_"]
pattern = '''\b(?P<token>acme_[0-9a-f]{32})\b'''
examples = ["ACME_KEY=acme_3f9a1c7e5b2d8f4a6c0e9b1d7a3f5c8e"]
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
            &["disable_rules", "nope.rule"],
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
