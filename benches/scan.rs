//! Whole-scan throughput, bytes per second: the file walk over a generated tree, and a
//! history scan (enumeration, blob reads, matching, attribution) over a generated git
//! history in which one large file is edited in small steps, as source files evolve. Both
//! corpora hold fake tokens from `rules::sample` with a fixed seed and are built once in a
//! temporary directory. The long-history figures (100,000 commits, peers beside patrol) come
//! from `scripts/history-bench.py`.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use git2::{Repository, Signature, Time};
use patrol::rules::sample::{generator, Rng, ALNUM};
use patrol::source::git::Selection;
use patrol::{ScanConfig, ScanPlan, ScanSettings, Scanner};

const FILES: usize = 2_000;
const COMMITS: usize = 600;

/// A source-like line; one in `token_every` carries a token.
fn line(r: &mut Rng, token_every: usize) -> String {
    const WORDS: &[&str] = &[
        "account", "access", "buffer", "config", "return", "value", "handle", "request",
        "response", "import", "export", "const", "function", "client", "server", "error",
    ];
    if r.below(token_every) == 0 {
        let id = ["github.pat_classic", "npm.token", "azure_devops.pat"][r.below(3)];
        return format!("TOKEN = \"{}\"\n", generator(id).unwrap()(r));
    }
    let mut s = String::from("    ");
    for _ in 0..(3 + r.below(8)) {
        s.push_str(WORDS[r.below(WORDS.len())]);
        s.push(' ');
    }
    s.push_str(&r.string(ALNUM, 12));
    s.push('\n');
    s
}

/// FILES files of 2-64 KiB in 50 directories; returns the bytes written.
fn tree(root: &Path) -> u64 {
    let mut r = Rng::new(7);
    let mut total = 0;
    for f in 0..FILES {
        let dir = root.join(format!("d{:02}", f % 50));
        std::fs::create_dir_all(&dir).unwrap();
        let mut body = String::new();
        let size = 2048 + r.below(62 * 1024);
        while body.len() < size {
            body.push_str(&line(&mut r, 400));
        }
        total += body.len() as u64;
        std::fs::write(dir.join(format!("f{f:04}.rs")), body).unwrap();
    }
    total
}

/// COMMITS commits: each edits a few lines of one of 8 large (48 KiB) files and adds a
/// small file; returns the bytes of every unique blob.
fn history(root: &Path) -> u64 {
    let repo = Repository::init(root).unwrap();
    let mut r = Rng::new(11);
    let mut large: Vec<Vec<String>> = (0..8)
        .map(|_| (0..1000).map(|_| line(&mut r, 5000)).collect())
        .collect();
    let mut total = 0u64;
    let mut parent: Option<git2::Oid> = None;
    let mut builder_base: Option<git2::Oid> = None;
    for c in 0..COMMITS {
        let mut tb = repo
            .treebuilder(builder_base.map(|t| repo.find_tree(t).unwrap()).as_ref())
            .unwrap();
        let f = c % large.len();
        for _ in 0..3 {
            let i = r.below(large[f].len());
            large[f][i] = line(&mut r, 5000);
        }
        let files: Vec<(String, String)> = vec![
            (format!("big{f}.rs"), large[f].concat()),
            (
                format!("n{c:04}.txt"),
                (0..20).map(|_| line(&mut r, 200)).collect(),
            ),
        ];
        for (name, body) in files {
            total += body.len() as u64;
            let oid = repo.blob(body.as_bytes()).unwrap();
            tb.insert(name, oid, 0o100644).unwrap();
        }
        let tree = tb.write().unwrap();
        builder_base = Some(tree);
        let sig = Signature::new(
            "A",
            "a@example.invalid",
            &Time::new(1_700_000_000 + c as i64, 0),
        )
        .unwrap();
        let parents: Vec<git2::Commit> = parent
            .map(|p| repo.find_commit(p).unwrap())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        let id = repo
            .commit(
                None,
                &sig,
                &sig,
                "edit",
                &repo.find_tree(tree).unwrap(),
                &parents,
            )
            .unwrap();
        parent = Some(id);
    }
    repo.reference("refs/heads/main", parent.unwrap(), true, "bench")
        .unwrap();
    total
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("tree");
    let files_bytes = tree(&files);
    let repo = dir.path().join("history");
    let history_bytes = history(&repo);
    let settings = ScanSettings {
        no_config: true,
        threads: Some(2),
        ..Default::default()
    };
    let scanner = Scanner::new(ScanConfig::new(&settings).unwrap());
    let cancel = AtomicBool::new(false);
    let mut g = c.benchmark_group("scan");
    g.sample_size(10);
    for (name, plan, bytes) in [
        ("files", ScanPlan::files([files.clone()]), files_bytes),
        (
            "history",
            ScanPlan::repository(&repo, Selection::AllRefs),
            history_bytes,
        ),
    ] {
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(name, |b| {
            b.iter(|| {
                let (out, diags) = scanner.collect(&plan, &cancel);
                assert!(!out.findings.is_empty(), "{:?}", diags.entries());
                out.findings.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
