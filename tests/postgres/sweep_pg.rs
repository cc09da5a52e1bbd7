//! Many `patrol sweep` workers sharing one sweep through PostgreSQL, against the loopback
//! organisation of `sweep_server`: three workers with one killed (SIGKILL) while it holds a
//! repository, and the database restarted while two workers run.
//!
//! The server is the one `PATROL_TEST_PG_URL` names, which `main.rs` sets after starting a
//! throw-away cluster (or finds already set); each test gets a fresh database on it. The
//! restart test also needs `PATROL_TEST_PG_DIR` to restart that cluster.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::sweep_server::{Org, Repo};
use crate::util::{fake, run_patrol_env, TestDir};

const TOKEN: &str = "loopback-pg-sweep-credential-51c0de";

/// A fresh database for one test on the test server.
fn pg_database(test: &str) -> String {
    let url = std::env::var("PATROL_TEST_PG_URL").expect("main.rs sets PATROL_TEST_PG_URL");
    let (cfg, _) = patrol::store::postgres::config(&url).expect("PATROL_TEST_PG_URL");
    let mut c = cfg.connect(postgres::NoTls).expect("connect");
    let name = format!(
        "it_{test}_{:08x}",
        std::process::id() ^ (Instant::now().elapsed().as_nanos() as u32) ^ rand_u32()
    );
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

fn rand_u32() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    t.subsec_nanos()
}

/// An organisation of `n` repositories, each with its own secret and one shared blob.
fn org(n: u64) -> Org {
    let org = Org::start(TOKEN);
    for i in 0..n {
        let s = fake("github.pat_classic", 300 + i);
        org.add(
            Repo::new("p", &format!("r{i}")),
            &[("k.txt", &format!("{s}\n")), ("same.txt", "shared\n")],
        );
    }
    org
}

/// `patrol sweep ado ... --datastore URL` for one worker with its own cache in `dir`, against
/// the loopback organisation whose credential is `token` (also used by `pg_tls`).
pub fn worker_command(org: &Org, dir: &Path, url: &str, lease: &str, token: &str) -> Command {
    let base = format!("{}/acme", org.base);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patrol"));
    cmd.args([
        "sweep",
        "ado",
        "--org",
        "acme",
        "--api-base",
        &base,
        "--datastore",
        url,
        "--cache",
        dir.join("cache").to_str().unwrap(),
        "--lease",
        lease,
        "--jobs",
        "1",
        "--threads",
        "1",
        "--no-progress",
    ])
    .current_dir(dir)
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .env("HOME", dir)
    .env("GIT_CONFIG_NOSYSTEM", "1")
    .env("AZURE_DEVOPS_EXT_PAT", token);
    cmd
}

