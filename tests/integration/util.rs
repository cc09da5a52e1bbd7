//! Shared test helpers: temp trees, running the binary with a cleared environment, fakes.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A temporary directory that files can be written into.
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` at `rel`, creating parent directories.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `patrol ARGS` in `cwd` with a cleared environment (only PATH, and HOME pointing at
/// `cwd` so no user configuration leaks in).
pub fn run_patrol(cwd: &Path, args: &[&str]) -> Output {
    run_patrol_stdin(cwd, args, None)
}

/// Like [`run_patrol`], feeding `stdin`.
pub fn run_patrol_stdin(cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    run_patrol_env(cwd, args, stdin, &[])
}

/// Like [`run_patrol_stdin`], with extra environment variables.
pub fn run_patrol_env(
    cwd: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patrol"));
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run patrol");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A format-valid FAKE token for `rule_id`, from `seed`.
pub fn fake(rule_id: &str, seed: u64) -> String {
    patrol::rules::sample::sample(rule_id, seed).expect("rule has a sample generator")
}

/// Parses JSONL output into values.
pub fn jsonl(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// Runs `patrol ARGS` (cleared environment, as [`run_patrol`]) with `stdin` written to a
/// standard input that stays open, so only Ctrl-C can end the scan; sends SIGINT after a
/// moment and returns what it printed.
pub fn run_patrol_interrupted(cwd: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_patrol"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run patrol");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    input.flush().unwrap();
    // Give patrol a moment to start, install its Ctrl-C handler and read the input.
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: kill with a valid pid and signal number.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    drop(input);
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
