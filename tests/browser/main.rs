//! Tests that need a browser: the HTML report in headless Chromium (`html_report`).
//!
//! A harness of its own (`harness = false`, see `tests/support/prerequisite.rs`): without
//! Chromium on PATH these tests are counted as ignored, with the reason; under `CI=true` a
//! missing browser is a failure.

#[path = "../integration/git_repo.rs"]
mod git_repo;
mod html_report;
#[path = "../support/prerequisite.rs"]
mod prerequisite;
#[path = "../integration/report_history.rs"]
mod report_history;
#[path = "../integration/util.rs"]
mod util;

use prerequisite::Case;

const CASES: &[Case] = &[Case {
    name: "html_report::html_report_renders_in_headless_chromium_without_script_errors",
    needs: true,
    run: html_report::html_report_renders_in_headless_chromium_without_script_errors,
}];

fn main() -> std::process::ExitCode {
    prerequisite::run(CASES, html_report::chromium).exit_code()
}