/// Starts one worker (see [`worker_command`]).
fn worker(org: &Org, dir: &Path, url: &str, lease: &str) -> Child {
    worker_command(org, dir, url, lease, TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start worker")
}

fn status(dir: &Path, url: &str) -> Option<Value> {
    let out = run_patrol_env(
        dir,
        &["sweep", "status", "--datastore", url, "--format", "json"],
        None,
        &[],
    );
    (out.code == 0).then(|| serde_json::from_str(out.stdout.trim()).expect("status JSON"))
}

fn finish(child: Child, limit: Duration) -> (i32, String) {
    let started = Instant::now();
    let mut child = child;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let _ = st;
            return (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "worker still running after {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Pack responses per repository: how many times each was really fetched.
fn packs(org: &Org, n: u64) -> BTreeMap<String, usize> {
    (0..n)
        .map(|i| {
            let r = format!("r{i}");
            let k = org.git_hits(&r).iter().filter(|h| h.pack).count();
            (r, k)
        })
        .collect()
}

/// Every secret once, every location once, all `n` repositories scanned.
fn assert_whole(dir: &Path, url: &str, n: u64) {
    let s = status(dir, url).expect("status");
    assert_eq!(s["complete"], true, "{s}");
    assert_eq!(s["repositories"]["scanned"].as_u64(), Some(n), "{s}");
    assert_eq!(s["findings"].as_u64(), Some(n), "{s}");
    let out = run_patrol_env(
        dir,
        &["report", "--datastore", url, "--format", "json"],
        None,
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let findings: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(findings.len() as u64, n, "every secret once");
    let mut places = std::collections::BTreeSet::new();
    let mut total = 0;
    for f in &findings {
        for l in f["locations"].as_array().unwrap() {
            total += 1;
            places.insert((
                l["path"].as_str().unwrap().to_string(),
                l["line"].as_u64(),
                l["commit"].as_str().map(str::to_string),
            ));
        }
    }
    assert_eq!(total as u64, n, "one location per secret");
    assert_eq!(places.len(), total, "no location twice");
}

pub fn three_workers_share_a_sweep_and_a_killed_workers_repository_is_taken_over() {
    let url = pg_database("three_workers");
    let n = 9;
    let org = org(n);
    // Slow git so that a worker holds each repository for a while.
    org.set_delay(Duration::from_millis(250));
    let dirs: Vec<TestDir> = (0..3).map(|_| TestDir::new()).collect();
    let mut workers: Vec<Option<Child>> = dirs
        .iter()
        .map(|d| Some(worker(&org, d.path(), &url, "5")))
        .collect();
    let victim_pid = workers[0].as_ref().unwrap().id() as i64;
    // Wait until the victim holds a repository, then kill it.
    let started = Instant::now();
    let held = loop {
        if let Some(s) = status(dirs[0].path(), &url) {
            let pid_of: BTreeMap<String, i64> = s["workers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| {
                    (
                        w["worker"].as_str().unwrap().to_string(),
                        w["pid"].as_i64().unwrap(),
                    )
                })
                .collect();
            let mine = s["in_flight"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|f| pid_of.get(f["worker"].as_str().unwrap()) == Some(&victim_pid));
            if let Some(f) = mine {
                break f["repository"].as_str().unwrap().to_string();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the first worker never claimed a repository"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let victim = workers[0].take().unwrap();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(victim.id() as i32, libc::SIGKILL) };
    let _ = finish(victim, Duration::from_secs(10));
    let mut logs = Vec::new();
    for w in workers.iter_mut().skip(1) {
        let (code, err) = finish(w.take().unwrap(), Duration::from_secs(240));
        assert_eq!(
            code, 1,
            "a surviving worker exits with the sweep's code: {err}"
        );
        logs.push(err);
    }
    assert_whole(dirs[1].path(), &url, n);
    // Only the killed worker's repository may have been fetched twice.
    let held_name = held.rsplit('/').next().unwrap().to_string();
    for (r, k) in packs(&org, n) {
        if r == held_name {
            assert!((1..=2).contains(&k), "{r} fetched {k} times");
        } else {
            assert_eq!(
                k, 1,
                "{r} fetched {k} times (only {held_name} was held by the victim)"
            );
        }
    }
    // Both survivors took part, and their lines name the worker and the repository.
    for l in &logs {
        assert!(
            l.lines()
                .any(|x| x.starts_with("patrol: [") && x.contains("ado:acme/p/r")),
            "{l}"
        );
        assert!(!l.contains(TOKEN));
    }
    let s = status(dirs[1].path(), &url).unwrap();
    assert!(s["in_flight"].as_array().unwrap().is_empty(), "{s}");
    let workers = s["workers"].as_array().unwrap();
    assert!(
        workers
            .iter()
            .any(|w| w["pid"].as_i64() == Some(victim_pid) && w["live"] == false),
        "the killed worker is listed as gone: {s}"
    );
    let human = run_patrol_env(
        dirs[1].path(),
        &["sweep", "status", "--datastore", &url],
        None,
        &[],
    );
    assert!(
        human.stdout.contains("workers: 0 live of 1"),
        "{}",
        human.stdout
    );
}

pub fn workers_ride_out_a_database_restart_and_nothing_is_lost_or_doubled() {
    let url = pg_database("restart");
    let pg_dir = std::env::var("PATROL_TEST_PG_DIR").expect("main.rs sets PATROL_TEST_PG_DIR");
    let n = 8;
    let org = org(n);
    org.set_delay(Duration::from_millis(200));
    let dirs: Vec<TestDir> = (0..2).map(|_| TestDir::new()).collect();
    let workers: Vec<Child> = dirs
        .iter()
        .map(|d| worker(&org, d.path(), &url, "30"))
        .collect();
    let started = Instant::now();
    loop {
        if let Some(s) = status(dirs[0].path(), &url) {
            if s["repositories"]["scanned"].as_u64().unwrap_or(0) >= 1 {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(90), "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-test-server.sh");
    let out = Command::new(script)
        .args(["restart", &pg_dir])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "restart: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for w in workers {
        let (code, err) = finish(w, Duration::from_secs(240));
        assert_eq!(code, 1, "{err}");
    }
    assert_whole(dirs[0].path(), &url, n);
    for (r, k) in packs(&org, n) {
        assert_eq!(k, 1, "{r} fetched {k} times");
    }
}

pub fn a_password_in_the_datastore_url_is_refused_and_never_echoed() {
    let d = TestDir::new();
    let list = d.write("urls.txt", "/nonexistent/repo\n");
    // Put together here: the source holds no whole URL with a password.
    let url = &format!(
        "postgres://patrol:{}@127.0.0.1:1/patrol",
        "hunter2-not-here"
    );
    for args in [
        vec!["sweep", "urls", list.to_str().unwrap(), "--datastore", url],
        vec!["sweep", "status", "--datastore", url],
        vec!["report", "--datastore", url],
    ] {
        let out = run_patrol_env(d.path(), &args, None, &[]);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("password in the datastore URL is refused"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("hunter2") && !out.stdout.contains("hunter2"));
    }
}
