//! GitRepoBuilder: git repositories built in the test with git2 (no git executable needed).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature, Time};

/// A repository with a working tree in a temp dir; commits get increasing fixed dates.
pub struct GitRepoBuilder {
    pub dir: tempfile::TempDir,
    pub repo: Repository,
    clock: std::cell::Cell<i64>,
}

impl GitRepoBuilder {
    /// `git init` with `main` as the initial branch.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut o = git2::RepositoryInitOptions::new();
        o.initial_head("main");
        let repo = Repository::init_opts(dir.path(), &o).expect("init");
        Self {
            dir,
            repo,
            clock: std::cell::Cell::new(1_700_000_000),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file in the working tree and stages it.
    pub fn stage(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        let mut idx = self.repo.index().unwrap();
        idx.add_path(Path::new(rel)).unwrap();
        idx.write().unwrap();
    }

    /// Deletes a file from the working tree and the index.
    pub fn remove(&self, rel: &str) {
        let _ = std::fs::remove_file(self.dir.path().join(rel));
        let mut idx = self.repo.index().unwrap();
        idx.remove_path(Path::new(rel)).unwrap();
        idx.write().unwrap();
    }

    fn sig(&self, name: &str) -> Signature<'static> {
        let t = self.clock.get() + 60;
        self.clock.set(t);
        Signature::new(
            name,
            &format!("{}@example.com", name.to_lowercase()),
            &Time::new(t, 120),
        )
        .unwrap()
    }

    /// Commits the index on HEAD with the given parents (default: HEAD's commit, if any).
    pub fn commit_with_parents(&self, msg: &str, parents: &[Oid]) -> Oid {
        let mut idx = self.repo.index().unwrap();
        let tree = self.repo.find_tree(idx.write_tree().unwrap()).unwrap();
        let parents: Vec<git2::Commit> = parents
            .iter()
            .map(|p| self.repo.find_commit(*p).unwrap())
            .collect();
        let refs: Vec<&git2::Commit> = parents.iter().collect();
        let sig = self.sig("Alice");
        self.repo
            .commit(Some("HEAD"), &sig, &sig, msg, &tree, &refs)
            .unwrap()
    }

    /// Commits the index on HEAD.
    pub fn commit(&self, msg: &str) -> Oid {
        let parents: Vec<Oid> = self
            .repo
            .head()
            .ok()
            .and_then(|h| h.target())
            .into_iter()
            .collect();
        self.commit_with_parents(msg, &parents)
    }

    /// Writes, stages and commits files in one go.
    pub fn commit_files(&self, msg: &str, files: &[(&str, &str)]) -> Oid {
        for (p, c) in files {
            self.stage(p, c);
        }
        self.commit(msg)
    }

    /// Creates branch `name` at `at` (or moves it) without switching.
    pub fn branch(&self, name: &str, at: Oid) {
        let c = self.repo.find_commit(at).unwrap();
        self.repo.branch(name, &c, true).unwrap();
    }

    /// Switches HEAD, index and working tree to branch `name`.
    pub fn checkout(&self, name: &str) {
        self.repo.set_head(&format!("refs/heads/{name}")).unwrap();
        let mut o = git2::build::CheckoutBuilder::new();
        o.force().remove_untracked(true);
        self.repo.checkout_head(Some(&mut o)).unwrap();
    }

    /// The loose object file of `oid`.
    pub fn loose_object(&self, oid: Oid) -> PathBuf {
        let h = oid.to_string();
        self.repo.path().join("objects").join(&h[..2]).join(&h[2..])
    }

    /// A bare clone of this repository in a new temp dir.
    pub fn bare_clone(&self) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let url = format!("file://{}", self.dir.path().display());
        git2::build::RepoBuilder::new()
            .bare(true)
            .clone(&url, &d.path().join("r.git"))
            .expect("bare clone");
        d
    }
}
