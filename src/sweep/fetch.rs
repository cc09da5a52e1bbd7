//! Fetching one claimed repository, on a fetch thread: the unchanged check against its
//! watermark, else an incremental mirror fetch of the URL decided on (the credential only for
//! the listing API's git hosts), and where each mirror lives.

use std::path::{Path, PathBuf};

use base64::Engine;

use super::inventory::Source;
use super::refs;
use super::SweepOptions;
use crate::finding::Secret;
use crate::provider::http::{Auth, HttpClient};
use crate::source::remote::redact_url;
use crate::source::remote::{GitCredential, Mirrored, Tip};
use crate::store::RepoEntry;

/// The watermark of a repository scanned with no refs at all (so that it is `unchanged`
/// next time, not "never scanned").
pub(super) static NO_REFS: std::sync::LazyLock<Tip> =
    std::sync::LazyLock::new(|| ("(no refs)".to_string(), String::new()));

/// The pseudo-ref of a watermark that holds the clone URL the tips were read from: a
/// watermark taken at one URL never says "unchanged" for another (two hosts, a moved
/// repository), and a changed URL is noticed.
pub(super) const URL_REF: &str = "(clone url)";

/// The watermark of `tips` read from `clone_url`, in the store's order.
pub(super) fn watermark_of(tips: &[Tip], clone_url: &str) -> Vec<Tip> {
    let mut w = if tips.is_empty() {
        vec![NO_REFS.clone()]
    } else {
        tips.to_vec()
    };
    w.push((URL_REF.to_string(), clone_url.to_string()));
    w.sort();
    w
}

/// What a fetch worker hands to the writer.
pub(super) struct Fetched {
    /// The repository.
    pub(super) repo: RepoEntry,
    /// Its refs unchanged, its mirror fetched, or why not.
    pub(super) outcome: Result<FetchOutcome, String>,
    /// Lines for the user (a clone URL that changed...).
    pub(super) notes: Vec<String>,
}

