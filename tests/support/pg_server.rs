//! A throw-away PostgreSQL cluster on 127.0.0.1 for the tests that need one, started by
//! `scripts/pg-test-server.sh` (initdb, pg_ctl; as the `postgres` user when run as root) and
//! stopped and removed when dropped. With `PATROL_TEST_PG_URL` already set (a server someone
//! started), that server is used and left running.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server: its URL (a database named `patrol`, user `patrol`, trust on loopback)
/// and, when this process started it, its directory.
pub struct PgServer {
    pub url: String,
    owned: Option<PathBuf>,
}

impl PgServer {
    /// The server the environment names, or a new one. `Err` says why none can be had, for
    /// the tests to be counted as not run.
    pub fn start() -> Result<Self, String> {
        if let Ok(url) = std::env::var("PATROL_TEST_PG_URL") {
            return Ok(Self { url, owned: None });
        }
        let dir = std::env::temp_dir().join(format!("patrol-pg-test-{}", std::process::id()));
        let server = Self::start_in(dir.clone(), None).map_err(|why| {
            format!(
                "no PostgreSQL server could be started ({why}); install PostgreSQL's server \
                 programs (apt-get install postgresql) or set PATROL_TEST_PG_URL"
            )
        })?;
        // The tests read these, as they would after `eval "$(scripts/pg-test-server.sh start)"`.
        std::env::set_var("PATROL_TEST_PG_URL", &server.url);
        std::env::set_var("PATROL_TEST_PG_DIR", &dir);
        Ok(server)
    }

    /// A new cluster of this process's own in `dir` (outside any private temp dir: as root it
    /// runs as `postgres`, which must reach it), with TLS when `tls` names a server
    /// certificate and key; stopped and removed when dropped. `Err` is the script's last line.
    pub fn start_in(dir: PathBuf, tls: Option<(&Path, &Path)>) -> Result<Self, String> {
        let mut cmd = Command::new("bash");
        cmd.arg(script())
            .args(["start", dir.to_str().expect("a UTF-8 temp dir")]);
        if let Some((cert, key)) = tls {
            cmd.env("PATROL_PG_SSL_CERT", cert)
                .env("PATROL_PG_SSL_KEY", key);
        }
        let o = cmd
            .output()
            .map_err(|e| format!("cannot run scripts/pg-test-server.sh: {e}"))?;
        if !o.status.success() {
            let stderr = String::from_utf8_lossy(&o.stderr);
            return Err(stderr
                .lines()
                .last()
                .unwrap_or("no reason given")
                .trim()
                .to_string());
        }
        let stdout = String::from_utf8_lossy(&o.stdout);
        let url = stdout
            .lines()
            .find_map(|l| l.strip_prefix("export PATROL_TEST_PG_URL="))
            .ok_or("scripts/pg-test-server.sh printed no URL")?
            .to_string();
        Ok(Self {
            url,
            owned: Some(dir),
        })
    }

    /// The server's port, from its URL.
    pub fn port(&self) -> u16 {
        let after_host = self.url.rsplit_once(':').expect("a URL with a port").1;
        let port = after_host.split('/').next().unwrap_or_default();
        port.parse().expect("a port number")
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(dir) = &self.owned {
            let _ = Command::new("bash")
                .arg(script())
                .arg("stop")
                .arg(dir)
                .status();
        }
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-test-server.sh")
}
