//! Remote repositories as a source: bare mirrors in a cache directory, kept up to date with
//! the system `git` CLI (the vendored libgit2 has no HTTPS).
//!
//! Contract:
//! - every `git` is built by [`super::git_command`] (cleared environment, the user's own
//!   configuration switched off, no credential helper, askpass, hooks or fsmonitor, http(s)
//!   and file protocols only), so nothing in `~/.gitconfig` (an `insteadOf`, a proxy, a
//!   credential helper, hooks) changes what is fetched or where a credential goes;
//! - a credential travels only in the environment, as `http.extraHeader` through
//!   `GIT_CONFIG_COUNT` / `GIT_CONFIG_KEY_0` / `GIT_CONFIG_VALUE_0`: never in argv, in a URL, in
//!   the mirror's config or in an error message;
//! - each command runs in its own process group with a deadline; past it the whole group is
//!   killed (git spawns `git-remote-https`, `index-pack`...);
//! - a mirror is cloned into a temporary directory and renamed into place when complete, so
//!   an interrupted clone never looks like a mirror; a mirror whose fetch fails is cloned again
//!   once before the repository is given up;
//! - the URL fetched is the URL the caller decided on (and attached the credential for), every
//!   time: an update fetches that URL by name, never the mirror's recorded `origin`, and a
//!   mirror first cloned from another URL is cloned afresh ([`Mirrored::Recloned`]), so a
//!   credential never follows a stale `remote.origin.url` to another host;
//! - local repositories (`file://`, paths) are reached only when [`GitRunner::allow_local`]
//!   says so (`protocol.file.allow`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::git_command::{self, Reach};
use crate::error::SourceError;

/// A whole `http.extraHeader` value (`Authorization: Basic ...`). Redacted in `Debug`.
#[derive(Clone)]
pub struct GitCredential(String);

impl GitCredential {
    /// Wraps a header line such as `Authorization: Basic <base64>`.
    pub fn header(value: impl Into<String>) -> Self {
        Self(value.into())
    }
}

impl std::fmt::Debug for GitCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GitCredential(<redacted>)")
    }
}

/// How to run git.
#[derive(Debug, Clone)]
pub struct GitRunner {
    /// The `git` program.
    pub program: PathBuf,
    /// Deadline of one command (clone, fetch, ls-remote).
    pub timeout: Duration,
    /// When set (Ctrl-C), a running git is killed with its process group at once.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Whether `file://` URLs and local paths may be cloned and fetched (off unless the user
    /// named the repositories: a listing API must not point git at the machine's own files).
    pub allow_local: bool,
}

impl Default for GitRunner {
    fn default() -> Self {
        Self {
            program: PathBuf::from("git"),
            timeout: Duration::from_secs(30 * 60),
            cancel: None,
            allow_local: false,
        }
    }
}

/// A ref and its object id (hex).
pub type Tip = (String, String);

/// What [`GitRunner::mirror`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirrored {
    /// A complete mirror of the same URL was brought up to date.
    Fetched,
    /// No complete mirror was there (or its fetch failed): cloned afresh.
    Cloned,
    /// The mirror there had been cloned from another URL: cloned afresh from the URL asked for.
    Recloned {
        /// The URL it had been cloned from (as it may be shown).
        was: String,
    },
}

fn fail(what: &str, reason: impl Into<String>) -> SourceError {
    SourceError::Git {
        oid: what.to_string(),
        reason: reason.into(),
    }
}

