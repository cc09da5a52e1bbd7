//! The one way patrol starts the `git` executable: every spawn (the staged fast path, the
//! streamed blob reader, the sweep's clones and fetches) is built here, so a hostile
//! repository's configuration and patrol's own secrets stay out of every child.
//!
//! Contract of a [`command`]:
//! - an empty environment plus an allow-list: `PATH` (to find `git` and its helpers) and the
//!   variables set below; no `HOME`, so no user file is read, and nothing else of patrol's
//!   environment (`GITHUB_TOKEN`, `AZURE_DEVOPS_EXT_PAT`, `PGPASSWORD`, SMTP passwords...)
//!   reaches git or anything git starts. A caller passes one more variable by name with
//!   [`keep_env`] (the pre-commit hook's `GIT_INDEX_FILE`);
//! - no system or global configuration (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`,
//!   `GIT_ATTR_NOSYSTEM`), and command-line configuration (`GIT_CONFIG_COUNT`, which wins
//!   over the repository's own `config`) that switches off everything a repository can make
//!   git run: `core.fsmonitor`, hooks (`core.hooksPath=/dev/null`), `core.sshCommand`,
//!   credential helpers and askpass, external diff and textconv (`diff.external` is never
//!   reached: no command patrol runs prints a patch, and `diff-index` also gets
//!   `--no-ext-diff --no-textconv`); filters (`filter.*.clean/smudge`) run only on checkout
//!   or `--filters`, which patrol never asks for (clones are bare mirrors);
//! - protocols: [`Reach::Local`] allows none at all, and sets `GIT_NO_LAZY_FETCH`, so a
//!   repository posing as a partial clone cannot make a local read fetch from (or run the
//!   `uploadpack` of) a "promisor" remote; [`Reach::Network`] allows http and https only
//!   (file too when the caller adds `protocol.file.allow`), never follows redirects, and
//!   passes the CA bundle variables a self-hosted server may need (`GIT_SSL_CAINFO`,
//!   `GIT_SSL_CAPATH`, `SSL_CERT_FILE`, `SSL_CERT_DIR`), not proxies;
//! - a credential travels only as extra configuration given by the caller (the sweep's
//!   `http.extraHeader`), in this child's environment alone: never in argv.

use std::ffi::OsStr;
use std::process::Command;

/// What a git command may reach besides the repository on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Nothing: reads of a local repository (`diff-index`, `cat-file`, `for-each-ref`).
    Local,
    /// A remote over http(s) or a local path (`clone`, `fetch`, `ls-remote`).
    Network,
}

/// Environment variables a network git may see: where to find CA certificates.
const NETWORK_ENV: &[&str] = &[
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// Configuration every git runs with, over the repository's own.
const HARDENING: &[(&str, &str)] = &[
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.sshCommand", "false"),
    ("core.askPass", ""),
    ("credential.helper", ""),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
];

/// `git` (`program`) with a cleared environment and the hardening above, reaching only what
/// `reach` says; `extra` is more configuration (`key`, `value`), given after the hardening
/// (so it can add to it), in the environment only.
pub fn command(program: impl AsRef<OsStr>, reach: Reach, extra: &[(&str, &str)]) -> Command {
    let mut c = Command::new(program);
    c.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        c.env("PATH", path);
    }
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_ATTR_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C");
    let mut cfg: Vec<(&str, &str)> = HARDENING.to_vec();
    match reach {
        Reach::Local => {
            c.env("GIT_NO_LAZY_FETCH", "1")
                .env("GIT_OPTIONAL_LOCKS", "0");
            cfg.push(("protocol.allow", "never"));
        }
        Reach::Network => {
            for name in NETWORK_ENV {
                keep_env(&mut c, name);
            }
            cfg.extend([
                ("protocol.allow", "never"),
                ("protocol.https.allow", "always"),
                ("protocol.http.allow", "always"),
                ("protocol.file.allow", "never"),
                ("http.followRedirects", "false"),
            ]);
        }
    }
    cfg.extend_from_slice(extra);
    c.env("GIT_CONFIG_COUNT", cfg.len().to_string());
    for (i, (k, v)) in cfg.into_iter().enumerate() {
        c.env(format!("GIT_CONFIG_KEY_{i}"), k);
        c.env(format!("GIT_CONFIG_VALUE_{i}"), v);
    }
    c
}

/// Passes patrol's own `name` variable, when set, on to the child `c`.
pub fn keep_env(c: &mut Command, name: &str) {
    if let Some(v) = std::env::var_os(name) {
        c.env(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envs(c: &Command) -> Vec<(String, String)> {
        c.get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
            .collect()
    }

    fn config(c: &Command) -> Vec<(String, String)> {
        let e = envs(c);
        let get = |k: &str| e.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let n: usize = get("GIT_CONFIG_COUNT").unwrap().parse().unwrap();
        (0..n)
            .map(|i| {
                (
                    get(&format!("GIT_CONFIG_KEY_{i}")).unwrap(),
                    get(&format!("GIT_CONFIG_VALUE_{i}")).unwrap(),
                )
            })
            .collect()
    }

    /// A local read allows no protocol and no lazy fetch; the hardening is there either way,
    /// and extra configuration comes last (it wins over an earlier value of the same key).
    #[test]
    fn local_commands_reach_nothing_and_extra_config_comes_last() {
        let local = command("git", Reach::Local, &[]);
        let cfg = config(&local);
        assert!(cfg.contains(&("core.fsmonitor".into(), "false".into())));
        assert!(cfg.contains(&("core.hooksPath".into(), "/dev/null".into())));
        assert!(cfg.contains(&("protocol.allow".into(), "never".into())));
        assert!(!cfg.iter().any(|(k, _)| k.starts_with("protocol.http")));
        assert!(envs(&local).contains(&("GIT_NO_LAZY_FETCH".into(), "1".into())));
        let net = command("git", Reach::Network, &[("http.extraHeader", "X: y")]);
        let cfg = config(&net);
        assert!(cfg.contains(&("protocol.https.allow".into(), "always".into())));
        assert_eq!(
            cfg.last().unwrap(),
            &("http.extraHeader".into(), "X: y".into())
        );
        assert!(!envs(&local).iter().any(|(_, v)| v == "X: y"));
    }
}
