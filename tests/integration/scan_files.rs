//! The file scanner end to end.

use serde::Deserialize;

use crate::util::{fake, jsonl, run_patrol, run_patrol_stdin, TestDir};

/// The JSON finding, decoded by a schema written here: a second, independent reading of the
/// wire format documented in src/report/json.rs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFinding {
    rule: String,
    name: String,
    provider: String,
    secret: String,
    redacted: bool,
    fingerprint: String,
    checksum: String,
    locations: Vec<JsonLocation>,
    locations_omitted: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLocation {
    path: String,
    path_raw_base64: Option<String>,
    line: u64,
    column: u64,
    commit: Option<String>,
    author_name: Option<String>,
    author_email: Option<String>,
    author_date: Option<String>,
    encoding: Option<String>,
    repository: Option<String>,
}

fn findings(stdout: &str) -> Vec<JsonFinding> {
    serde_json::from_str(stdout).expect("a JSON array of findings")
}

#[test]
fn finds_one_secret_with_every_location_and_exits_1() {
    let t = TestDir::new();
    let legacy = fake("azure_devops.pat_legacy", 1);
    t.write("a/config.py", format!("x = 1\nAZURE_PAT = \"{legacy}\"\n"));
    t.write(
        "b/deploy.sh",
        format!("git clone https://build:{legacy}@dev.azure.com/c/p/_git/r\n"),
    );
    t.write("clean.txt", "nothing to see here\n");
    let o = run_patrol(
        t.path(),
        &[
            "scan",
            ".",
            "--format",
            "json",
            "--show-secrets",
            "--history",
            "none",
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let f = findings(&o.stdout);
    assert_eq!(f.len(), 1, "{}", o.stdout);
    assert_eq!(f[0].rule, "azure_devops.pat_legacy");
    assert_eq!(f[0].provider, "azure_devops");
    assert!(!f[0].name.is_empty());
    assert_eq!(f[0].secret, legacy);
    assert!(!f[0].redacted);
    assert_eq!(f[0].checksum, "valid");
    assert_eq!(f[0].fingerprint.len(), 32);
    assert_eq!(f[0].locations_omitted, 0);
    assert!(
        f[0].locations.iter().all(|l| l.repository.is_none()),
        "a plain file has no repository: {}",
        o.stdout
    );
    let locs: Vec<(String, u64, u64)> = f[0]
        .locations
        .iter()
        .map(|l| (l.path.clone(), l.line, l.column))
        .collect();
    assert_eq!(
        locs,
        vec![("a/config.py".into(), 2, 14), ("b/deploy.sh".into(), 1, 25)]
    );
    assert!(f[0].locations.iter().all(|l| l.commit.is_none()
        && l.author_name.is_none()
        && l.author_email.is_none()
        && l.author_date.is_none()
        && l.path_raw_base64.is_none()
        && l.encoding.is_none()));
}

#[test]
fn nothing_found_exits_0_and_secrets_are_redacted_by_default() {
    let t = TestDir::new();
    t.write("clean.txt", "just text\n");
    let o = run_patrol(t.path(), &["scan", ".", "--history", "none"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let tok = fake("github.pat_classic", 3);
    t.write("leak.env", format!("GITHUB_TOKEN={tok}\n"));
    for fmt in ["human", "json", "jsonl", "sarif", "csv"] {
        let o = run_patrol(
            t.path(),
            &["scan", ".", "--history", "none", "--format", fmt],
        );
        assert_eq!(o.code, 1);
        assert!(
            !o.stdout.contains(&tok),
            "{fmt} leaks the token: {}",
            o.stdout
        );
        assert!(!o.stderr.contains(&tok), "{fmt} leaks the token on stderr");
        assert!(
            o.stdout.contains(&tok[..4]) && o.stdout.contains(&tok[tok.len() - 4..]),
            "{fmt}: {}",
            o.stdout
        );
    }
}

#[test]
fn jsonl_is_one_finding_per_line_sorted_by_rule() {
    let t = TestDir::new();
    let a = fake("npm.token", 1);
    let b = fake("github.pat_classic", 1);
    let c = fake("azure_devops.pat", 1);
    t.write("x.txt", format!("{a}\n{b}\n{c}\n"));
    let o = run_patrol(
        t.path(),
        &["scan", "x.txt", "--format", "jsonl", "--show-secrets"],
    );
    let v = jsonl(&o.stdout);
    let rules: Vec<&str> = v.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(
        rules,
        ["azure_devops.pat", "github.pat_classic", "npm.token"]
    );
}

#[test]
fn reads_stdin_with_dash() {
    let t = TestDir::new();
    let tok = fake("gitlab.pat_routable", 2);
    let o = run_patrol_stdin(
        t.path(),
        &["scan", "-", "--format", "jsonl", "--show-secrets"],
        Some(format!("GL={tok}\n").as_bytes()),
    );
    let v = jsonl(&o.stdout);
    assert_eq!(v.len(), 1, "{}", o.stderr);
    assert_eq!(v[0]["secret"], tok.as_str());
    assert_eq!(v[0]["locations"][0]["path"], "-");
}

#[test]
fn gitignore_is_honoured_unless_no_ignore_and_dot_git_is_never_scanned() {
    let t = TestDir::new();
    let tok = fake("npm.token", 5);
    std::fs::create_dir_all(t.path().join(".git")).unwrap();
    t.write(".gitignore", "ignored/\n");
    t.write("ignored/x.txt", format!("{tok}\n"));
    t.write(".git/config", format!("{tok}\n"));
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--history", "none", "--format", "jsonl"],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    let o = run_patrol(
        t.path(),
        &[
            "scan",
            ".",
            "--history",
            "none",
            "--no-ignore",
            "--format",
            "jsonl",
        ],
    );
    let v = jsonl(&o.stdout);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["locations"].as_array().unwrap().len(), 1);
    assert_eq!(v[0]["locations"][0]["path"], "ignored/x.txt");
}

#[test]
fn binary_crlf_and_invalid_utf8_content_is_scanned() {
    let t = TestDir::new();
    let tok = fake("azure_devops.pat_legacy", 9);
    let mut content = vec![0u8, 159, 146, 150, 0xff, b'\r', b'\n'];
    content.extend_from_slice(format!("pat={tok}\r\n").as_bytes());
    t.write("blob.bin", &content);
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--format", "jsonl", "--show-secrets"],
    );
    let v = jsonl(&o.stdout);
    assert_eq!(v.len(), 1, "{}", o.stderr);
    assert_eq!(v[0]["locations"][0]["line"], 2);
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--format", "jsonl", "--skip-binary"],
    );
    assert_eq!(o.code, 0);
}