impl GitRunner {
    fn command(&self, cred: Option<&GitCredential>) -> Command {
        let header = cred.map(|cr| cr.0.as_str());
        // Local repositories only when the user named them (`sweep urls`): a listing API must
        // not point git at this machine's files.
        let file = if self.allow_local { "always" } else { "never" };
        let mut extra = vec![
            ("transfer.fsckObjects", "false"),
            ("protocol.file.allow", file),
        ];
        extra.extend(header.map(|h| ("http.extraHeader", h)));
        let mut c = git_command::command(&self.program, Reach::Network, &extra);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            c.process_group(0);
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl(2) is async-signal-safe; it only sets this child's parent-death
            // signal, so a git whose patrol was SIGKILLed dies too instead of writing on.
            unsafe {
                c.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        c
    }

    /// Runs `git args` with the deadline; returns stdout, or an error with git's last
    /// stderr line (which never holds the credential: it is not in argv or the URL).
    fn run(
        &self,
        what: &str,
        args: &[&std::ffi::OsStr],
        cred: Option<&GitCredential>,
    ) -> Result<Vec<u8>, SourceError> {
        let mut c = self.command(cred);
        c.args(args);
        let mut child = c
            .spawn()
            .map_err(|e| fail(what, format!("cannot run git: {e}")))?;
        let mut out = child.stdout.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        let t_out = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = out.read_to_end(&mut b);
            b
        });
        let t_err = std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = err.read_to_end(&mut b);
            b
        });
        let deadline = Instant::now() + self.timeout;
        let cancelled = || {
            self.cancel
                .as_ref()
                .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
        };
        let mut interrupted = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if cancelled() => {
                    kill_group(&mut child);
                    interrupted = true;
                    break None;
                }
                Ok(None) if Instant::now() >= deadline => {
                    kill_group(&mut child);
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(fail(what, e.to_string())),
            }
        };
        let stdout = t_out.join().unwrap_or_default();
        let stderr = t_err.join().unwrap_or_default();
        match status {
            None if interrupted => Err(fail(what, "interrupted (git killed)")),
            None => Err(fail(
                what,
                format!("timed out after {} s (git killed)", self.timeout.as_secs()),
            )),
            Some(s) if s.success() => Ok(stdout),
            Some(s) => {
                let text = String::from_utf8_lossy(&stderr);
                let line = text
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim();
                Err(fail(
                    what,
                    format!(
                        "git failed ({}): {line}",
                        s.code().map_or("signal".into(), |c| format!("exit {c}"))
                    ),
                ))
            }
        }
    }

    /// The remote's refs (branches, tags, others), without `HEAD` and peeled `^{}` entries,
    /// sorted. Asks only for the ref advertisement: no pack is transferred.
    pub fn ls_remote(
        &self,
        url: &str,
        cred: Option<&GitCredential>,
    ) -> Result<Vec<Tip>, SourceError> {
        let out = self.run(
            &format!("ls-remote {}", redact_url(url)),
            &["ls-remote".as_ref(), "--".as_ref(), url.as_ref()],
            cred,
        )?;
        Ok(parse_tips(&out, '\t'))
    }

    /// The refs of a local mirror, sorted (same form as [`GitRunner::ls_remote`]).
    pub fn local_tips(&self, mirror: &Path) -> Result<Vec<Tip>, SourceError> {
        let out = self.run(
            &format!("mirror {}", mirror.display()),
            &[
                "-C".as_ref(),
                mirror.as_os_str(),
                "for-each-ref".as_ref(),
                "--format=%(objectname) %(refname)".as_ref(),
            ],
            None,
        )?;
        let text = String::from_utf8_lossy(&out);
        let mut v: Vec<Tip> = text
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(o, r)| (r.to_string(), o.to_string()))
            .collect();
        v.sort();
        Ok(v)
    }

    /// Brings the bare mirror at `dir` up to date with `url`: an incremental fetch of `url`
    /// when a complete mirror of that same URL is there, else a fresh `clone --mirror` (into a
    /// temporary directory, renamed into place). A failed fetch is retried once as a fresh
    /// clone.
    pub fn mirror(
        &self,
        url: &str,
        dir: &Path,
        cred: Option<&GitCredential>,
    ) -> Result<Mirrored, SourceError> {
        let what = format!("fetch {}", redact_url(url));
        let mut done = Mirrored::Cloned;
        if is_complete_mirror(dir) {
            match self.origin_url(dir) {
                Some(was) if was == url => {
                    remove_stale_locks(dir);
                    // The URL itself, not `origin`: what is fetched is what was decided on.
                    let fetched = self.run(
                        &what,
                        &[
                            "-C".as_ref(),
                            dir.as_os_str(),
                            "fetch".as_ref(),
                            "--prune".as_ref(),
                            "--no-write-fetch-head".as_ref(),
                            "--quiet".as_ref(),
                            "--".as_ref(),
                            url.as_ref(),
                            "+refs/*:refs/*".as_ref(),
                        ],
                        cred,
                    );
                    if fetched.is_ok() {
                        return Ok(Mirrored::Fetched);
                    }
                }
                Some(was) => {
                    done = Mirrored::Recloned {
                        was: redact_url(&was),
                    }
                }
                None => {}
            }
        }
        self.clone_fresh(&what, url, dir, cred)?;
        Ok(done)
    }

    /// The URL the mirror at `dir` was cloned from (`remote.origin.url` of its own config).
    fn origin_url(&self, dir: &Path) -> Option<String> {
        let out = self
            .run(
                &format!("mirror {}", dir.display()),
                &[
                    "-C".as_ref(),
                    dir.as_os_str(),
                    "config".as_ref(),
                    "--local".as_ref(),
                    "--get".as_ref(),
                    "remote.origin.url".as_ref(),
                ],
                None,
            )
            .ok()?;
        let url = String::from_utf8_lossy(&out).trim_end().to_string();
        (!url.is_empty()).then_some(url)
    }

    fn clone_fresh(
        &self,
        what: &str,
        url: &str,
        dir: &Path,
        cred: Option<&GitCredential>,
    ) -> Result<(), SourceError> {
        let parent = dir.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| fail(what, e.to_string()))?;
        remove_partials(dir);
        let tmp = tmp_dir(dir);
        let res = self.run(
            what,
            &[
                "clone".as_ref(),
                "--mirror".as_ref(),
                "--quiet".as_ref(),
                "--".as_ref(),
                url.as_ref(),
                tmp.as_os_str(),
            ],
            cred,
        );
        if let Err(e) = res {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        std::fs::write(tmp.join(COMPLETE_MARK), b"").map_err(|e| fail(what, e.to_string()))?;
        let _ = std::fs::remove_dir_all(dir);
        std::fs::rename(&tmp, dir).map_err(|e| fail(what, e.to_string()))
    }
}

