//! `patrol rules list` and `patrol rules check`.

use crate::util::{run_patrol, TestDir};

#[test]
fn list_prints_every_builtin_rule() {
    let t = TestDir::new();
    let o = run_patrol(t.path(), &["rules", "list", "--format", "json"]);
    assert_eq!(o.code, 0);
    let v: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
    let ids: Vec<&str> = v.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for id in [
        "azure_devops.pat",
        "azure_devops.pat_legacy",
        "github.pat_classic",
        "gitlab.pat_routable",
        "npm.token",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
}

#[test]
fn check_accepts_a_good_file_and_explains_a_bad_one() {
    let t = TestDir::new();
    let good = t.write(
        "good.toml",
        r#"
[[rule]]
id = "acme.api_key"
name = "Acme API key"
provider = "acme"
keywords = ["acme_"]
pattern = '''\b(?P<token>acme_[0-9a-f]{32})\b'''
min_entropy = 3.0
examples = ["ACME_KEY=acme_3f9a1c7e5b2d8f4a6c0e9b1d7a3f5c8e"]
negative_examples = ["ACME_KEY=acme_00000000000000000000000000000000"]
"#,
    );
    let o = run_patrol(t.path(), &["rules", "check", good.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    t.write(
        "bad.toml",
        r#"
[[rule]]
id = "acme.api_key"
name = "Acme API key"
provider = "acme"
keywords = ["acme_"]
pattern = '''\b(?P<token>acme_[0-9a-f]{32})\b'''
examples = ["ACME_KEY=acme_0123"]
"#,
    );
    let o = run_patrol(t.path(), &["rules", "check", "bad.toml"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("bad.toml: rule acme.api_key: example 0 does not match"),
        "{}",
        o.stderr
    );
    t.write("regex.toml", "[[rule]]\nid = \"acme.k\"\nname = \"n\"\nprovider = \"acme\"\nkeywords = [\"acme\"]\npattern = '''(?P<token>[a-'''\nexamples = [\"x\"]\n");
    let o = run_patrol(t.path(), &["rules", "check", "regex.toml"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("regex.toml: rule acme.k: pattern does not compile"),
        "{}",
        o.stderr
    );
}

#[test]
fn custom_rules_are_used_by_scan() {
    let t = TestDir::new();
    t.write("r.toml", "[[rule]]\nid = \"acme.api_key\"\nname = \"Acme\"\nprovider = \"acme\"\nkeywords = [\"acme_\"]\npattern = '''\\b(?P<token>acme_[0-9a-f]{32})\\b'''\nexamples = [\"acme_3f9a1c7e5b2d8f4a6c0e9b1d7a3f5c8e\"]\n");
    t.write("src/x.txt", "key acme_3f9a1c7e5b2d8f4a6c0e9b1d7a3f5c8e\n");
    let o = run_patrol(
        t.path(),
        &["scan", "src", "--rules", "r.toml", "--format", "jsonl"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stdout.contains("acme.api_key"));
}
