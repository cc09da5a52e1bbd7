//! The embedding contract of the library's front door (`patrol::Scanner`): what a program
//! that scans through the library, not the binary, may rely on.
//!
//! - a `Scanner` is `Send + Sync`: one can be shared by threads, and runs concurrently;
//! - running the same plan twice gives the same findings, in the same order;
//! - a run can be cancelled from the sink (or any thread): it stops and says `interrupted`;
//! - secrets are redacted by default: `Debug`, `Display` and the serde form never hold one;
//! - the sink sees begin / findings / finish once per target, in plan order, with the
//!   target's totals; its own error stops the run and comes back as it is;
//! - history locations name their repository, file locations do not.

use std::sync::atomic::{AtomicBool, Ordering};

use patrol::error::Diagnostics;
use patrol::finding::ScanSummary;
use patrol::scan::plan::{GitTarget, GitWhat, Target};
use patrol::scan::{Counters, RunContext, ScanOutcome};
use patrol::source::git::Selection;
use patrol::{Finding, FindingSink, ScanConfig, ScanPlan, ScanSettings, Scanner};

use crate::git_repo::GitRepoBuilder;
use crate::util::{fake, TestDir};

fn scanner() -> Scanner {
    let settings = ScanSettings {
        no_config: true,
        threads: Some(2),
        ..Default::default()
    };
    Scanner::new(ScanConfig::new(&settings).expect("a valid configuration"))
}

/// A directory with two secrets and a repository whose history holds a third.
struct Fixture {
    dir: TestDir,
    repo: GitRepoBuilder,
    tokens: Vec<String>,
}

fn fixture() -> Fixture {
    let dir = TestDir::new();
    let gh = fake("github.pat_classic", 11);
    let npm = fake("npm.token", 12);
    dir.write("app/settings.py", format!("TOKEN = '{gh}'\n"));
    dir.write(
        "ci/.npmrc",
        format!("//registry.npmjs.org/:_authToken={npm}\n"),
    );
    let repo = GitRepoBuilder::new();
    let ado = fake("azure_devops.pat_legacy", 13);
    repo.commit_files("add", &[("deploy.sh", &format!("PAT={ado}\n"))]);
    repo.commit_files("remove", &[("deploy.sh", "PAT=$PAT\n")]);
    Fixture {
        dir,
        repo,
        tokens: vec![gh, npm, ado],
    }
}

fn plan(f: &Fixture) -> ScanPlan {
    let mut plan = ScanPlan::files([f.dir.path()]);
    plan.push(Target {
        name: "repo".into(),
        files: Vec::new(),
        repositories: vec![GitTarget {
            repo: f.repo.path().to_path_buf(),
            what: GitWhat::History(Selection::AllRefs),
        }],
    });
    plan
}

fn collect(s: &Scanner, plan: &ScanPlan) -> ScanOutcome {
    let (out, diags) = s.collect(plan, &AtomicBool::new(false));
    assert!(out.summary.complete, "{:?}", diags.entries());
    out
}

/// The findings as data, with whole secrets: what two runs must agree on.
fn records(o: &ScanOutcome) -> Vec<serde_json::Value> {
    o.findings
        .iter()
        .map(|f| serde_json::to_value(f.record(true)).unwrap())
        .collect()
}

#[test]
fn a_scanner_is_send_and_sync_and_runs_on_two_threads_at_once() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Scanner>();
    let f = fixture();
    let s = scanner();
    let p = plan(&f);
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(|| collect(&s, &p));
        let b = sc.spawn(|| collect(&s, &p));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(records(&a), records(&b));
    assert_eq!(a.findings.len(), 3);
}

#[test]
fn running_a_plan_twice_gives_the_same_findings_in_the_same_order() {
    let f = fixture();
    let s = scanner();
    let p = plan(&f);
    let first = collect(&s, &p);
    let second = collect(&s, &p);
    assert_eq!(records(&first), records(&second));
    let mut totals = (first.summary.clone(), second.summary.clone());
    totals.0.duration_ms = 0;
    totals.1.duration_ms = 0;
    assert_eq!(totals.0, totals.1);
    let secrets: Vec<&str> = first.findings.iter().map(|f| f.secret.expose()).collect();
    for t in &f.tokens {
        assert!(secrets.contains(&t.as_str()), "{t} not found");
    }
}

/// Records what the scanner pushes; cancels the run when the first target finishes.
#[derive(Default)]
struct Recorder<'c> {
    events: Vec<String>,
    cancel_after_first: Option<&'c AtomicBool>,
    fail_on_finding: bool,
}

