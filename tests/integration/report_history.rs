//! A history for the report tests: an Azure DevOps PAT added, then a GitHub token under a
//! file name that is markup (shared by `report_formats` and the browser test).

use crate::util::fake;

/// A repository whose history adds an Azure DevOps PAT, then a GitHub token under a file
/// name that is markup.
pub fn history() -> (crate::git_repo::GitRepoBuilder, Vec<String>) {
    let g = crate::git_repo::GitRepoBuilder::new();
    let pat = fake("azure_devops.pat", 31);
    let gh = fake("github.pat_classic", 32);
    g.commit_files("init", &[("README.md", "hello\n")]);
    g.commit_files("ci", &[("deploy/ci.sh", &format!("export PAT={pat}\n"))]);
    g.commit_files(
        "env",
        &[("<img src=x onerror=alert(1)>.env", &format!("GH={gh}\n"))],
    );
    (g, vec![pat, gh])
}
