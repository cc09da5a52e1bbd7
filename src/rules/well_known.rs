//! Well-known public values that look like secrets but are published on purpose: emulator keys
//! and documentation examples. A confirmed token equal to one of them is never reported.
//!
//! The values are kept as SHA-256 hex digests, so this file holds nothing secret-shaped; each
//! line names where its value is published. Add a value only when its owner publishes it.

use sha2::{Digest, Sha256};

/// SHA-256 (lower-case hex) of each well-known value.
const DIGESTS: &[&str] = &[
    // Azurite / Azure Storage emulator account key (devstoreaccount1), published in the emulator's documentation.
    "0011cc25eb4320717494d2703e8cba85743e71b500283c21c8b88147992f9059",
    // Azure Cosmos DB emulator key, published in the emulator's documentation.
    "aa6547439583c3a275d4542a0df6c1ad6a863971be9f2a2220f027cc02aef615",
    // AWS documentation example secret access key (with AKIAIOSFODNN7EXAMPLE).
    "78314b11be2e581549ac1c4f616563fad3fdf0c3b71678f6e2299182080e0598",
    // AWS documentation example secret access key (with AKIAI44QH8DHBEXAMPLE).
    "e21b597ba6b9cafa59d9ebc4d65c0385f5eb3fa56abab2607fa76589ad849a33",
    // Grafana service-account token test value (grafana/grafana pkg/components/satokengen).
    "f03568887d444b72959bb573d025e81cc9d54bfd6bd39b89b0e78b7e93bc1f3d",
];

/// Whether `token` is one of the well-known public values.
pub fn contains(token: &[u8]) -> bool {
    // Every listed value is 40, 46 or 88 characters long: skip hashing everything else.
    if !matches!(token.len(), 40 | 46 | 88) {
        return false;
    }
    let d = Sha256::digest(token);
    let mut hex = [0u8; 64];
    for (i, b) in d.iter().enumerate() {
        hex[2 * i] = b"0123456789abcdef"[usize::from(b >> 4)];
        hex[2 * i + 1] = b"0123456789abcdef"[usize::from(b & 15)];
    }
    DIGESTS.iter().any(|x| x.as_bytes() == hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published emulator key is recognised; a one-character change is not.
    #[test]
    fn the_azurite_key_is_well_known_and_a_near_copy_is_not() {
        let azurite = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
        assert!(contains(azurite.as_bytes()));
        assert!(!contains(azurite.replace("Eby8", "Eby9").as_bytes()));
        assert!(contains(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        assert!(!contains(b""));
    }
}
