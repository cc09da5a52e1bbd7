//! What a mirror holds at its tips, read without a walk: the blobs in the trees of its
//! branch tips (a sweep marks the findings still present there) and one file of HEAD's
//! tree (a swept repository's own `patrol.toml`). Both answer "nothing" for a repository
//! that cannot be read: they refine a result, they never fail it.

use std::collections::HashSet;
use std::path::Path;

/// Blob ids (hex) in the trees of every branch tip (`refs/heads/*`) of the bare repository
/// at `mirror`.
pub fn branch_tip_blobs(mirror: &Path) -> HashSet<String> {
    let mut out = HashSet::new();
    let Ok(repo) = git2::Repository::open_bare(mirror) else {
        return out;
    };
    let Ok(refs) = repo.references_glob("refs/heads/*") else {
        return out;
    };
    for r in refs.flatten() {
        let Ok(tree) = r.peel_to_tree() else { continue };
        let _ = tree.walk(git2::TreeWalkMode::PreOrder, |_, e| {
            if e.kind() == Some(git2::ObjectType::Blob) {
                out.insert(e.id().to_string());
            }
            git2::TreeWalkResult::Ok
        });
    }
    out
}

/// The file `name` at the top of HEAD's tree in the bare repository at `mirror`.
pub fn head_file(mirror: &Path, name: &str) -> Option<Vec<u8>> {
    let repo = git2::Repository::open_bare(mirror).ok()?;
    let tree = repo.head().ok()?.peel_to_tree().ok()?;
    let entry = tree.get_name(name)?;
    let blob = repo.find_blob(entry.id()).ok()?;
    Some(blob.content().to_vec())
}
