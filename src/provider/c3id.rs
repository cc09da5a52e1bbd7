//! C3ID ("cross-company correlating id") of a token: the hash Azure DevOps tokenadmin 7.2
//! returns as `SessionToken.crossCompanyCorrelatingId`, which lets an administrator find the
//! authorization id of a leaked PAT without ever sending the PAT anywhere.
//!
//! Two public definitions exist and which one the service uses is not confirmed (see
//! ../shared/specs/azure-devops/README.md), so [`candidates`] computes both and callers match
//! any.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Definition 1: `base64(SHA-256("CrossMicrosoftCorrelatingId:" + UPPER_HEX(SHA-256(token))))`
/// truncated to its first 15 bytes (20 characters).
pub fn c3id_v1(token: &str) -> String {
    let inner = Sha256::digest(token.as_bytes());
    let mut h = Sha256::new();
    h.update(b"CrossMicrosoftCorrelatingId:");
    for b in inner {
        h.update(format!("{b:02X}").as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(&h.finalize()[..15])
}

/// Definition 2: `"C3ID" + base64(SHA-256("C3ID" + SHA-256(token))[..12])` (20 characters).
pub fn c3id_v2(token: &str) -> String {
    let inner = Sha256::digest(token.as_bytes());
    let mut h = Sha256::new();
    h.update(b"C3ID");
    h.update(inner);
    format!(
        "C3ID{}",
        base64::engine::general_purpose::STANDARD.encode(&h.finalize()[..12])
    )
}

/// Both definitions, for matching.
pub fn candidates(token: &str) -> [String; 2] {
    [c3id_v1(token), c3id_v2(token)]
}

/// Whether `correlating_id` (from the service) is the C3ID of `token` under either definition.
pub fn matches(token: &str, correlating_id: &str) -> bool {
    let id = correlating_id.trim();
    !id.is_empty() && candidates(token).iter().any(|c| c == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_one_matches_the_published_vector() {
        assert_eq!(c3id_v1("test"), "rPHgxCVAOw6CZsT9xXEw");
    }

    #[test]
    fn definition_two_matches_the_published_vectors() {
        assert_eq!(c3id_v2("Hello world"), "C3IDnw4dY6uIibYownZw");
        assert_eq!(c3id_v2(&"x".repeat(300)), "C3IDs+pSKJ1FmRW+7EZk");
    }

    #[test]
    fn either_definition_matches_and_nothing_else_does() {
        assert!(matches("test", "rPHgxCVAOw6CZsT9xXEw"));
        assert!(matches("Hello world", "C3IDnw4dY6uIibYownZw"));
        assert!(!matches("Hello world", "rPHgxCVAOw6CZsT9xXEw"));
        assert!(!matches("test", ""));
    }
}
