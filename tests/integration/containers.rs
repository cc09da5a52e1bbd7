//! Archives and encodings end to end (#13, "Encodings and containers"): tokens inside zip,
//! tar, gzip, xz, bzip2 and nested archives, in files and in git history, and the limits that keep a
//! hostile archive bounded.

use std::io::{Cursor, Write};

use crate::git_repo::GitRepoBuilder;
use crate::util::{fake, run_patrol, TestDir};

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, b) in files {
        w.start_file(*n, o).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn gzip_of(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn xz_of(b: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    w.write_all(b).unwrap();
    w.finish().unwrap()
}

fn bzip2_of(b: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for (n, b) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(b.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, n, *b).unwrap();
    }
    t.into_inner().unwrap()
}

/// (rule, path, line) of every location in a JSON report.
fn locations(stdout: &str) -> Vec<(String, String, u64)> {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("JSON findings");
    let mut out = Vec::new();
    for f in v.as_array().unwrap() {
        for l in f["locations"].as_array().unwrap() {
            out.push((
                f["rule"].as_str().unwrap().to_string(),
                l["path"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
            ));
        }
    }
    out.sort();
    out
}

fn scan_json(t: &TestDir, extra: &[&str]) -> crate::util::Output {
    let mut args = vec!["scan", ".", "--format", "json", "--history", "none"];
    args.extend_from_slice(extra);
    run_patrol(t.path(), &args)
}

#[test]
fn tokens_in_zip_tar_gzip_and_nested_archives_are_found_at_nested_paths() {
    let t = TestDir::new();
    let legacy = fake("azure_devops.pat_legacy", 11);
    let ghp = fake("github.pat_classic", 12);
    let npm = fake("npm.token", 13);
    let settings = format!("{{\n  \"pat\": \"{legacy}\"\n}}\n");
    let inner_jar = zip_of(&[("META-INF/app.properties", format!("gh={ghp}\n").as_bytes())]);
    let tgz = gzip_of(&tar_of(&[
        (
            "pkg/.npmrc",
            format!("//registry/:_authToken={npm}\n").as_bytes(),
        ),
        ("pkg/lib/inner.jar", &inner_jar),
    ]));
    t.write(
        "dist/app.zip",
        zip_of(&[
            ("config/settings.json", settings.as_bytes()),
            ("vendor.tgz", &tgz),
        ]),
    );
    // Found by its magic bytes, whatever it is called (a .docx, .whl or .nupkg is a zip).
    t.write(
        "docs/report.docx",
        zip_of(&[("word/document.xml", format!("<w:t>{ghp}</w:t>").as_bytes())]),
    );
    t.write(
        "logs/build.log.gz",
        gzip_of(format!("\n\ntoken {npm}\n").as_bytes()),
    );
    t.write(
        "images/rootfs.tar.xz",
        xz_of(&tar_of(&[(
            "etc/npmrc",
            format!("_authToken={npm}\n").as_bytes(),
        )])),
    );
    let o = scan_json(&t, &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        locations(&o.stdout),
        vec![
            (
                "azure_devops.pat_legacy".into(),
                "dist/app.zip!config/settings.json".into(),
                2
            ),
            (
                "github.pat_classic".into(),
                "dist/app.zip!vendor.tgz!pkg/lib/inner.jar!META-INF/app.properties".into(),
                1
            ),
            (
                "github.pat_classic".into(),
                "docs/report.docx!word/document.xml".into(),
                1
            ),
            (
                "npm.token".into(),
                "dist/app.zip!vendor.tgz!pkg/.npmrc".into(),
                1
            ),
            (
                "npm.token".into(),
                "images/rootfs.tar.xz!etc/npmrc".into(),
                1
            ),
            ("npm.token".into(), "logs/build.log.gz!build.log".into(), 3),
        ],
        "{}",
        o.stderr
    );
    // CSV carries the same nested path; SARIF too, in its URI form (`!` is `%21`).
    let csv = run_patrol(
        t.path(),
        &["scan", ".", "--format", "csv", "--history", "none"],
    );
    assert!(
        csv.stdout.contains("dist/app.zip!config/settings.json"),
        "{}",
        csv.stdout
    );
    let sarif = run_patrol(
        t.path(),
        &["scan", ".", "--format", "sarif", "--history", "none"],
    );
    assert!(
        sarif
            .stdout
            .contains("\"dist/app.zip%21config/settings.json\""),
        "{}",
        sarif.stdout
    );

    // --no-archives: archives are plain bytes (only a token stored uncompressed is seen, at
    // the archive's own path).
    let o = scan_json(&t, &["--no-archives"]);
    assert!(
        locations(&o.stdout)
            .iter()
            .all(|(_, p, _)| !p.contains('!')),
        "{}",
        o.stdout
    );
}

#[test]
fn zip_bombs_and_huge_entry_counts_stop_with_a_line_naming_the_archive_and_exit_2() {
    let t = TestDir::new();
    let ghp = fake("github.pat_classic", 21);
    // 16 MiB of zeros: about 16 KiB deflated.
    let zeros = vec![0u8; 16 << 20];
    t.write(
        "bomb.zip",
        zip_of(&[("zeros.bin", &zeros), ("after.txt", b"clean")]),
    );
    t.write("bomb.gz", gzip_of(&zeros));
    let names: Vec<String> = (0..100_001).map(|i| format!("e{i}")).collect();
    let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    t.write("many.zip", zip_of(&many));
    t.write("plain.env", format!("GITHUB_TOKEN={ghp}\n"));
    let o = scan_json(&t, &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    // The rest of the scan went on.
    assert_eq!(
        locations(&o.stdout),
        vec![("github.pat_classic".into(), "plain.env".into(), 1)]
    );
    for (name, why) in [
        ("bomb.zip", "compression ratio over 100:1"),
        ("bomb.gz", "compression ratio over 100:1"),
        ("many.zip", "100000"),
    ] {
        let line = o
            .stderr
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no line for {name}: {}", o.stderr));
        assert!(line.contains(why) && line.contains("error:"), "{line}");
    }
}

#[test]
fn tokens_in_bzip2_streams_and_tar_bz2_are_found_at_nested_paths() {
    let t = TestDir::new();
    let legacy = fake("azure_devops.pat_legacy", 51);
    let npm = fake("npm.token", 52);
    let ghp = fake("github.pat_classic", 53);
    let settings = format!("{{\n  \"pat\": \"{legacy}\"\n}}\n");
    t.write(
        "dist/app.tar.bz2",
        bzip2_of(&tar_of(&[("config/settings.json", settings.as_bytes())])),
    );
    t.write(
        "vendor.tbz2",
        bzip2_of(&tar_of(&[(
            "pkg/.npmrc",
            format!("//registry/:_authToken={npm}\n").as_bytes(),
        )])),
    );
    t.write(
        "logs/build.log.bz2",
        bzip2_of(format!("\n\ntoken {npm}\n").as_bytes()),
    );
    // Inside a zip, as a release bundle carries it.
    t.write(
        "release.zip",
        zip_of(&[(
            "db/dump.sql.bz2",
            &bzip2_of(format!("-- {ghp}\n").as_bytes()),
        )]),
    );
    let o = scan_json(&t, &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        locations(&o.stdout),
        vec![
            (
                "azure_devops.pat_legacy".into(),
                "dist/app.tar.bz2!config/settings.json".into(),
                2
            ),
            (
                "github.pat_classic".into(),
                "release.zip!db/dump.sql.bz2!dump.sql".into(),
                1
            ),
            ("npm.token".into(), "logs/build.log.bz2!build.log".into(), 3),
            ("npm.token".into(), "vendor.tbz2!pkg/.npmrc".into(), 1),
        ],
        "{}",
        o.stderr
    );
    // --no-archives: the compressed bytes hold no token.
    let o = scan_json(&t, &["--no-archives"]);
    assert_eq!(o.code, 0, "{}", o.stdout);
}

#[test]
fn bzip2_bombs_and_corrupt_bzip2_are_reported_and_the_scan_goes_on() {
    let t = TestDir::new();
    let ghp = fake("github.pat_classic", 54);
    // 16 MiB of zeros: about 40 bytes of bzip2.
    t.write("bomb.bz2", bzip2_of(&vec![0u8; 16 << 20]));
    let noise: String = (0..4000u64)
        .map(|i| format!("{:016x}\n", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .collect();
    let b = bzip2_of(&tar_of(&[("x.txt", noise.as_bytes())]));
    t.write("broken.tar.bz2", &b[..b.len() / 2]);
    t.write("plain.env", format!("GITHUB_TOKEN={ghp}\n"));
    let o = scan_json(&t, &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(
        locations(&o.stdout),
        vec![("github.pat_classic".into(), "plain.env".into(), 1)]
    );
    for (name, why) in [
        ("bomb.bz2", "compression ratio over 100:1"),
        ("broken.tar.bz2", "error:"),
    ] {
        let lines: Vec<&str> = o.stderr.lines().filter(|l| l.contains(name)).collect();
        assert_eq!(lines.len(), 1, "one line for {name}: {}", o.stderr);
        assert!(
            lines[0].contains(why) && lines[0].contains("error:"),
            "{}",
            lines[0]
        );
    }
}

#[test]
fn corrupt_deep_and_oddly_named_archives_are_reported_and_the_scan_goes_on() {
    let t = TestDir::new();
    let ghp = fake("github.pat_classic", 31);
    let legacy = fake("azure_devops.pat_legacy", 32);
    let good = zip_of(&[("a.txt", format!("{ghp}\n").as_bytes())]);
    // A truncated zip: not readable as one, so its bytes are scanned as they are.
    let stored_token = format!("PK\u{3}\u{4} stored {legacy} and more");
    t.write("trunc.zip", stored_token.as_bytes());
    let noise: String = (0..4000u64)
        .map(|i| format!("{:016x}\n", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .collect();
    let tgz = gzip_of(&tar_of(&[("x.txt", noise.as_bytes()), ("y.txt", b"after")]));
    t.write("trunc.tgz", &tgz[..tgz.len() / 2]);
    let mut deep = zip_of(&[("core.txt", format!("{legacy}\n").as_bytes())]);
    for i in 0..8 {
        deep = zip_of(&[(&format!("l{i}.zip"), &deep)]);
    }
    t.write("deep.zip", &deep);
    t.write(
        "names.tar",
        tar_of(&[(
            "evil\u{1b}]0;title\u{7}\n.txt",
            format!("{ghp}\n").as_bytes(),
        )]),
    );
    t.write("good.zip", &good);
    let o = scan_json(&t, &["--show-secrets"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let locs = locations(&o.stdout);
    assert!(
        locs.contains(&("github.pat_classic".into(), "good.zip!a.txt".into(), 1)),
        "{locs:?}"
    );
    // The truncated zip's own bytes were still scanned.
    assert!(
        locs.contains(&("azure_devops.pat_legacy".into(), "trunc.zip".into(), 1)),
        "{locs:?}"
    );
    // Control characters in an entry name never reach the output raw.
    assert!(
        locs.contains(&(
            "github.pat_classic".into(),
            "names.tar!evil\\x1b]0;title\\x07\\x0a.txt".into(),
            1
        )),
        "{locs:?}"
    );
    for (name, why) in [
        ("trunc.zip", "not a readable zip"),
        ("trunc.tgz", "error:"),
        ("deep.zip", "nested more than 5 deep"),
    ] {
        let line = o
            .stderr
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no line for {name}: {}", o.stderr));
        assert!(line.contains(why), "{line}");
    }
    assert!(!o.stderr.contains('\u{1b}'), "{}", o.stderr);
}

#[test]
fn archives_in_git_history_are_opened_too() {
    let g = GitRepoBuilder::new();
    let ghp = fake("github.pat_classic", 41);
    g.stage(
        "release/app.jar",
        zip_of(&[("conf/app.yml", format!("token: {ghp}\n").as_bytes())]),
    );
    g.commit("add a release");
    g.remove("release/app.jar");
    g.commit("remove it");
    let o = run_patrol(
        g.path(),
        &["scan", ".", "--format", "json", "--history", "all"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let l = &v[0]["locations"][0];
    assert_eq!(l["path"], "release/app.jar!conf/app.yml");
    assert!(l["commit"].as_str().is_some_and(|c| c.len() == 40), "{l}");
    // --no-archives: only what stands in the raw bytes, at the archive's own path.
    let o = run_patrol(
        g.path(),
        &[
            "scan",
            ".",
            "--format",
            "json",
            "--history",
            "all",
            "--no-archives",
        ],
    );
    assert!(!o.stdout.contains("app.jar!"), "{}", o.stdout);
}

#[test]
fn tokens_right_after_json_c_and_percent_escapes_are_found() {
    let t = TestDir::new();
    let legacy = fake("azure_devops.pat_legacy", 51);
    let ghp = fake("github.pat_classic", 52);
    t.write(
        "logs/run.json",
        format!("{{\"msg\": \"setting up\\n{legacy}\\tdone\", \"env\": \"\\\"{ghp}\\\"\"}}\n"),
    );
    t.write("access.log", format!("GET /cb?next=%0A{legacy}%22 200\n"));
    let o = scan_json(&t, &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        locations(&o.stdout),
        vec![
            ("azure_devops.pat_legacy".into(), "access.log".into(), 1),
            ("azure_devops.pat_legacy".into(), "logs/run.json".into(), 1),
            ("github.pat_classic".into(), "logs/run.json".into(), 1),
        ]
    );
}

#[test]
fn utf16_files_without_a_byte_order_mark_are_decoded_in_both_byte_orders() {
    let t = TestDir::new();
    let legacy = fake("azure_devops.pat_legacy", 61);
    let ghp = fake("github.pat_classic", 62);
    let le = format!("Windows Registry Editor Version 5.00\r\n\r\n\"Pat\"=\"{legacy}\"\r\n");
    let be = format!("# exported\r\nGITHUB_TOKEN={ghp}\r\n");
    t.write(
        "export.reg",
        le.encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>(),
    );
    t.write(
        "env.txt",
        be.encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect::<Vec<u8>>(),
    );
    // --skip-binary does not take them for binary files.
    let o = scan_json(&t, &["--skip-binary"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        locations(&o.stdout),
        vec![
            ("azure_devops.pat_legacy".into(), "export.reg".into(), 3),
            ("github.pat_classic".into(), "env.txt".into(), 2),
        ]
    );
}

#[test]
fn tokens_in_kubernetes_secrets_and_docker_auth_are_decoded_one_level() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let t = TestDir::new();
    let legacy = fake("azure_devops.pat_legacy", 71);
    let ghp = fake("github.pat_classic", 72);
    let npm = fake("npm.token", 73);
    t.write(
        "k8s/secret.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: build\ntype: Opaque\ndata:\n  ado-pat: {}\n  npmrc: {}\n",
            b64(&legacy),
            b64(&format!("//registry.npmjs.org/:_authToken={npm}\n")),
        ),
    );
    t.write(
        "k8s/secret.json",
        format!(
            "{{\"kind\": \"Secret\", \"data\": {{\"token\": \"{}\"}}}}",
            b64(&ghp)
        ),
    );
    t.write(
        "home/.docker/config.json",
        format!(
            "{{\n  \"auths\": {{\n    \"ghcr.io\": {{\n      \"auth\": \"{}\"\n    }}\n  }}\n}}\n",
            b64(&format!("octocat:{ghp}"))
        ),
    );
    let o = scan_json(&t, &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let mut got: Vec<(String, String, u64, String)> = Vec::new();
    for f in v.as_array().unwrap() {
        for l in f["locations"].as_array().unwrap() {
            got.push((
                f["rule"].as_str().unwrap().into(),
                l["path"].as_str().unwrap().into(),
                l["line"].as_u64().unwrap(),
                l["encoding"].as_str().unwrap_or("none").into(),
            ));
        }
    }
    got.sort();
    let want: Vec<(String, String, u64, String)> = [
        ("azure_devops.pat_legacy", "k8s/secret.yaml", 7),
        ("github.pat_classic", "home/.docker/config.json", 4),
        ("github.pat_classic", "k8s/secret.json", 1),
        ("npm.token", "k8s/secret.yaml", 8),
    ]
    .iter()
    .map(|(r, p, l)| (r.to_string(), p.to_string(), *l, "base64".to_string()))
    .collect();
    assert_eq!(got, want);
}

/// (rule, path, commit) of every location.
fn git_locations(stdout: &str) -> Vec<(String, String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("JSON findings");
    let mut out = Vec::new();
    for f in v.as_array().unwrap() {
        for l in f["locations"].as_array().unwrap() {
            out.push((
                f["rule"].as_str().unwrap().to_string(),
                l["path"].as_str().unwrap().to_string(),
                l["commit"].as_str().map(str::to_string),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn a_repository_scan_reads_its_git_config_and_opt_in_unreachable_commits() {
    let g = GitRepoBuilder::new();
    let remote_tok = fake("github.pat_classic", 81);
    g.repo
        .remote(
            "origin",
            &format!("https://octocat:{remote_tok}@github.com/octo/app.git"),
        )
        .unwrap();
    g.commit_files("base", &[("README.md", "hello\n")]);
    // A secret committed, then amended away: only the reflog reaches that commit.
    let amended_tok = fake("npm.token", 82);
    let leaked = g.commit_files(
        "oops",
        &[("app.env", &format!("NPM_TOKEN={amended_tok}\n"))],
    );
    g.remove("app.env");
    let head = g.repo.find_commit(leaked).unwrap();
    let tree = {
        let mut idx = g.repo.index().unwrap();
        g.repo.find_tree(idx.write_tree().unwrap()).unwrap()
    };
    head.amend(Some("HEAD"), None, None, None, Some("fixed"), Some(&tree))
        .unwrap();
    // A commit no ref and no reflog reaches (left by a rebase whose reflog expired).
    let dangling_tok = fake("azure_devops.pat_legacy", 83);
    g.stage("old.txt", format!("pat={dangling_tok}\n"));
    let dangling = {
        let mut idx = g.repo.index().unwrap();
        let tree = g.repo.find_tree(idx.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("Bob", "bob@example.com").unwrap();
        g.repo.commit(None, &sig, &sig, "lost", &tree, &[]).unwrap()
    };
    g.remove("old.txt");

    let base = ["scan", ".", "--format", "json", "--history", "all"];
    let o = run_patrol(g.path(), &base);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        git_locations(&o.stdout),
        vec![("github.pat_classic".into(), ".git/config".into(), None)],
        "{}",
        o.stderr
    );
    let mut args = base.to_vec();
    args.push("--include-unreachable");
    let o = run_patrol(g.path(), &args);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        git_locations(&o.stdout),
        vec![
            (
                "azure_devops.pat_legacy".into(),
                "old.txt".into(),
                Some(dangling.to_string())
            ),
            ("github.pat_classic".into(), ".git/config".into(), None),
            (
                "npm.token".into(),
                "app.env".into(),
                Some(leaked.to_string())
            ),
        ],
        "{}",
        o.stderr
    );
    // It reads the whole history, so it does not combine with a range.
    let o = run_patrol(
        g.path(),
        &[
            "scan",
            ".",
            "--include-unreachable",
            "--since-commit",
            "HEAD",
        ],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
}

/// A stored zip of `files` whose first entry's declared (uncompressed) size, in both the local
/// and the central header, is set to `declared`: its data runs on past what it says it holds.
fn zip_with_declared_size(files: &[(&str, &[u8])], declared: u32) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (n, b) in files {
        w.start_file(*n, o).unwrap();
        w.write_all(b).unwrap();
    }
    let mut z = w.finish().unwrap().into_inner();
    assert_eq!(&z[..4], b"PK\x03\x04");
    z[22..26].copy_from_slice(&declared.to_le_bytes());
    let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    z[cd + 24..cd + 28].copy_from_slice(&declared.to_le_bytes());
    z
}

/// Regression test for #26 (item 5): an entry whose declared size is smaller than its data
/// was read only up to the declared size, silently, and the scan said complete.
#[test]
fn a_zip_entry_holding_more_than_its_declared_size_is_an_error_naming_it_and_is_still_scanned() {
    let t = TestDir::new();
    let ghp = fake("github.pat_classic", 26);
    let data = format!("{}\nGITHUB_TOKEN={ghp}\n", "# padding\n".repeat(100));
    t.write(
        "app.zip",
        zip_with_declared_size(&[("conf.env", data.as_bytes()), ("b.txt", b"ok")], 64),
    );
    let o = scan_json(&t, &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let line = o
        .stderr
        .lines()
        .find(|l| l.contains("app.zip: conf.env:"))
        .unwrap_or_else(|| panic!("no line naming the entry: {}", o.stderr));
    assert!(line.contains("declares 64 bytes"), "{line}");
    assert_eq!(
        locations(&o.stdout),
        vec![("github.pat_classic".into(), "app.zip!conf.env".into(), 102)]
    );
}

/// Regression test for #26 (item 5): a gzip stream cut short lost every finding of the chunk
/// being read when the error came (up to 8 MiB of content).
#[test]
fn a_truncated_gzip_keeps_the_findings_made_before_the_error() {
    let t = TestDir::new();
    let ghp = fake("github.pat_classic", 27);
    let text = format!("GITHUB_TOKEN={ghp}\n{}", "filler line\n".repeat(20_000));
    let gz = gzip_of(text.as_bytes());
    // Without its 8-byte trailer (CRC and size): every byte decodes, then the stream ends early.
    t.write("app.log.gz", &gz[..gz.len() - 8]);
    let o = scan_json(&t, &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .lines()
            .any(|l| l.contains("app.log.gz") && l.contains("error:")),
        "{}",
        o.stderr
    );
    assert_eq!(
        locations(&o.stdout),
        vec![("github.pat_classic".into(), "app.log.gz!app.log".into(), 1)]
    );
}
