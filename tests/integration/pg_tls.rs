//! TLS to the PostgreSQL datastore (`sslmode`, `sslrootcert`), each test against its own
//! throw-away cluster on 127.0.0.1 (`scripts/pg-test-server.sh`), the TLS one
//! with a CA and server certificate generated here (rcgen). Without the PostgreSQL server
//! programs these tests fail under `CI=true` and are skipped loudly otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{run_patrol_env, TestDir};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// Never a real credential: it must appear in no output.
const PASSWORD: &str = "pg-tls-canary-password-7d1e";

/// One cluster, stopped and removed on drop.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

fn script() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-test-server.sh")
}

impl Cluster {
    /// Starts a cluster, with TLS when `tls` names a server certificate and key.
    fn start(test: &str, tls: Option<(&Path, &Path)>) -> Option<Self> {
        // Outside any private temp dir: as root the cluster runs as `postgres`, which must
        // reach it.
        let dir = std::env::temp_dir().join(format!(
            "patrol-pg-tls-{test}-{}-{:x}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() as u32 ^ std::process::id().rotate_left(7)
        ));
        let mut cmd = Command::new("bash");
        cmd.args([script(), "start", dir.to_str().unwrap()]);
        if let Some((cert, key)) = tls {
            cmd.env("PATROL_PG_SSL_CERT", cert)
                .env("PATROL_PG_SSL_KEY", key);
        }
        let out = cmd.output().expect("run pg-test-server.sh");
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            if std::env::var("CI").is_ok_and(|v| v == "true") || !err.contains("not found") {
                panic!("pg-test-server.sh start failed: {err}");
            }
            eprintln!("\n!!! SKIPPED {test}: no PostgreSQL server programs ({err}) !!!\n");
            return None;
        }
        let port = std::fs::read_to_string(dir.join("port"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Some(Self { dir, port })
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://patrol@{host}:{}/patrol{query}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .args([script(), "stop", self.dir.to_str().unwrap()])
            .output();
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

#[test]
fn sslmodes_against_a_server_with_a_generated_ca() {
    let pki = Pki::new();
    let (crt, key) = (pki.path("server.crt"), pki.path("server.key"));
    let Some(pg) = Cluster::start("modes", Some((Path::new(&crt), Path::new(&key)))) else {
        return;
    };
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

#[test]
fn prefer_falls_back_to_plain_and_require_is_refused_without_tls() {
    let Some(pg) = Cluster::start("plain", None) else {
        return;
    };
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
