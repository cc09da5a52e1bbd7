//! Scanning a directory and a git repository through the library, as an embedding program
//! would: settings -> `ScanConfig` -> `Scanner`, one plan with two targets, and a sink of its
//! own that prints each target's findings (redacted) and totals.
//!
//! `cargo run --example embed -- DIR REPO` scans those; with no arguments it builds a small
//! directory and repository (fake tokens from `patrol::rules::sample`) in a temporary
//! directory and scans them.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use patrol::finding::ScanSummary;
use patrol::scan::plan::{GitTarget, GitWhat, Target};
use patrol::scan::{Counters, RunContext};
use patrol::source::git::Selection;
use patrol::{Finding, FindingSink, ScanConfig, ScanPlan, ScanSettings, Scanner};

/// Prints what the scanner pushes; fails on nothing, so its error type is `Infallible`.
struct Printer;

impl FindingSink for Printer {
    type Error = std::convert::Infallible;

    fn begin(&mut self, target: &str) -> Result<(), Self::Error> {
        println!("target {target}");
        Ok(())
    }

    fn finding(&mut self, f: &Finding) -> Result<(), Self::Error> {
        println!(
            "  {} {} ({} location(s))",
            f.rule,
            f.secret,
            f.locations.len()
        );
        for l in &f.locations {
            match (&l.repository, &l.commit) {
                (Some(r), Some(c)) => println!(
                    "    {}:{}:{} in {} at commit {}",
                    l.path,
                    l.line,
                    l.column,
                    Path::new(r)
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy(),
                    &c.id[..12]
                ),
                _ => println!("    {}:{}:{}", l.path, l.line, l.column),
            }
        }
        Ok(())
    }

    fn finish(&mut self, s: &ScanSummary) -> Result<(), Self::Error> {
        println!(
            "  {} finding(s), {} blob(s), complete: {}",
            s.findings, s.blobs_scanned, s.complete
        );
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let _demo;
    let (dir, repo) = match args.as_slice() {
        [d, r] => (d.clone(), r.clone()),
        _ => {
            _demo = tempfile::tempdir()?;
            demo(_demo.path())?
        }
    };
    let settings = ScanSettings {
        no_config: true,
        ..Default::default()
    };
    let scanner = Scanner::new(ScanConfig::new(&settings)?);
    let mut plan = ScanPlan::files([&dir]);
    plan.push(Target {
        name: "repository".into(),
        files: Vec::new(),
        repositories: vec![GitTarget {
            repo,
            what: GitWhat::History(Selection::AllRefs),
        }],
    });
    let diagnostics = patrol::error::Diagnostics::default();
    let counters = Counters::default();
    let cancel = AtomicBool::new(false);
    let ctx = RunContext {
        diagnostics: &diagnostics,
        counters: &counters,
        cancel: &cancel,
    };
    let Ok(total) = scanner.run(&plan, &mut Printer, &ctx);
    println!(
        "total: {} finding(s), complete: {}",
        total.findings, total.complete
    );
    for d in diagnostics.entries() {
        eprintln!("note: {d}");
    }
    Ok(())
}

/// A directory with one fake token, and a repository whose history holds another.
fn demo(root: &Path) -> Result<(PathBuf, PathBuf), Box<dyn std::error::Error>> {
    let sample = |rule: &str, seed| patrol::rules::sample::sample(rule, seed).expect("a sample");
    let dir = root.join("dir");
    std::fs::create_dir_all(&dir)?;
    let npm = sample("npm.token", 3);
    std::fs::write(
        dir.join(".npmrc"),
        format!("//registry.npmjs.org/:_authToken={npm}\n"),
    )?;

    let repo_path = root.join("repo");
    let repo = git2::Repository::init(&repo_path)?;
    let gh = sample("github.pat_classic", 4);
    std::fs::write(
        repo_path.join("deploy.sh"),
        format!("export GITHUB_TOKEN={gh}\n"),
    )?;
    let mut idx = repo.index()?;
    idx.add_path(Path::new("deploy.sh"))?;
    idx.write()?;
    let tree = repo.find_tree(idx.write_tree()?)?;
    let sig = git2::Signature::new("Dev", "dev@example.com", &git2::Time::new(1_700_000_000, 0))?;
    let first = repo.commit(Some("HEAD"), &sig, &sig, "add deploy", &tree, &[])?;
    // The token is removed from the working tree, but history keeps it.
    std::fs::write(repo_path.join("deploy.sh"), "export GITHUB_TOKEN=$TOKEN\n")?;
    idx.add_path(Path::new("deploy.sh"))?;
    idx.write()?;
    let tree = repo.find_tree(idx.write_tree()?)?;
    let parent = repo.find_commit(first)?;
    repo.commit(
        Some("HEAD"),
        &sig,
        &sig,
        "use a variable",
        &tree,
        &[&parent],
    )?;
    Ok((dir, repo_path))
}
