//! Where a sweep's git traffic goes, against two loopback hosts (`sweep_server`): host A
//! serves the listing, host B is another host. The credential goes only to the listing's git
//! host, the URL fetched is the URL the listing gives now (a mirror first cloned from another
//! host is never fetched from there again), one datastore and cache serve two listing hosts
//! without mixing them, and a hostile or malformed listing entry is refused or recorded with
//! its reason while the rest of the listing goes on (issue #26, items 1, 5 and 6).

use std::path::Path;

use serde_json::{json, Value};

use crate::sweep_server::{Org, Repo};
use crate::util::{fake, run_patrol_env, Output, TestDir};

const TOKEN_A: &str = "listing-host-a-credential-51c0de";
const TOKEN_B: &str = "listing-host-b-credential-9ab7e2";

fn github(dir: &Path, api: &str, token: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "sweep",
        "github",
        "--org",
        "acme",
        "--api-url",
        api,
        "--no-progress",
        "--threads",
        "2",
    ];
    args.extend_from_slice(extra);
    run_patrol_env(dir, &args, None, &[("GITHUB_TOKEN", token)])
}

fn status(dir: &Path) -> Value {
    let out = run_patrol_env(dir, &["sweep", "status", "--format", "json"], None, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(out.stdout.trim()).expect("status JSON")
}

/// Every (repository, path) with a finding in the datastore.
fn found(dir: &Path) -> Vec<(String, String)> {
    let out = run_patrol_env(dir, &["report", "--format", "json"], None, &[]);
    let v: Vec<Value> =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
    let mut places: Vec<(String, String)> = v
        .iter()
        .flat_map(|f| f["locations"].as_array().unwrap().clone())
        .map(|l| {
            (
                l["repository"].as_str().unwrap().to_string(),
                l["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    places.sort();
    places.dedup();
    places
}

fn git_requests(org: &Org) -> Vec<String> {
    org.log()
        .iter()
        .filter(|h| h.url.starts_with("/git/"))
        .map(|h| format!("{} {}", h.method, h.url))
        .collect()
}

/// The reproduction: the listing first gives a clone URL on host B (fetched without a
/// credential), then the same repository on the listing host A. The second sweep fetches from
/// A with the credential, B never sees it, and the move is noted.
#[test]
fn a_clone_url_that_moves_to_the_listing_host_is_fetched_there_and_the_token_never_reaches_the_old_host(
) {
    let a = Org::start(TOKEN_A);
    let b = Org::start("host-b-own-credential");
    b.set_public(true);
    let on_b = fake("github.pat_classic", 301);
    let on_a = fake("github.pat_classic", 302);
    b.add(Repo::new("p", "app"), &[("b.txt", &format!("{on_b}\n"))]);
    let mut app = Repo::new("p", "app");
    app.other_host = Some(b.base.clone());
    a.add(app, &[("a.txt", &format!("{on_a}\n"))]);

    let d = TestDir::new();
    let first = github(d.path(), &a.base, TOKEN_A, &[]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first
            .stderr
            .contains("github:acme/app: clone URL is not on the listing API's host"),
        "{}",
        first.stderr
    );
    assert!(!git_requests(&b).is_empty(), "the first clone is from B");
    assert!(git_requests(&a).is_empty(), "{:?}", git_requests(&a));
    assert_eq!(
        found(d.path()),
        vec![("github:acme/app".into(), "b.txt".into())]
    );

    // The listing now gives the repository on its own host.
    a.set_other_host("app", None);
    b.clear_log();
    let second = github(d.path(), &a.base, TOKEN_A, &[]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    for h in b.log() {
        assert!(
            !h.carries(TOKEN_A) && h.authorization.is_none(),
            "host B received a credential: {h:?}"
        );
    }
    assert!(
        git_requests(&b).is_empty(),
        "the second sweep went to the old host: {:?}",
        git_requests(&b)
    );
    let a_git: Vec<_> = a
        .log()
        .into_iter()
        .filter(|h| h.url.starts_with("/git/app.git/"))
        .collect();
    assert!(a_git.iter().any(|h| h.pack), "A served the pack: {a_git:?}");
    assert!(a_git.iter().all(|h| h.authorized), "{a_git:?}");
    assert!(
        second.stderr.contains("github:acme/app: clone URL changed"),
        "the move is noted: {}",
        second.stderr
    );
    let s = status(d.path());
    assert_eq!(s["complete"], true);
    assert_eq!(s["repositories"]["scanned"], 1);
    assert!(
        found(d.path()).contains(&("github:acme/app".into(), "a.txt".into())),
        "A's content was read: {:?}",
        found(d.path())
    );
}

/// One datastore and one cache for two listing hosts with the same organisation name: each
/// host's token goes only to that host, each host's commits are fetched from that host.
#[test]
fn one_datastore_and_cache_for_two_listing_hosts_keeps_each_token_and_each_mirror_to_its_host() {
    let a = Org::start(TOKEN_A);
    let b = Org::start(TOKEN_B);
    let on_a = fake("github.pat_classic", 311);
    let on_b = fake("github.pat_classic", 312);
    a.add(Repo::new("p", "app"), &[("a.txt", &format!("{on_a}\n"))]);
    b.add(Repo::new("p", "app"), &[("b.txt", &format!("{on_b}\n"))]);

    let d = TestDir::new();
    let first = github(d.path(), &a.base, TOKEN_A, &[]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    let second = github(d.path(), &b.base, TOKEN_B, &[]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    for h in a.log() {
        assert!(!h.carries(TOKEN_B), "host A received B's token: {h:?}");
    }
    for h in b.log() {
        assert!(!h.carries(TOKEN_A), "host B received A's token: {h:?}");
    }
    assert!(
        b.git_hits("app").iter().any(|h| h.pack && h.authorized),
        "B's repository was fetched from B: {:?}",
        b.git_hits("app")
    );
    assert!(
        found(d.path()).contains(&("github:acme/app".into(), "b.txt".into())),
        "{:?}",
        found(d.path())
    );

    // A new commit on B is fetched from B by the next sweep of B, and A is not asked.
    let later = fake("github.pat_classic", 313);
    b.push("app", &[("later.txt", &format!("{later}\n"))], "later");
    a.clear_log();
    b.clear_log();
    let third = github(d.path(), &b.base, TOKEN_B, &[]);
    assert_eq!(third.code, 1, "{}", third.stderr);
    assert!(git_requests(&a).is_empty(), "{:?}", git_requests(&a));
    assert!(b.git_hits("app").iter().any(|h| h.pack));
    let s = status(d.path());
    assert_eq!(s["complete"], true);
    assert_eq!(s["new_findings"], 1, "{s}");
    assert!(found(d.path()).contains(&("github:acme/app".into(), "later.txt".into())));
    for o in [&first, &second, &third] {
        for t in [TOKEN_A, TOKEN_B] {
            assert!(!o.stderr.contains(t) && !o.stdout.contains(t));
        }
    }
}

/// A listing API that answers with a `file://` URL or a local path does not make the sweep
/// read a repository of the machine it runs on (only `sweep urls` does that).
#[test]
fn a_listing_that_points_at_local_repositories_is_refused() {
    let a = Org::start(TOKEN_A);
    let local = fake("github.pat_classic", 321);
    let remote = fake("github.pat_classic", 322);
    a.add(
        Repo::new("p", "private"),
        &[("k.txt", &format!("{local}\n"))],
    );
    let bare = a.bare("private");
    let mut by_url = Repo::new("p", "by-url");
    by_url.clone_url = Some(format!("file://{}", bare.display()));
    a.add(by_url, &[]);
    let mut by_path = Repo::new("p", "by-path");
    by_path.clone_url = Some(bare.display().to_string());
    a.add(by_path, &[]);
    a.add(Repo::new("p", "good"), &[("g.txt", &format!("{remote}\n"))]);
    // The listing names only the three: "private" is reachable only through the local paths.
    let d = TestDir::new();
    let out = github(
        d.path(),
        &a.base,
        TOKEN_A,
        &["--exclude-repo", "github:acme/private"],
    );
    assert!(out.code == 1 || out.code == 2, "{}", out.stderr);
    for name in ["by-url", "by-path"] {
        assert!(
            out.stderr.contains(&format!(
                "skipped github:acme/{name}: clone URL is not http(s)"
            )),
            "{name}: {}",
            out.stderr
        );
    }
    assert_eq!(
        found(d.path()),
        vec![("github:acme/good".into(), "g.txt".into())],
        "nothing was read from the local repository"
    );
    let s = status(d.path());
    assert_eq!(s["repositories"]["scanned"], 1);

    // `sweep urls` still reads local paths: the user named them.
    let d2 = TestDir::new();
    let list = d2.write("repos.txt", format!("{}\n", bare.display()));
    let urls = run_patrol_env(
        d2.path(),
        &["sweep", "urls", list.to_str().unwrap(), "--no-progress"],
        None,
        &[],
    );
    assert_eq!(urls.code, 1, "{}", urls.stderr);
}

/// One listing entry that cannot be read (a GitLab fork whose `forked_from_project` lacks a
/// field, a project whose clone URL is not a string) does not stop the listing.
#[test]
fn an_unreadable_listing_entry_is_recorded_with_its_reason_and_the_rest_is_swept() {
    let a = Org::start(TOKEN_A);
    let s1 = fake("github.pat_classic", 331);
    let s2 = fake("github.pat_classic", 332);
    a.add(Repo::new("p", "parent"), &[("a.txt", "clean\n")]);
    let mut fork = Repo::new("p", "fork");
    fork.fork_of = Some("parent".into());
    fork.listing_patch = Some(json!({"forked_from_project": {"id": 7}}));
    a.add(fork, &[("f.txt", &format!("{s1}\n"))]);
    let mut broken = Repo::new("p", "broken");
    broken.listing_patch = Some(json!({"http_url_to_repo": null}));
    a.add(broken, &[("x.txt", "x\n")]);
    a.add(Repo::new("p", "good"), &[("g.txt", &format!("{s2}\n"))]);

    let d = TestDir::new();
    let out = run_patrol_env(
        d.path(),
        &[
            "sweep",
            "gitlab",
            "--group",
            "grp",
            "--url",
            &a.base,
            "--include-forks",
            "--no-progress",
        ],
        None,
        &[("GITLAB_TOKEN", TOKEN_A)],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("skipped gitlab:grp/p/broken: unreadable listing entry"),
        "{}",
        out.stderr
    );
    let s = status(d.path());
    assert_eq!(s["repositories"]["listed"], 4, "{s}");
    assert_eq!(s["repositories"]["scanned"], 3, "{s}");
    assert_eq!(s["repositories"]["skipped"], 1, "{s}");
    let not: Vec<String> = s["not_scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| format!("{} {}", n["repository"], n["reason"]))
        .collect();
    assert!(
        not.iter()
            .any(|n| n.contains("gitlab:grp/p/broken") && n.contains("http_url_to_repo")),
        "{not:?}"
    );
    let places = found(d.path());
    assert!(places.contains(&("gitlab:grp/p/fork".into(), "f.txt".into())));
    assert!(places.contains(&("gitlab:grp/p/good".into(), "g.txt".into())));
}