/// Whether a listing API's clone URL may be fetched: http(s) only. A `file://` URL or a path
/// would make the sweep read a repository of the machine it runs on; only `sweep urls` (the
/// user's own list) does that.
pub(super) fn remote_url_ok(source: &Source, clone_url: &str) -> bool {
    matches!(source, Source::Urls { .. })
        || reqwest::Url::parse(clone_url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// What fetching a repository gave.
pub(super) enum FetchOutcome {
    /// The remote's refs equal the watermark: nothing fetched.
    Unchanged,
    /// The mirror is up to date at `tips`.
    Fetched { mirror: PathBuf, tips: Vec<Tip> },
}

pub(super) fn fetch_one(
    opts: &SweepOptions,
    ref_client: &HttpClient,
    r: &RepoEntry,
    mark: Option<&Vec<crate::store::RefTip>>,
    cred: Option<&GitCredential>,
    auth: &Auth,
) -> Fetched {
    let mut notes = Vec::new();
    let outcome = fetch_checked(opts, ref_client, r, mark, cred, auth, &mut notes);
    Fetched {
        repo: r.clone(),
        outcome,
        notes,
    }
}

pub(super) fn fetch_checked(
    opts: &SweepOptions,
    ref_client: &HttpClient,
    r: &RepoEntry,
    mark: Option<&Vec<crate::store::RefTip>>,
    cred: Option<&GitCredential>,
    auth: &Auth,
    notes: &mut Vec<String>,
) -> Result<FetchOutcome, String> {
    if !remote_url_ok(&opts.source, &r.clone_url) {
        // A plan written before this check (or by hand): refuse here too.
        return Err(format!("{NOT_HTTP}: {}", redact_url(&r.clone_url)));
    }
    let mirror = mirror_for(&opts.cache, &r.key, &r.clone_url);
    let mark = mark.filter(|m| !m.is_empty());
    let was = mark.and_then(|m| m.iter().find(|(n, _)| n == URL_REF).map(|(_, u)| u));
    if let Some(was) = was.filter(|w| *w != &r.clone_url) {
        notes.push(moved_note(&r.key, was, &r.clone_url));
    }
    if let Some(mark) = mark {
        let is_http = r.clone_url.starts_with("https://") || r.clone_url.starts_with("http://");
        // One in-process request for HTTP remotes; `git ls-remote` for the rest. A failed
        // check is not a verdict: the fetch below says what is wrong.
        let remote = if is_http {
            refs::advertised(ref_client, &r.clone_url, auth).ok()
        } else {
            opts.git.ls_remote(&r.clone_url, cred).ok()
        };
        if let Some(remote) = remote {
            // Compared in one order whatever order the datastore's collation gave.
            let mut mark = mark.clone();
            mark.sort();
            if watermark_of(&remote, &r.clone_url) == mark {
                return Ok(FetchOutcome::Unchanged);
            }
        }
    }
    let done = opts
        .git
        .mirror(&r.clone_url, &mirror, cred)
        .map_err(|e| e.to_string())?;
    if let (Mirrored::Recloned { was }, true) = (&done, notes.is_empty()) {
        notes.push(moved_note(&r.key, was, &r.clone_url));
    }
    let tips = opts.git.local_tips(&mirror).map_err(|e| e.to_string())?;
    Ok(FetchOutcome::Fetched { mirror, tips })
}

/// Why a listing API's clone URL is not fetched.
pub(super) const NOT_HTTP: &str =
    "clone URL is not http(s): a listing may not point the sweep at a local repository (only `sweep urls` reads local paths)";

pub(super) fn moved_note(key: &str, was: &str, now: &str) -> String {
    format!(
        "{key}: clone URL changed from {} to {}: its mirror is cloned afresh from the new URL",
        redact_url(was),
        redact_url(now)
    )
}

/// The mirror directory of a repository: a readable name plus a digest of the key and the
/// clone URL (host and path), so that one cache serves two hosts listing the same names, and
/// a repository that moved gets a mirror of its own instead of fetching the old one's origin.
pub fn mirror_dir(cache: &Path, key: &str, clone_url: &str) -> PathBuf {
    dir_named(cache, key, &format!("{key}\n{clone_url}"))
}

/// [`mirror_dir`] as patrol 0.x named it (digest of the key alone): such a mirror is taken
/// over rather than cloned again; its own URL is checked before any fetch.
pub(super) fn legacy_mirror_dir(cache: &Path, key: &str) -> PathBuf {
    dir_named(cache, key, key)
}

/// The mirror of `key` at `clone_url`, taking over a mirror named the old way.
pub(super) fn mirror_for(cache: &Path, key: &str, clone_url: &str) -> PathBuf {
    let dir = mirror_dir(cache, key, clone_url);
    let legacy = legacy_mirror_dir(cache, key);
    if !dir.exists() && legacy.is_dir() {
        let _ = std::fs::rename(&legacy, &dir);
    }
    dir
}

pub(super) fn dir_named(cache: &Path, key: &str, digest_of: &str) -> PathBuf {
    use sha2::Digest;
    let d = sha2::Sha256::digest(digest_of.as_bytes());
    let tail: String = key
        .rsplit(['/', ':', '\\'])
        .next()
        .unwrap_or("repo")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(40)
        .collect();
    let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
    cache.join(format!("{tail}-{hex}.git"))
}

/// `Basic <base64(user:token)>` as the provider's git host takes it.
pub(super) fn basic_value(source: &Source, token: &Secret) -> String {
    let user = match source {
        Source::Ado { .. } | Source::Urls { .. } => "",
        Source::GitHub { .. } => "x-access-token",
        Source::GitLab { .. } => "oauth2",
    };
    let b64 =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", token.expose()));
    format!("Basic {b64}")
}

/// The `http.extraHeader` line for the provider's git host.
pub(super) fn git_header(source: &Source, token: &Secret) -> GitCredential {
    GitCredential::header(format!("Authorization: {}", basic_value(source, token)))
}

/// The same credential for the in-process ref check.
pub(super) fn git_auth(source: &Source, token: &Secret) -> Auth {
    Auth::Header("authorization", Secret::new(basic_value(source, token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watermark_taken_at_one_url_never_matches_another() {
        let tips = vec![("refs/heads/main".to_string(), "aa".to_string())];
        let a = watermark_of(&tips, "https://a.example/o/r.git");
        assert_eq!(a, watermark_of(&tips, "https://a.example/o/r.git"));
        assert_ne!(a, watermark_of(&tips, "https://b.example/o/r.git"));
        assert_ne!(
            a, tips,
            "a watermark without its URL (written before) is refetched"
        );
        assert!(watermark_of(&[], "https://a.example/o/r.git").contains(&NO_REFS));
    }

    #[test]
    fn mirrors_are_keyed_by_repository_and_clone_url() {
        let c = Path::new("/cache");
        let a = mirror_dir(c, "github:acme/app", "https://a.example/acme/app.git");
        let b = mirror_dir(c, "github:acme/app", "https://b.example/acme/app.git");
        assert_ne!(a, b);
        assert_ne!(a, legacy_mirror_dir(c, "github:acme/app"));
        assert!(a.file_name().unwrap().to_string_lossy().starts_with("app-"));
    }

    #[test]
    fn a_mirror_named_the_old_way_is_taken_over() {
        let cache = tempfile::tempdir().unwrap();
        let legacy = legacy_mirror_dir(cache.path(), "k");
        std::fs::create_dir_all(legacy.join("objects")).unwrap();
        let dir = mirror_for(cache.path(), "k", "https://a.example/r.git");
        assert!(dir.join("objects").is_dir() && !legacy.exists());
    }

    #[test]
    fn only_sweep_urls_may_name_local_repositories() {
        let gh = Source::GitHub {
            org: "o".into(),
            api_url: None,
        };
        assert!(remote_url_ok(&gh, "https://github.com/o/r.git"));
        assert!(remote_url_ok(&gh, "http://127.0.0.1:8080/git/r.git"));
        for bad in [
            "file:///srv/r.git",
            "FILE:///srv/r.git",
            "/srv/r.git",
            "../r.git",
            "ext::sh -c touch% /tmp/x",
            "git@github.com:o/r.git",
            "ssh://github.com/o/r.git",
        ] {
            assert!(!remote_url_ok(&gh, bad), "{bad}");
        }
        let urls = Source::Urls {
            file: "list.txt".into(),
        };
        assert!(remote_url_ok(&urls, "/srv/r.git"));
    }
}
