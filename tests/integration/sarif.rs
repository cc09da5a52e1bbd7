//! SARIF output validated against the official 2.1.0 schema, with what GitHub code scanning
//! needs, with findings and without.

use std::path::Path;

use crate::formats::{fixed_tree, scan_fixed};
use crate::util::{fake, run_patrol, TestDir};

/// The OASIS schema, kept in the repository (`tests/data/sarif/`, its source in the README
/// there) so that a fresh clone runs this check with nothing beside it.
fn sarif_schema() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("the SARIF schema must be at {}: {e}", p.display()));
    serde_json::from_str(&text).expect("the schema is JSON")
}

fn assert_valid_sarif(schema: &serde_json::Value, doc: &serde_json::Value) {
    // The OASIS file declares draft-04.
    let v = jsonschema::draft4::new(schema).expect("the schema compiles");
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is not valid:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_validates_against_the_official_schema_and_has_what_github_needs() {
    let schema = sarif_schema();
    let o = scan_fixed("sarif");
    assert_eq!(o.code, 1, "{}", o.stderr);
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_valid_sarif(&schema, &doc);
    // The check can fail: a level SARIF does not define is rejected.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    let v = jsonschema::draft4::new(&schema).unwrap();
    assert!(!v.is_valid(&broken), "the schema check accepts anything");
    let run = &doc["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["azure_devops.pat_legacy", "github.pat_classic", "npm.token"],
        "one rule entry per rule used"
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(r["ruleId"], rules[idx]);
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            !uri.starts_with('/') && !uri.contains("://"),
            "relative: {uri}"
        );
        let fp = r["partialFingerprints"]["patrolFingerprint/v1"]
            .as_str()
            .unwrap();
        assert_eq!(fp.len(), 32);
    }
    let legacy = fake("azure_devops.pat_legacy", 1);
    assert!(!o.stdout.contains(&legacy), "redacted by default");
    let shown = run_patrol(
        fixed_tree().path(),
        &[
            "scan",
            ".",
            "--history",
            "none",
            "--format",
            "sarif",
            "--show-secrets",
        ],
    );
    assert!(shown.stdout.contains(&legacy));
    let doc: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_valid_sarif(&schema, &doc);
}

#[test]
fn sarif_with_no_findings_is_valid_too() {
    let t = TestDir::new();
    t.write("a.txt", "clean\n");
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--history", "none", "--format", "sarif"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_valid_sarif(&sarif_schema(), &serde_json::from_str(&o.stdout).unwrap());
}