#[test]
fn a_token_near_the_end_of_a_big_single_line_file_is_found_with_its_column() {
    let t = TestDir::new();
    let tok = fake("azure_devops.pat", 4);
    // 20 MiB on one line: spans several 8 MiB chunks; the token sits across no boundary
    // in particular, and the column must count every character before it.
    let mut s = "ab,".repeat(7 * 1024 * 1024);
    let col = s.len() + 1;
    s.push_str(&tok);
    s.push_str(",end");
    t.write("min.js", &s);
    let o = run_patrol(
        t.path(),
        &["scan", "min.js", "--format", "jsonl", "--show-secrets"],
    );
    let v = jsonl(&o.stdout);
    assert_eq!(v.len(), 1, "{}", o.stderr);
    assert_eq!(v[0]["locations"][0]["line"], 1);
    assert_eq!(v[0]["locations"][0]["column"], col as u64);
}

#[test]
fn an_unreadable_file_is_named_on_stderr_exit_2_and_other_findings_kept() {
    let t = TestDir::new();
    let tok = fake("npm.token", 8);
    t.write("ok.txt", format!("{tok}\n"));
    let o = run_patrol(
        t.path(),
        &["scan", "ok.txt", "does-not-exist.txt", "--format", "jsonl"],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.lines().any(|l| l.contains("does-not-exist.txt")),
        "{}",
        o.stderr
    );
    assert_eq!(jsonl(&o.stdout).len(), 1);
}

#[test]
fn decoded_basic_auth_reports_the_inner_pat_at_the_header() {
    let t = TestDir::new();
    let tok = fake("azure_devops.pat_legacy", 12);
    let b64 = base64_encode(format!(":{tok}").as_bytes());
    t.write(
        "req.http",
        format!("GET / HTTP/1.1\nAuthorization: Basic {b64}\n"),
    );
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--format", "jsonl", "--show-secrets"],
    );
    let v = jsonl(&o.stdout);
    assert_eq!(v.len(), 1, "{}", o.stdout);
    assert_eq!(v[0]["secret"], tok.as_str());
    assert_eq!(v[0]["locations"][0]["encoding"], "base64");
    assert_eq!(v[0]["locations"][0]["line"], 2);
    assert_eq!(v[0]["locations"][0]["column"], 22);
}

