//! TLS to the PostgreSQL datastore (`sslmode`, `sslrootcert`) and `sweep --join`, each test
//! against its own throw-away cluster on 127.0.0.1 (`scripts/pg-test-server.sh`), the TLS one
//! with a CA and server certificate generated here (rcgen). `main.rs` counts them as not run
//! when PostgreSQL's server programs are missing.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::Value;

use crate::pg_server::PgServer;
use crate::sweep_server::{Org, Repo};
use crate::util::{fake, run_patrol_env, TestDir};

/// Never a real credential: it must appear in no output.
const PASSWORD: &str = "pg-tls-canary-password-7d1e";

/// One cluster of the test's own (`PgServer::start_in`), stopped and removed on drop.
struct Cluster {
    /// Held for its drop, which stops the cluster.
    _server: PgServer,
    port: u16,
}

impl Cluster {
    /// Starts a cluster, with TLS when `tls` names a server certificate and key.
    fn start(test: &str, tls: Option<(&Path, &Path)>) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "patrol-pg-tls-{test}-{}-{:x}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() as u32 ^ std::process::id().rotate_left(7)
        ));
        let server = PgServer::start_in(dir, tls)
            .unwrap_or_else(|e| panic!("pg-test-server.sh start failed: {e}"));
        Self {
            port: server.port(),
            _server: server,
        }
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://patrol@{host}:{}/patrol{query}", self.port)
    }
}

/// A CA, a server certificate it signed for `localhost` (only), and a second, unrelated CA.
struct Pki {
    dir: TestDir,
}

impl Pki {
    fn new() -> Self {
        let dir = TestDir::new();
        let ca = |name: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(DnType::CommonName, name);
            CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
        };
        let good = ca("patrol test CA");
        let other = ca("patrol test CA (another)");
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, "localhost");
        let server = p.signed_by(&key, &good).unwrap();
        dir.write("ca.pem", good.pem());
        dir.write("other-ca.pem", other.pem());
        dir.write("server.crt", server.pem());
        dir.write("server.key", key.serialize_pem());
        Self { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

/// Connects as a worker would (URL and environment as given) and asks the server whether this
/// session is encrypted.
fn session_ssl(url: &str) -> Result<bool, String> {
    let (cfg, name) = patrol::store::postgres::config(url).map_err(|e| e.to_string())?;
    let (_, tls) = patrol::store::tls::from_url(url).map_err(|e| e.to_string())?;
    let mut c = tls
        .connect(&cfg)
        .map_err(|e| tls.explain(&e).unwrap_or_else(|| e.to_string()) + " @ " + &name)?;
    let row = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

/// `patrol sweep status` against `url`: the binary's own connection set-up and messages.
fn status(dir: &Path, url: &str, env: &[(&str, &str)]) -> crate::util::Output {
    let mut env = env.to_vec();
    env.push(("PGPASSWORD", PASSWORD));
    run_patrol_env(dir, &["sweep", "status", "--datastore", url], None, &env)
}

pub fn sslmodes_against_a_server_with_a_generated_ca() {
    let pki = Pki::new();
    let (crt, key) = (pki.path("server.crt"), pki.path("server.key"));
    let pg = Cluster::start("modes", Some((Path::new(&crt), Path::new(&key))));
    let ca = pki.path("ca.pem");
    let other = pki.path("other-ca.pem");

    // require: encrypted, the certificate not checked (libpq)
    assert_eq!(
        session_ssl(&pg.url("127.0.0.1", "?sslmode=require")),
        Ok(true)
    );
    // the default (prefer) takes TLS when offered
    assert_eq!(session_ssl(&pg.url("127.0.0.1", "")), Ok(true));
    // disable: plain
    assert_eq!(
        session_ssl(&pg.url("127.0.0.1", "?sslmode=disable")),
        Ok(false)
    );
    // verify-full with the CA that signed it and the name in the certificate
    assert_eq!(
        session_ssl(&pg.url(
            "localhost",
            &format!("?sslmode=verify-full&sslrootcert={ca}")
        )),
        Ok(true)
    );
    // verify-ca checks the chain only: 127.0.0.1 is not in the certificate, and that is fine
    assert_eq!(
        session_ssl(&pg.url("127.0.0.1", &format!("?sslmode=verify-ca&sslrootcert={ca}"))),
        Ok(true)
    );
    // ... but verify-full refuses it
    let e = session_ssl(&pg.url(
        "127.0.0.1",
        &format!("?sslmode=verify-full&sslrootcert={ca}"),
    ))
    .unwrap_err();
    assert!(e.contains("does not name this host"), "{e}");
    // require with a root certificate verifies the chain, as libpq does
    let e = session_ssl(&pg.url(
        "localhost",
        &format!("?sslmode=require&sslrootcert={other}"),
    ))
    .unwrap_err();
    assert!(e.contains("not signed by the CA"), "{e}");

    // The binary: a wrong CA with verify-full is refused at once, in one line naming the
    // datastore's host, never the password.
    let d = TestDir::new();
    let url = pg.url(
        "localhost",
        &format!("?sslmode=verify-full&sslrootcert={other}"),
    );
    let started = Instant::now();
    let out = status(d.path(), &url, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let err = out.stderr.trim();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("postgres://patrol@localhost:{}/patrol", pg.port)),
        "{err}"
    );
    assert!(err.contains("sslmode=verify-full"), "{err}");
    assert!(
        err.contains(&format!("not signed by the CA in {other}")),
        "{err}"
    );
    assert!(!out.stdout.contains(PASSWORD) && !err.contains(PASSWORD));
    // not retried like a server that is away (that goes on for 30 s)
    assert!(started.elapsed() < Duration::from_secs(25), "{err}");

    // The same from PGSSLMODE / PGSSLROOTCERT; with the right CA the connection is made (the
    // database is empty: no datastore in it yet).
    let plain = pg.url("localhost", "");
    let out = status(
        d.path(),
        &plain,
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &other)],
    );
    assert!(out.stderr.contains("not signed by the CA"), "{out:?}");
    let out = status(
        d.path(),
        &plain,
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &ca)],
    );
    assert!(out.stderr.contains("no patrol datastore"), "{out:?}");
    // the URL's sslmode wins over the environment's (libpq)
    let out = status(
        d.path(),
        &pg.url("localhost", "?sslmode=require"),
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &other)],
    );
    assert!(out.stderr.contains("not signed by the CA"), "{out:?}");
    let out = status(
        d.path(),
        &pg.url("localhost", "?sslmode=disable"),
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &other)],
    );
    assert!(out.stderr.contains("no patrol datastore"), "{out:?}");
}