#[derive(Debug, PartialEq)]
struct SinkFull;

impl FindingSink for Recorder<'_> {
    type Error = SinkFull;

    fn begin(&mut self, target: &str) -> Result<(), SinkFull> {
        self.events.push(format!("begin {target}"));
        Ok(())
    }

    fn finding(&mut self, f: &Finding) -> Result<(), SinkFull> {
        if self.fail_on_finding {
            return Err(SinkFull);
        }
        self.events.push(format!("finding {}", f.rule));
        Ok(())
    }

    fn finish(&mut self, s: &ScanSummary) -> Result<(), SinkFull> {
        self.events.push(format!("finish {}", s.findings));
        if let Some(c) = self.cancel_after_first {
            c.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[test]
fn the_sink_sees_each_target_in_order_and_a_run_can_be_cancelled() {
    let f = fixture();
    let s = scanner();
    let p = plan(&f);
    let diags = Diagnostics::default();
    let counters = Counters::default();
    let cancel = AtomicBool::new(false);
    let ctx = RunContext {
        diagnostics: &diags,
        counters: &counters,
        cancel: &cancel,
    };
    let mut all = Recorder::default();
    let total = s.run(&p, &mut all, &ctx).unwrap();
    let first = p.targets[0].name.clone();
    assert_eq!(
        all.events,
        [
            format!("begin {first}"),
            "finding github.pat_classic".into(),
            "finding npm.token".into(),
            "finish 2".into(),
            "begin repo".into(),
            "finding azure_devops.pat_legacy".into(),
            "finish 1".into(),
        ]
    );
    assert!(total.complete && !total.interrupted);
    assert_eq!(total.findings, 3);

    let cancel = AtomicBool::new(false);
    let ctx = RunContext {
        cancel: &cancel,
        ..ctx
    };
    let mut stopping = Recorder {
        cancel_after_first: Some(&cancel),
        ..Default::default()
    };
    let total = s.run(&p, &mut stopping, &ctx).unwrap();
    assert_eq!(stopping.events.len(), 4, "{:?}", stopping.events);
    assert!(total.interrupted && !total.complete, "{total:?}");

    // Cancelled before it starts: nothing is read.
    let (out, _) = s.collect(&p, &AtomicBool::new(true));
    assert!(out.findings.is_empty() && out.summary.interrupted && !out.summary.complete);
    assert_eq!(out.summary.blobs_scanned, 0);
}

#[test]
fn a_sink_error_stops_the_run_and_comes_back_as_it_is() {
    let f = fixture();
    let s = scanner();
    let diags = Diagnostics::default();
    let counters = Counters::default();
    let cancel = AtomicBool::new(false);
    let ctx = RunContext {
        diagnostics: &diags,
        counters: &counters,
        cancel: &cancel,
    };
    let mut failing = Recorder {
        fail_on_finding: true,
        ..Default::default()
    };
    assert_eq!(s.run(&plan(&f), &mut failing, &ctx), Err(SinkFull));
    assert_eq!(failing.events.len(), 1, "stopped at the first finding");
}

#[test]
fn secrets_are_redacted_by_default_and_locations_name_their_repository() {
    let f = fixture();
    let out = collect(&scanner(), &plan(&f));
    let debug = format!("{:?}", out.findings);
    let json = serde_json::to_string(&out.findings).unwrap();
    let shown: Vec<String> = out.findings.iter().map(|f| f.secret.to_string()).collect();
    for t in &f.tokens {
        assert!(!debug.contains(t.as_str()), "Debug shows {t}");
        assert!(!json.contains(t.as_str()), "serde shows {t}");
        assert!(
            !shown.iter().any(|s| s.contains(t.as_str())),
            "Display shows {t}"
        );
    }
    // The default serde form reads back as data, with a secret that is marked redacted.
    let back: Vec<Finding> = serde_json::from_str(&json).unwrap();
    assert!(back.iter().all(|f| f.secret.is_redacted()));
    assert_eq!(
        back.iter().map(|f| &f.fingerprint).collect::<Vec<_>>(),
        out.findings
            .iter()
            .map(|f| &f.fingerprint)
            .collect::<Vec<_>>()
    );

    let repo = f.repo.path().display().to_string();
    for finding in &out.findings {
        for l in &finding.locations {
            match &l.commit {
                Some(_) => assert_eq!(l.repository.as_deref(), Some(repo.as_str())),
                None => assert_eq!(l.repository, None),
            }
        }
    }
    assert!(out
        .findings
        .iter()
        .any(|f| f.locations.iter().any(|l| l.repository.is_some())));
}
