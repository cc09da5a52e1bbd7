//! Triage and reports end to end: output formats (snapshots, SARIF schema), patrol.toml,
//! baselines (round trip, and a real `git merge` of two branches), the audit log.

use std::path::{Path, PathBuf};
use std::process::Command;

use patrol::finding::{Fingerprint, Secret};

use crate::util::{fake, jsonl, run_patrol, run_patrol_env, Output, TestDir};

/// The fixed tree every format is snapshotted on: three rules, one secret at two paths, a
/// path with a comma and a quote (CSV quoting), a clean file.
fn fixed_tree() -> TestDir {
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

fn scan_fixed(format: &str) -> Output {
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

fn snapshot(name: &str, o: &Output) {
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
fn snapshot_human() {
    snapshot("format_human", &scan_fixed("human"));
}

#[test]
fn snapshot_json() {
    snapshot("format_json", &scan_fixed("json"));
}

#[test]
fn snapshot_jsonl() {
    snapshot("format_jsonl", &scan_fixed("jsonl"));
}

#[test]
fn snapshot_sarif() {
    snapshot("format_sarif", &scan_fixed("sarif"));
}

#[test]
fn snapshot_csv() {
    snapshot("format_csv", &scan_fixed("csv"));
}

/// `../shared/specs/sarif/sarif-schema-2.1.0.json` beside the clone. Missing is a failure, not
/// a skip: CI has ../shared, and a silently skipped schema check proves nothing.
fn sarif_schema() -> serde_json::Value {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs/sarif/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| {
        panic!(
            "the SARIF schema must be at {} (../shared beside the clone): {e}",
            p.display()
        )
    });
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

#[test]
fn csv_has_one_row_per_location_and_quotes_hostile_paths() {
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

fn fp(rule: &str, secret: &str) -> String {
    Fingerprint::of(rule, &Secret::new(secret)).0
}

#[test]
fn baseline_round_trip_reports_only_the_new_leak_and_counts_suppressed() {
    let t = fixed_tree();
    let o = run_patrol(
        t.path(),
        &[
            "baseline",
            "create",
            ".",
            "-o",
            "base.txt",
            "--history",
            "none",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = std::fs::read_to_string(t.path().join("base.txt")).unwrap();
    for (rule, seed) in [
        ("azure_devops.pat_legacy", 1),
        ("github.pat_classic", 3),
        ("npm.token", 2),
    ] {
        let secret = fake(rule, seed);
        assert!(!text.contains(&secret), "never a whole secret");
        assert!(text.contains(&fp(rule, &secret)), "{rule} recorded");
    }
    assert!(
        !text.contains("config.py") && !text.contains(":2"),
        "no paths or lines"
    );
    let o = run_patrol(
        t.path(),
        &[
            "baseline",
            "create",
            ".",
            "-o",
            "again.txt",
            "--history",
            "none",
        ],
    );
    assert_eq!(o.code, 0);
    assert_eq!(
        std::fs::read_to_string(t.path().join("again.txt")).unwrap(),
        text,
        "stable"
    );

    let scan = |t: &TestDir, fmt: &str| {
        run_patrol(
            t.path(),
            &[
                "scan",
                ".",
                "--history",
                "none",
                "--baseline",
                "base.txt",
                "--format",
                fmt,
            ],
        )
    };
    let o = scan(&t, "human");
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("3 suppressed"), "{}", o.stdout);

    let new = fake("gitlab.pat_routable", 7);
    t.write("src/new.env", format!("GL={new}\n"));
    let o = scan(&t, "jsonl");
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = jsonl(&o.stdout);
    assert_eq!(v.len(), 1, "{}", o.stdout);
    assert_eq!(v[0]["rule"], "gitlab.pat_routable");
    assert!(o.stderr.contains("(3 suppressed)"), "{}", o.stderr);
}

/// The fingerprint follows the secret: another secret swapped onto a baselined line is new.
#[test]
fn a_secret_swapped_onto_a_baselined_line_is_reported() {
    let t = TestDir::new();
    t.write("a.env", format!("NPM={}\n", fake("npm.token", 1)));
    let o = run_patrol(
        t.path(),
        &["baseline", "create", "-o", "b.txt", "--history", "none"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    t.write("a.env", format!("NPM={}\n", fake("npm.token", 2)));
    let o = run_patrol(
        t.path(),
        &[
            "scan",
            "--history",
            "none",
            "--baseline",
            "b.txt",
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(o.code, 1);
    assert_eq!(jsonl(&o.stdout).len(), 1);
}

#[test]
fn a_corrupt_or_missing_baseline_stops_the_scan_naming_file_and_line() {
    let t = TestDir::new();
    t.write("a.env", format!("NPM={}\n", fake("npm.token", 1)));
    t.write(
        "bad.txt",
        format!("# patrol baseline v1\n[00]\n{} npm.token\n", "a".repeat(32)),
    );
    let o = run_patrol(
        t.path(),
        &["scan", "--history", "none", "--baseline", "bad.txt"],
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stdout.is_empty(),
        "no report without the baseline: {}",
        o.stdout
    );
    assert!(o.stderr.contains("bad.txt:3:"), "{}", o.stderr);
    let o = run_patrol(
        t.path(),
        &["scan", "--history", "none", "--baseline", "nope.txt"],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("nope.txt"), "{}", o.stderr);
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    out
}

fn git_ok(dir: &Path, args: &[&str]) {
    let o = git(dir, args);
    assert!(
        o.status.success(),
        "git {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn bucket(rule: &str, seed: u64) -> String {
    fp(rule, &fake(rule, seed))[..2].to_string()
}

/// Seeds of three fake npm tokens: one already baselined, and two that two branches add. The
/// two new fingerprints sort next to each other in a plain sorted list (no older entry between
/// them), so git would see both insertions at one place, but fall in different buckets.
fn merge_seeds() -> (u64, u64, u64) {
    let rule = "npm.token";
    let base_seed = 100;
    let f = |s: u64| fp(rule, &fake(rule, s));
    let base_fp = f(base_seed);
    let (a, b) = (1..50u64)
        .flat_map(|i| (1..50u64).map(move |j| (i, j)))
        .find(|&(i, j)| {
            i != j && bucket(rule, i) != bucket(rule, j) && (f(i) > base_fp) == (f(j) > base_fp)
        })
        .unwrap();
    (base_seed, a, b)
}

/// The control for the test below: the same two additions to a plain sorted list (one
/// fingerprint per line, no bucket lines) DO conflict, so that test exercises the hazard.
#[test]
fn the_same_additions_to_a_plain_sorted_list_conflict() {
    let t = TestDir::new();
    let d = t.path();
    let rule = "npm.token";
    let (base_seed, a, b) = merge_seeds();
    let f = |s: u64| fp(rule, &fake(rule, s));
    let write = |seeds: &[u64]| {
        let mut lines: Vec<String> = seeds.iter().map(|&s| f(s)).collect();
        lines.sort();
        t.write("plain.txt", lines.join("\n") + "\n");
    };
    git_ok(d, &["init", "-q", "-b", "main"]);
    write(&[base_seed]);
    git_ok(d, &["add", "-A"]);
    git_ok(d, &["commit", "-q", "-m", "base"]);
    for (branch, seed) in [("a", a), ("b", b)] {
        git_ok(d, &["checkout", "-q", "-b", branch, "main"]);
        write(&[base_seed, seed]);
        git_ok(d, &["commit", "-q", "-am", branch]);
    }
    assert!(!git(d, &["merge", "--no-edit", "a"]).status.success());
}

/// Two branches each add a leak and re-create the baseline; `git merge` joins them without
/// a conflict, and the merged baseline accepts all three.
#[test]
fn baselines_from_two_branches_merge_without_conflict() {
    let t = TestDir::new();
    let d = t.path();
    let rule = "npm.token";
    let (base_seed, a, b) = merge_seeds();
    git_ok(d, &["init", "-q", "-b", "main"]);
    t.write("base.env", format!("X={}\n", fake(rule, base_seed)));
    let create = |d: &Path| {
        let o = run_patrol(
            d,
            &[
                "baseline",
                "create",
                ".",
                "-o",
                "patrol.baseline",
                "--history",
                "none",
            ],
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
    };
    create(d);
    git_ok(d, &["add", "-A"]);
    git_ok(d, &["commit", "-q", "-m", "base"]);
    for (branch, seed) in [("a", a), ("b", b)] {
        git_ok(d, &["checkout", "-q", "-b", branch, "main"]);
        t.write(
            &format!("{branch}.env"),
            format!("T={}\n", fake(rule, seed)),
        );
        create(d);
        git_ok(d, &["add", "-A"]);
        git_ok(d, &["commit", "-q", "-m", branch]);
    }
    let o = git(d, &["merge", "--no-edit", "a"]);
    assert!(
        o.status.success(),
        "merge conflict: {}{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        std::fs::read_to_string(d.join("patrol.baseline")).unwrap_or_default()
    );
    let merged = std::fs::read_to_string(d.join("patrol.baseline")).unwrap();
    assert!(!merged.contains("<<<<<<<"));
    for s in [base_seed, a, b] {
        assert!(merged.contains(&fp(rule, &fake(rule, s))), "seed {s}");
    }
    let o = run_patrol(
        d,
        &[
            "scan",
            ".",
            "--history",
            "none",
            "--baseline",
            "patrol.baseline",
        ],
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("3 suppressed"), "{}", o.stdout);
    // And the merged file is exactly what a fresh `baseline create` writes.
    let o = run_patrol(
        d,
        &[
            "baseline",
            "create",
            ".",
            "-o",
            "fresh.baseline",
            "--history",
            "none",
        ],
    );
    assert_eq!(o.code, 0);
    assert_eq!(
        std::fs::read_to_string(d.join("fresh.baseline")).unwrap(),
        merged
    );
}

#[test]
fn patrol_toml_excludes_disables_allows_and_adds_rules() {
    let t = TestDir::new();
    let npm = fake("npm.token", 4);
    let gh = fake("github.pat_classic", 4);
    let legacy = fake("azure_devops.pat_legacy", 4);
    t.write("vendor/lib.js", format!("{npm}\n"));
    t.write("app.py", format!("A = '{gh}'\nB = '{legacy}'\n"));
    t.write("acme.txt", "key acme_0123456789abcdef0123456789abcdef\n");
    t.write(
        "rules/acme.toml",
        r#"
[[rule]]
id = "acme.api_key"
name = "Acme API key"
provider = "acme"
keywords = ["acme_"]
pattern = '''\b(?P<token>acme_[0-9a-f]{32})\b'''
examples = ["ACME_KEY=acme_0123456789abcdef0123456789abcdef"]
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

fn read_audit(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn audit_log_records_the_scan_and_never_holds_a_whole_secret() {
    let t = fixed_tree();
    t.write(
        ".gitconfig",
        "[user]\n\temail = sec@example.com\n\tname = Sec Team\n",
    );
    let log = t.path().join("audit.jsonl");
    let o = run_patrol(
        t.path(),
        &[
            "scan",
            ".",
            "--history",
            "none",
            "--audit-log",
            "audit.jsonl",
            "--show-secrets",
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let text = std::fs::read_to_string(&log).unwrap();
    for (rule, seed) in [
        ("azure_devops.pat_legacy", 1),
        ("github.pat_classic", 3),
        ("npm.token", 2),
    ] {
        assert!(
            !text.contains(&fake(rule, seed)),
            "{rule} whole in the audit log"
        );
    }
    let v = read_audit(&log);
    let actions: Vec<&str> = v.iter().map(|e| e["actionId"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "Patrol.ScanStarted",
            "Patrol.SecretDiscovered",
            "Patrol.SecretDiscovered",
            "Patrol.SecretDiscovered",
            "Patrol.ScanCompleted"
        ]
    );
    let keys = [
        "id",
        "correlationId",
        "activityId",
        "actorUPN",
        "actorDisplayName",
        "timestamp",
        "scopeType",
        "scopeDisplayName",
        "projectName",
        "actionId",
        "area",
        "category",
        "details",
        "data",
    ];
    for e in &v {
        for k in keys {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
        assert_eq!(e["correlationId"], v[0]["correlationId"]);
        assert_eq!(e["actorUPN"], "sec@example.com");
        assert_eq!(e["actorDisplayName"], "Sec Team");
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    let d = &v[1]["data"];
    assert_eq!(d["rule"], "azure_devops.pat_legacy");
    assert_eq!(d["path"], "app/config.py");
    assert_eq!(d["fingerprint"].as_str().unwrap().len(), 32);
    let done = &v[4]["data"];
    assert_eq!(done["findings"], 3);
    assert_eq!(done["complete"], true);
    assert!(done["durationMs"].is_u64());

    // A second run appends; earlier lines stay as they were.
    let o = run_patrol(
        t.path(),
        &["scan", "README.md", "--audit-log", "audit.jsonl"],
    );
    assert_eq!(o.code, 0);
    let after = std::fs::read_to_string(&log).unwrap();
    assert!(after.starts_with(&text));
    let v2 = read_audit(&log);
    assert_eq!(v2.len(), 7);
    assert_ne!(v2[5]["correlationId"], v[0]["correlationId"]);

    // audit show filters by action and time.
    let o = run_patrol(
        t.path(),
        &[
            "audit",
            "show",
            "audit.jsonl",
            "--action",
            "Patrol.ScanCompleted",
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(jsonl(&o.stdout).len(), 2);
    let o = run_patrol(
        t.path(),
        &[
            "audit",
            "show",
            "audit.jsonl",
            "--since",
            "2999-01-01T00:00:00Z",
        ],
    );
    assert_eq!((o.code, o.stdout.as_str()), (0, ""));
    let o = run_patrol(
        t.path(),
        &[
            "audit",
            "show",
            "audit.jsonl",
            "--until",
            "2999-01-01T00:00:00Z",
        ],
    );
    assert_eq!(o.stdout.matches("Patrol.").count(), 7, "{}", o.stdout);
    assert!(o.stdout.contains("sec@example.com"));
    let o = run_patrol(
        t.path(),
        &["audit", "show", "audit.jsonl", "--since", "yesterday"],
    );
    assert_eq!(o.code, 2);
}

#[test]
fn an_unwritable_audit_log_stops_the_run_before_scanning() {
    let t = fixed_tree();
    std::fs::create_dir(t.path().join("dir")).unwrap();
    for target in ["dir", "missing/audit.jsonl"] {
        let o = run_patrol(
            t.path(),
            &[
                "scan",
                ".",
                "--history",
                "none",
                "--audit-log",
                target,
                "-o",
                "report.txt",
            ],
        );
        assert_eq!(o.code, 2, "{target}: {}", o.stderr);
        assert!(o.stderr.contains(target), "{}", o.stderr);
        assert!(
            !o.stderr.contains("finding"),
            "scanned anyway: {}",
            o.stderr
        );
        assert!(
            !t.path().join("report.txt").exists(),
            "report written anyway"
        );
    }
}

#[test]
fn concurrent_runs_appending_to_one_audit_log_do_not_interleave() {
    let t = TestDir::new();
    for i in 0..30 {
        t.write(
            &format!("f{i}.env"),
            format!("T={}\n", fake("npm.token", i)),
        );
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_patrol"));
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&bin)
                .args([
                    "scan",
                    ".",
                    "--history",
                    "none",
                    "--audit-log",
                    "audit.jsonl",
                    "--format",
                    "jsonl",
                ])
                .current_dir(t.path())
                .env_clear()
                .env("HOME", t.path())
                .env("USER", "ci")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert_eq!(c.wait().unwrap().code(), Some(1));
    }
    let v = read_audit(&t.path().join("audit.jsonl"));
    assert_eq!(v.len(), 4 * (30 + 2));
    assert!(v.iter().all(|e| e["actorUPN"] == "ci"));
    let runs: std::collections::BTreeSet<&str> = v
        .iter()
        .map(|e| e["correlationId"].as_str().unwrap())
        .collect();
    assert_eq!(runs.len(), 4);
    let o = run_patrol_env(t.path(), &["audit", "show", "audit.jsonl"], None, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}
