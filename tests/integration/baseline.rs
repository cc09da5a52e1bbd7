//! Baselines end to end: the round trip (only new leaks reported, the rest counted as
//! suppressed), a secret swapped onto a baselined line, corrupt files, and a real `git merge`
//! of two branches' baselines without a conflict.

use std::path::Path;
use std::process::Command;

use patrol::finding::{Fingerprint, Secret};

use crate::formats::fixed_tree;
use crate::util::{fake, jsonl, run_patrol, TestDir};

pub fn fp(rule: &str, secret: &str) -> String {
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
