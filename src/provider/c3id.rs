//! C3ID ("cross-company correlating id") of a token: the hash Azure DevOps tokenadmin 7.2
//! returns as `SessionToken.crossCompanyCorrelatingId`, which lets an administrator find the
//! authorization id of a leaked PAT without ever sending the PAT anywhere.
//!
//! Three public definitions exist and which one the service uses is not confirmed (see
//! ../shared/specs/azure-devops/README.md), so [`candidates`] computes all three and callers
//! match any.

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

/// Definition 3 (microsoft/cask, February 2025, `CaskComputedCorrelatingId`):
/// `base64([0x0B, 0x72, 0x03] + SHA-256("CaskComputedCorrelatingId" + token)[..15])`, which is
/// `"C3ID"` and 20 more characters (24 in all): the three prefix bytes encode as `C3ID`.
pub fn c3id_v3(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"CaskComputedCorrelatingId");
    h.update(token.as_bytes());
    let mut raw = vec![0x0B, 0x72, 0x03];
    raw.extend_from_slice(&h.finalize()[..15]);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Every definition, for matching.
pub fn candidates(token: &str) -> [String; 3] {
    [c3id_v1(token), c3id_v2(token), c3id_v3(token)]
}

/// Whether `correlating_id` (from the service) is the C3ID of `token` under any definition.
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

    /// The vectors of microsoft/cask's `CaskComputedCorrelatingIdTests` (February 2025).
    #[test]
    fn definition_three_matches_the_published_vectors() {
        assert_eq!(c3id_v3("test"), "C3IDnG/kvvNePwLu3YsnIvr1");
        assert_eq!(c3id_v3("Hello world"), "C3IDQlNeQD4fELogjySvjevQ");
        assert_eq!(c3id_v3(&"x".repeat(300)), "C3IDSa9GXyMk8rporJr/nB1t");
        assert_eq!(c3id_v3("\u{1F601}"), "C3ID2k7uBmRvHOP6/XHGOE/2");
        assert_eq!(
            c3id_v3("y_-KPF3BQb2-VHZeqrp28c6dgiL9y7H9TRJmQ5jJe9OvJQQJTESTBAU4AAB5mIhC"),
            "C3IDcyw3MgLExGerWHtTY3b9"
        );
        assert_eq!(c3id_v3("test").len(), 24);
    }

    #[test]
    fn any_definition_matches_and_nothing_else_does() {
        assert!(matches("test", "rPHgxCVAOw6CZsT9xXEw"));
        assert!(matches("Hello world", "C3IDnw4dY6uIibYownZw"));
        assert!(matches("Hello world", "C3IDQlNeQD4fELogjySvjevQ"));
        assert!(!matches("Hello world", "rPHgxCVAOw6CZsT9xXEw"));
        assert!(!matches("test", ""));
    }
}