pub fn prefer_falls_back_to_plain_and_require_is_refused_without_tls() {
    let pg = Cluster::start("plain", None);
    assert_eq!(session_ssl(&pg.url("127.0.0.1", "")), Ok(false));
    assert_eq!(
        session_ssl(&pg.url("127.0.0.1", "?sslmode=prefer")),
        Ok(false)
    );
    let d = TestDir::new();
    let out = status(d.path(), &pg.url("127.0.0.1", "?sslmode=require"), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("sslmode=require: server does not support TLS"),
        "{out:?}"
    );
    assert!(out.stderr.contains("127.0.0.1"), "{out:?}");
}

const TOKEN: &str = "loopback-pg-join-credential-3a9e";

/// One sweep worker (`--join` or not), its stderr collected as it comes.
fn worker(org: &Org, dir: &Path, url: &str, join: bool) -> (Child, Arc<Mutex<String>>) {
    let mut cmd = crate::sweep_pg::worker_command(org, dir, url, "5", TOKEN);
    if join {
        cmd.arg("--join");
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start worker");
    let log = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    (child, log)
}

/// Waits for a worker's exit code, killing it (and failing) after `limit`.
fn wait(child: &mut Child, log: &Mutex<String>, limit: Duration) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "worker still running after {limit:?}: {}",
                log.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sweep_status(dir: &Path, url: &str) -> Value {
    let out = run_patrol_env(
        dir,
        &["sweep", "status", "--datastore", url, "--format", "json"],
        None,
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    serde_json::from_str(out.stdout.trim()).unwrap()
}

pub fn a_join_worker_after_a_complete_sweep_waits_for_the_next_one() {
    let pg = Cluster::start("join", None);
    let url = pg.url("127.0.0.1", "?sslmode=disable");
    let org = Org::start(TOKEN);
    for i in 0..2 {
        let s = fake("github.pat_classic", 700 + i);
        org.add(
            Repo::new("p", &format!("r{i}")),
            &[("k.txt", &format!("{s}\n"))],
        );
    }
    let dirs: Vec<TestDir> = (0..3).map(|_| TestDir::new()).collect();
    // Sweep 1, to completion.
    let (mut a, log_a) = worker(&org, dirs[0].path(), &url, false);
    assert_eq!(wait(&mut a, &log_a, Duration::from_secs(120)), 1);
    let s = sweep_status(dirs[0].path(), &url);
    assert_eq!(
        (s["sweep"].as_i64(), s["complete"].as_bool()),
        (Some(1), Some(true)),
        "{s}"
    );

    // A --join worker now: it says it waits, and begins nothing.
    let (mut b, log_b) = worker(&org, dirs[1].path(), &url, true);
    let started = Instant::now();
    while !log_b
        .lock()
        .unwrap()
        .contains("waiting for the next one (--join)")
    {
        assert!(
            b.try_wait().unwrap().is_none(),
            "the --join worker ended: {}",
            log_b.lock().unwrap()
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            log_b.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(b.try_wait().unwrap().is_none(), "{}", log_b.lock().unwrap());
    let s = sweep_status(dirs[1].path(), &url);
    assert_eq!(
        (s["sweep"].as_i64(), s["complete"].as_bool()),
        (Some(1), Some(true)),
        "{s}"
    );

    // A worker without --join begins sweep 2; the waiting worker joins it and both end with
    // its exit code.
    org.push(
        "r0",
        &[(
            "more.txt",
            &format!("{}\n", fake("github.pat_classic", 799)),
        )],
        "more",
    );
    // Slow git: sweep 2 lasts longer than the waiting worker's poll.
    org.set_delay(Duration::from_millis(1500));
    let (mut c, log_c) = worker(&org, dirs[2].path(), &url, false);
    assert_eq!(wait(&mut c, &log_c, Duration::from_secs(120)), 1);
    assert_eq!(wait(&mut b, &log_b, Duration::from_secs(120)), 1);
    let s = sweep_status(dirs[2].path(), &url);
    assert_eq!(
        (s["sweep"].as_i64(), s["complete"].as_bool()),
        (Some(2), Some(true)),
        "{s}"
    );
    let log = log_b.lock().unwrap();
    assert!(log.contains("continuing unfinished sweep 2"), "{log}");
}

pub fn join_needs_a_shared_datastore() {
    let d = TestDir::new();
    let out = run_patrol_env(
        d.path(),
        &[
            "sweep",
            "ado",
            "--org",
            "acme",
            "--join",
            "--datastore",
            "s.db",
        ],
        None,
        &[("AZURE_DEVOPS_EXT_PAT", TOKEN)],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("--join needs a datastore shared"),
        "{out:?}"
    );
}