/// Written last into a fresh clone: a mirror without it is half-written.
const COMPLETE_MARK: &str = "patrol-mirror-complete";

/// `<mirror>.partial-<pid>`: a clone in progress (or one a killed run left behind).
fn tmp_dir(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}", std::process::id()));
    dir.with_file_name(name)
}

/// Removes what interrupted clones of this mirror left behind.
fn remove_partials(dir: &Path) {
    let Some(parent) = dir.parent() else { return };
    let mut prefix = dir.file_name().unwrap_or_default().to_os_string();
    prefix.push(".partial-");
    let prefix = prefix.to_string_lossy().into_owned();
    let Ok(rd) = std::fs::read_dir(parent) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn is_complete_mirror(dir: &Path) -> bool {
    dir.join(COMPLETE_MARK).is_file() && dir.join("HEAD").is_file() && dir.join("objects").is_dir()
}

/// Lock files a killed git leaves behind; the sweep holds its mirror alone, so any lock
/// present before a fetch starts is stale.
fn remove_stale_locks(dir: &Path) {
    for f in [
        "packed-refs.lock",
        "shallow.lock",
        "config.lock",
        "HEAD.lock",
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    fn walk(d: &Path) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p);
            } else if p.extension().is_some_and(|x| x == "lock") {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    walk(&dir.join("refs"));
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        // SAFETY: kill(2) with a negative pid signals the process group the child leads
        // (spawned with process_group(0)); no memory is touched.
        unsafe {
            libc::kill(-(child.id() as i32), libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn parse_tips(out: &[u8], sep: char) -> Vec<Tip> {
    let text = String::from_utf8_lossy(out);
    let mut v: Vec<Tip> = text
        .lines()
        .filter_map(|l| l.split_once(sep))
        .filter(|(_, r)| *r != "HEAD" && !r.ends_with("^{}"))
        .map(|(o, r)| (r.to_string(), o.to_string()))
        .collect();
    v.sort();
    v
}

/// A URL as it may be shown: any user info replaced by `***`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (auth, tail) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if let Some((_, host)) = auth.rsplit_once('@') {
            return format!("{scheme}://***@{host}{tail}");
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tips_drop_head_and_peeled_entries_and_sort() {
        let out = b"aa\tHEAD\nbb\trefs/tags/v1\ncc\trefs/tags/v1^{}\ndd\trefs/heads/main\n";
        assert_eq!(
            parse_tips(out, '\t'),
            vec![
                ("refs/heads/main".to_string(), "dd".to_string()),
                ("refs/tags/v1".to_string(), "bb".to_string())
            ]
        );
    }

    #[test]
    fn user_info_never_shows_in_a_displayed_url() {
        assert_eq!(
            redact_url("https://me:tok@example.com/a/b.git"),
            "https://***@example.com/a/b.git"
        );
        assert_eq!(redact_url("/srv/repo"), "/srv/repo");
    }

    #[test]
    fn credential_debug_is_redacted() {
        let c = GitCredential::header("Authorization: Basic c2VjcmV0");
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
    }

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    /// A bare repository at `root/name.git` with one commit on `branch`.
    fn bare(root: &Path, name: &str, branch: &str) -> String {
        let w = root.join(format!("{name}-work"));
        git(root, &["init", "-q", "-b", branch, w.to_str().unwrap()]);
        git(&w, &["commit", "-q", "--allow-empty", "-m", name]);
        let b = root.join(format!("{name}.git"));
        git(
            root,
            &[
                "clone",
                "-q",
                "--bare",
                w.to_str().unwrap(),
                b.to_str().unwrap(),
            ],
        );
        b.display().to_string()
    }

    #[test]
    fn a_mirror_cloned_from_another_url_is_cloned_afresh_from_the_url_asked_for() {
        let root = tempfile::tempdir().unwrap();
        let a = bare(root.path(), "a", "from-a");
        let b = bare(root.path(), "b", "from-b");
        let git = GitRunner {
            allow_local: true,
            ..GitRunner::default()
        };
        let dir = root.path().join("cache/m.git");
        assert_eq!(git.mirror(&b, &dir, None).unwrap(), Mirrored::Cloned);
        assert_eq!(git.mirror(&b, &dir, None).unwrap(), Mirrored::Fetched);
        assert_eq!(
            git.mirror(&a, &dir, None).unwrap(),
            Mirrored::Recloned { was: b.clone() }
        );
        let refs: Vec<String> = git
            .local_tips(&dir)
            .unwrap()
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(refs, vec!["refs/heads/from-a".to_string()]);
    }

    #[test]
    fn local_repositories_are_refused_unless_allowed() {
        let root = tempfile::tempdir().unwrap();
        let a = bare(root.path(), "a", "main");
        let git = GitRunner::default();
        let dir = root.path().join("cache/m.git");
        let e = git.mirror(&a, &dir, None).unwrap_err().to_string();
        assert!(e.contains("not allowed"), "{e}");
        let e = git.mirror(&format!("file://{a}"), &dir, None).unwrap_err();
        assert!(e.to_string().contains("not allowed"), "{e}");
        assert!(!dir.exists());
    }
}
