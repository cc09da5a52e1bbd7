//! Tests that need a program patrol does not ship (a PostgreSQL server, a browser) run in
//! their own test binaries with a harness that can say "not run": when the program is
//! missing, each such test is counted as ignored, with the reason on its line and once
//! before the tests run, never as passed. Under `CI=true` a missing program is a failure
//! instead: CI installs everything (`.ci/run`), so a skip there would hide a broken set-up.
#![allow(dead_code)]

use libtest_mimic::{Arguments, Completion, Conclusion, Trial};

/// One test of a prerequisite binary: its name, whether it needs the prerequisite, its body.
pub struct Case {
    pub name: &'static str,
    pub needs: bool,
    pub run: fn(),
}

/// Runs `cases` as the standard harness would (filters, `--list`, the summary line), after
/// `prepare` has made the prerequisite ready or said why it cannot be (`Err(reason)`).
/// `prepare` is called only when a case that needs it passes the command line's filters, and
/// what it returns is kept alive until every case has run.
pub fn run<T>(cases: &[Case], prepare: impl FnOnce() -> Result<T, String>) -> Conclusion {
    let (args, filters) = arguments();
    let selected = |c: &Case| {
        filters.is_empty()
            || filters.iter().any(|f| {
                if args.exact {
                    c.name == f
                } else {
                    c.name.contains(f.as_str())
                }
            })
    };
    let cases: Vec<&Case> = cases.iter().filter(|c| selected(c)).collect();
    let probe = |c: &Case| Trial::test(c.name, || Ok(()));
    let wanted = cases
        .iter()
        .any(|c| c.needs && !args.is_filtered_out(&probe(c)) && !args.list);
    let ready = if wanted { Some(prepare()) } else { None };
    let missing = match &ready {
        Some(Err(reason)) => Some(reason.clone()),
        _ => None,
    };
    if let Some(reason) = &missing {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("a test prerequisite is missing under CI=true: {reason}");
        }
        eprintln!("\nnot run (counted as ignored): {reason}\n");
    }
    let trials = cases
        .into_iter()
        .map(|c| {
            let body = c.run;
            let skip = c.needs.then(|| missing.clone()).flatten();
            // A panic in `body` is the test's failure, as with the standard harness.
            Trial::ignorable_test(c.name, move || match skip {
                Some(reason) => Ok(Completion::ignored_with(reason)),
                None => {
                    body();
                    Ok(Completion::Completed)
                }
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(ready);
    conclusion
}

/// The command line as libtest-mimic reads it, less the name filters, which are returned
/// apart: `cargo test a b` hands every test binary two filters, the standard harness takes
/// any number, libtest-mimic one.
fn arguments() -> (Arguments, Vec<String>) {
    const TAKES_VALUE: &[&str] = &[
        "--skip",
        "--test-threads",
        "--color",
        "--format",
        "--logfile",
    ];
    let mut flags = Vec::new();
    let mut filters = Vec::new();
    let mut raw = std::env::args();
    flags.extend(raw.next());
    while let Some(a) = raw.next() {
        if TAKES_VALUE.contains(&a.as_str()) {
            flags.push(a);
            flags.extend(raw.next());
        } else if a.starts_with('-') {
            flags.push(a);
        } else {
            filters.push(a);
        }
    }
    (Arguments::from_iter(flags), filters)
}
