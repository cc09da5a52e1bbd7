//! Hostile files and trees: the scan completes, each problem is one stderr line naming the
//! path, exit 2 when something was skipped because of an error, and every finding from the
//! rest of the tree is still reported.

use std::os::unix::fs::symlink;
use std::process::Command;

use crate::util::{fake, jsonl, run_patrol, run_patrol_interrupted, TestDir};

/// A tree with one findable token, so each test can check "the rest is still reported".
fn tree_with_token() -> (TestDir, String) {
    let t = TestDir::new();
    let tok = fake("github.pat_classic", 77);
    t.write("src/app.env", format!("GITHUB_TOKEN={tok}\n"));
    (t, tok)
}

fn secrets(stdout: &str) -> Vec<String> {
    jsonl(stdout)
        .iter()
        .map(|v| v["secret"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn broken_and_looping_symlinks_are_not_followed_by_default() {
    let (t, tok) = tree_with_token();
    symlink(t.path().join("nowhere"), t.path().join("broken")).unwrap();
    std::fs::create_dir_all(t.path().join("loop")).unwrap();
    symlink(t.path().join("loop"), t.path().join("loop/again")).unwrap();
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--format", "jsonl", "--show-secrets"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(secrets(&o.stdout), vec![tok.clone()]);
    // Following links, the loop is an error naming the path; the rest is still reported.
    let o = run_patrol(
        t.path(),
        &[
            "scan",
            ".",
            "--format",
            "jsonl",
            "--show-secrets",
            "--follow-links",
        ],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .lines()
            .any(|l| l.starts_with("patrol: error:") && l.contains("loop")),
        "{}",
        o.stderr
    );
    assert_eq!(secrets(&o.stdout), vec![tok]);
}

#[test]
fn fifos_sockets_and_devices_are_skipped_with_a_note_and_never_block() {
    let (t, tok) = tree_with_token();
    let fifo = t.path().join("pipe");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let _sock = std::os::unix::net::UnixListener::bind(t.path().join("sock")).unwrap();
    let o = run_patrol(
        t.path(),
        &["scan", ".", "pipe", "--format", "jsonl", "--show-secrets"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("pipe: not a regular file"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("sock: not a regular file"),
        "{}",
        o.stderr
    );
    assert_eq!(secrets(&o.stdout), vec![tok]);
}

#[test]
fn a_read_error_names_the_file_exits_2_and_keeps_other_findings() {
    let (t, tok) = tree_with_token();
    // /proc/self/mem is a regular file whose first read fails with EIO: a read error that
    // does not depend on the test running as a non-root user.
    let o = run_patrol(
        t.path(),
        &[
            "scan",
            ".",
            "/proc/self/mem",
            "--format",
            "jsonl",
            "--show-secrets",
        ],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    let lines: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.contains("/proc/self/mem"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", o.stderr);
    assert!(
        lines[0].starts_with("patrol: error: /proc/self/mem: "),
        "{}",
        lines[0]
    );
    assert_eq!(secrets(&o.stdout), vec![tok]);
}

#[test]
fn permission_denied_is_reported_when_not_root() {
    let (t, tok) = tree_with_token();
    let p = t.write("secret/locked.txt", "x\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--format", "jsonl", "--show-secrets"],
    );
    assert_eq!(secrets(&o.stdout), vec![tok]);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // root reads it anyway: the file is scanned and the run is complete.
        assert_eq!(o.code, 1, "{}", o.stderr);
    } else {
        assert_eq!(o.code, 2, "{}", o.stderr);
        assert!(o.stderr.contains("locked.txt"), "{}", o.stderr);
    }
}

#[test]
fn empty_nul_filled_and_random_binary_files_are_scanned() {
    let (t, tok) = tree_with_token();
    t.write("empty", "");
    t.write("zeros.bin", vec![0u8; 3 * 1024 * 1024]);
    let mut r = patrol::rules::sample::Rng::new(5);
    let mut noise = r.bytes(2 * 1024 * 1024);
    let legacy = fake("azure_devops.pat_legacy", 3);
    noise.extend_from_slice(format!("\n{legacy}\n").as_bytes());
    noise.extend(r.bytes(1024 * 1024));
    t.write("random.bin", &noise);
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--format", "jsonl", "--show-secrets"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let mut got = secrets(&o.stdout);
    got.sort();
    let mut want = vec![tok, legacy];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn utf16_files_with_a_bom_are_decoded() {
    let t = TestDir::new();
    let tok = fake("azure_devops.pat", 21);
    let text = format!("first line\r\nADO_TOKEN=\"{tok}\"\r\n");
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
    t.write("le.txt", le);
    t.write("be.txt", be);
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--format", "jsonl", "--show-secrets"],
    );
    let v = jsonl(&o.stdout);
    assert_eq!(v.len(), 1, "{}", o.stdout);
    assert_eq!(v[0]["secret"], tok.as_str());
    let locs = v[0]["locations"].as_array().unwrap();
    assert_eq!(locs.len(), 2);
    assert!(
        locs.iter().all(|l| l["line"] == 2 && l["column"] == 12),
        "{locs:?}"
    );
}

#[test]
fn hostile_file_names_are_escaped_for_the_terminal_and_exact_in_json() {
    use std::os::unix::ffi::OsStrExt;
    let t = TestDir::new();
    let tok = fake("npm.token", 31);
    let names: [&[u8]; 3] = [
        b"new\nline.txt",
        b"esc\x1b[31mred.txt",
        b"bad\xff\xfeutf8.txt",
    ];
    for n in names {
        std::fs::write(
            t.path().join(std::ffi::OsStr::from_bytes(n)),
            format!("{tok}\n"),
        )
        .unwrap();
    }
    let o = run_patrol(t.path(), &["scan", "."]);
    assert_eq!(o.code, 1);
    assert!(
        !o.stdout.contains('\x1b'),
        "raw escape reached the terminal: {:?}",
        o.stdout
    );
    assert!(
        o.stdout.contains("new\\nline.txt") && o.stdout.contains("esc\\u{1b}[31mred.txt"),
        "{}",
        o.stdout
    );
    let o = run_patrol(t.path(), &["scan", ".", "--format", "jsonl"]);
    let v = jsonl(&o.stdout);
    let locs = v[0]["locations"].as_array().unwrap();
    assert_eq!(locs.len(), 3);
    let raw: Vec<&serde_json::Value> = locs
        .iter()
        .filter(|l| !l["path_raw_base64"].is_null())
        .collect();
    assert_eq!(raw.len(), 1, "{locs:?}");
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw[0]["path_raw_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, b"bad\xff\xfeutf8.txt");
}

#[test]
fn very_deep_directories_complete_and_report_the_rest() {
    let (t, tok) = tree_with_token();
    make_deep(&t.path().join("deep"), 10_000);
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--format", "jsonl", "--show-secrets"],
    );
    assert!(o.code == 1 || o.code == 2, "{}", o.stderr);
    if o.code == 2 {
        assert!(
            o.stderr.lines().all(|l| l.len() < 100_000),
            "error lines stay printable"
        );
        assert!(
            o.stderr.contains("patrol: error:"),
            "{}",
            &o.stderr[..o.stderr.len().min(500)]
        );
    }
    assert_eq!(secrets(&o.stdout), vec![tok]);
}

#[test]
fn many_small_files_with_one_thread() {
    let t = TestDir::new();
    let tok = fake("gitlab.pat_routable", 4);
    for i in 0..3000 {
        t.write(
            &format!("d{}/f{i}.txt", i % 30),
            if i == 2999 {
                format!("{tok}\n")
            } else {
                format!("file {i}\n")
            },
        );
    }
    let o = run_patrol(
        t.path(),
        &[
            "scan",
            ".",
            "--threads",
            "1",
            "--format",
            "jsonl",
            "--show-secrets",
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(secrets(&o.stdout), vec![tok]);
    assert!(o.stderr.contains("3000 file(s)"), "{}", o.stderr);
}

#[test]
fn ctrl_c_reports_what_was_found_so_far_and_exits_2() {
    let t = TestDir::new();
    let tok = fake("azure_devops.pat_legacy", 41);
    let o = run_patrol_interrupted(
        t.path(),
        &["scan", "-", "--format", "jsonl", "--show-secrets"],
        format!("pat={tok}\n").as_bytes(),
    );
    let stdout = o.stdout;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(secrets(&stdout), vec![tok]);
    assert!(o.stderr.contains("interrupted"));
}

/// Creates `levels` nested directories under `root` with mkdirat/openat, so no single path
/// handed to the kernel exceeds PATH_MAX.
fn make_deep(root: &std::path::Path, levels: usize) {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    std::fs::create_dir_all(root).unwrap();
    let c = CString::new(root.as_os_str().as_bytes()).unwrap();
    let d = CString::new("d").unwrap();
    // SAFETY: plain libc calls on valid, NUL-terminated paths and descriptors we own.
    unsafe {
        let mut fd = libc::open(c.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
        assert!(fd >= 0);
        for _ in 0..levels {
            assert_eq!(libc::mkdirat(fd, d.as_ptr(), 0o755), 0);
            let next = libc::openat(fd, d.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
            assert!(next >= 0);
            libc::close(fd);
            fd = next;
        }
        libc::close(fd);
    }
}

/// Regression test for review item 7: a scanned tree's patrol.toml could make patrol read any
/// file through `rule_files`, and a TOML error printed the offending line (a secret, from an
/// .env named as a rule file).
#[test]
fn rule_files_stay_inside_the_config_directory_and_errors_never_echo_lines() {
    let t = TestDir::new();
    for bad in ["/etc/passwd", "../outside.toml", "sub/../../x.toml"] {
        t.write("patrol.toml", format!("rule_files = [{bad:?}]\n"));
        let o = run_patrol(t.path(), &["scan", ".", "--history", "none"]);
        assert_eq!(o.code, 2, "{bad}: {}", o.stderr);
        assert!(o.stderr.contains("rule_files"), "{bad}: {}", o.stderr);
    }
    let tok = fake("azure_devops.pat_legacy", 22);
    t.write("prod.env", format!("AZURE_DEVOPS_EXT_PAT={tok}\n"));
    t.write("patrol.toml", "rule_files = [\"prod.env\"]\n");
    let o = run_patrol(t.path(), &["scan", ".", "--history", "none"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("prod.env"), "{}", o.stderr);
    assert!(
        !o.stderr.contains(&tok[8..40]),
        "a line of the file reached stderr: {}",
        o.stderr
    );
    assert!(!o.stdout.contains(&tok[8..40]));
}

/// A custom rule whose examples do not match is refused by `scan --rules`, not only by
/// `rules check` (the triage merge had bypassed the check).
#[test]
fn scan_refuses_a_custom_rule_that_misses_its_own_examples() {
    let t = TestDir::new();
    t.write(
        "r.toml",
        "[[rule]]\nid = \"acme.key\"\nname = \"Acme\"\nprovider = \"acme\"\nkeywords = [\"acme_\"]\n\
         pattern = '''\\b(?P<token>acme_[0-9a-f]{32})\\b'''\nexamples = [\"acme_0123\"]\n",
    );
    let o = run_patrol(
        t.path(),
        &["scan", ".", "--history", "none", "--rules", "r.toml"],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("rule acme.key: example 0 does not match"),
        "{}",
        o.stderr
    );
}