#[test]
fn inline_allow_suppresses_unless_no_inline_allow() {
    let t = TestDir::new();
    let tok = fake("github.pat_classic", 6);
    t.write("x.py", format!("T = '{tok}'  # patrol:allow\n"));
    let o = run_patrol(t.path(), &["scan", "."]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    let o = run_patrol(t.path(), &["scan", ".", "--no-inline-allow"]);
    assert_eq!(o.code, 1);
}

#[test]
fn bad_arguments_exit_2() {
    let t = TestDir::new();
    let o = run_patrol(t.path(), &["scan", "--format", "yaml"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("yaml"));
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Regression test for review item 13: with --max-locations the kept locations depended on
/// which thread delivered first.
#[test]
fn max_locations_keeps_the_first_locations_in_report_order_whatever_the_threads_do() {
    let t = TestDir::new();
    let tok = fake("npm.token", 13);
    for i in 0..400 {
        t.write(&format!("d{:02}/f{i:03}.txt", i % 40), format!("{tok}\n"));
    }
    let mut seen = Vec::new();
    for _ in 0..4 {
        let o = run_patrol(
            t.path(),
            &[
                "scan",
                ".",
                "--max-locations",
                "3",
                "--threads",
                "8",
                "--format",
                "jsonl",
            ],
        );
        let v = jsonl(&o.stdout);
        assert_eq!(v.len(), 1, "{}", o.stderr);
        assert_eq!(v[0]["locations_omitted"], 397);
        let paths: Vec<String> = v[0]["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["path"].as_str().unwrap().to_string())
            .collect();
        seen.push(paths);
    }
    assert!(seen.iter().all(|p| p == &seen[0]), "{seen:?}");
    assert_eq!(seen[0], ["d00/f000.txt", "d00/f040.txt", "d00/f080.txt"]);
}

/// Tokens placed across every kind of chunk edge (the end of a chunk, the start of the next
/// one's overlap, the left-context cut) are each found once, at the right line and column,
/// with tiny chunks exactly as with one chunk holding the whole file.
#[test]
fn tokens_across_chunk_edges_are_found_once_at_their_place() {
    use patrol::source::fs::OVERLAP_BYTES;
    use patrol::{ScanConfig, ScanPlan, ScanSettings, Scanner};
    use std::sync::atomic::AtomicBool;

    // read_chunks makes chunks of at least 2 * OVERLAP_BYTES, each starting OVERLAP_BYTES
    // before the previous one's end: edges at multiples of OVERLAP_BYTES.
    let chunk = 2 * OVERLAP_BYTES;
    let mut starts = Vec::new();
    for edge in (1..6).map(|k| k * OVERLAP_BYTES) {
        for d in [-41i64, -40, -20, -1, 0, 31, 32, 33, 45] {
            starts.push((edge as i64 + d) as usize);
        }
    }
    starts.sort();
    starts.dedup();
    // Keep starts at least one token line apart.
    let mut kept: Vec<usize> = Vec::new();
    for s in starts {
        if kept.last().is_none_or(|l| s >= l + 44) {
            kept.push(s);
        }
    }
    let mut text = String::new();
    let mut expected = Vec::new();
    for (i, s) in kept.iter().enumerate() {
        while text.len() + 1 < *s {
            let col = text.len() - text.rfind('\n').map_or(0, |n| n + 1);
            text.push(if col >= 70 { '\n' } else { 'x' });
        }
        text.push(' ');
        let tok = fake("github.pat_classic", 700 + i as u64);
        let line = text.matches('\n').count() as u64 + 1;
        let column = (text.len() - text.rfind('\n').map_or(0, |n| n + 1)) as u64 + 1;
        assert_eq!(text.len(), *s);
        text.push_str(&tok);
        text.push('\n');
        expected.push((tok, line, column));
    }
    let t = TestDir::new();
    t.write("big.txt", &text);

    let scan = |chunk_bytes: usize| {
        let settings = ScanSettings {
            no_config: true,
            threads: Some(1),
            chunk_bytes,
            ..Default::default()
        };
        let scanner = Scanner::new(ScanConfig::new(&settings).unwrap());
        let (out, diags) = scanner.collect(&ScanPlan::files([t.path()]), &AtomicBool::new(false));
        assert!(out.summary.complete, "{:?}", diags.entries());
        let mut got: Vec<(String, u64, u64)> = out
            .findings
            .iter()
            .map(|f| {
                assert_eq!(f.locations.len(), 1, "found once: {:?}", f.locations);
                let l = &f.locations[0];
                (f.secret.expose().to_string(), l.line, l.column)
            })
            .collect();
        got.sort();
        (got, out.summary.bytes_scanned)
    };
    let mut want = expected.clone();
    want.sort();
    let (small, bytes_small) = scan(chunk);
    assert_eq!(
        small,
        want,
        "{} tokens over {} bytes",
        kept.len(),
        text.len()
    );
    let (whole, bytes_whole) = scan(patrol::scan::CHUNK_BYTES);
    assert_eq!(small, whole);
    assert_eq!(
        bytes_small,
        text.len() as u64,
        "overlap is not counted twice"
    );
    assert_eq!(bytes_whole, bytes_small);
}
