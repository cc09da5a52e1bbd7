//! Tokens inside encodings: `Authorization: Basic` base64 and .npmrc `_password=` / `_auth=`.
//!
//! Azure DevOps PATs are mostly used as a Basic-auth password, so they leak as base64 of
//! `:PAT` or `user:PAT` in copied curl commands and HTTP captures, and as base64 of the PAT in
//! .npmrc files for Azure Artifacts feeds. The decoder takes the base64 that follows a trigger,
//! decodes it, and the matcher scans the decoded bytes (one level deep) and reports what it
//! finds at the encoded span. (Tokens in URL userinfo need no decoding: they stand as they are.)

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

/// The encodings patrol looks inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// `Basic <base64 of user:password>`.
    BasicAuth,
    /// `.npmrc` `_password=<base64 of password>` or `_auth=<base64 of user:password>`.
    NpmrcBase64,
}

/// Shortest base64 run worth decoding (a 20-character token is 28 base64 characters).
const MIN_B64: usize = 24;
/// Longest base64 run decoded; anything longer is not a credential header.
pub const MAX_B64: usize = 2048;

const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

impl Decoder {
    /// The literals that trigger each decoder (they join the prefilter's automaton).
    pub const TRIGGERS: &'static [(&'static str, Decoder)] = &[
        ("Basic ", Decoder::BasicAuth),
        ("basic ", Decoder::BasicAuth),
        ("BASIC ", Decoder::BasicAuth),
        ("_password=", Decoder::NpmrcBase64),
        ("_auth=", Decoder::NpmrcBase64),
    ];

    /// The name reported as the location's `encoding`.
    pub fn encoding(self) -> &'static str {
        "base64"
    }

    /// Decodes what follows a trigger that ends at `at`: the encoded span and decoded bytes.
    pub fn decode(self, hay: &[u8], at: usize) -> Option<(usize, usize, Vec<u8>)> {
        let mut s = at;
        while s < hay.len() && matches!(hay[s], b'"' | b'\'' | b' ') {
            s += 1;
        }
        let mut e = s;
        while e < hay.len() && e - s <= MAX_B64 && is_b64(hay[e]) {
            e += 1;
        }
        let run = &hay[s..e];
        if run.len() < MIN_B64 || run.len() > MAX_B64 {
            return None;
        }
        let bytes = B64.decode(run).ok()?;
        // A credential is printable text; random binary is not worth scanning.
        if bytes.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
            return None;
        }
        Some((s, e, bytes))
    }
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_basic_auth_after_the_trigger() {
        let enc = base64::engine::general_purpose::STANDARD.encode(":some-password-of-length");
        let line = format!("Authorization: Basic {enc}\r\n");
        let at = line.find("Basic ").unwrap() + 6;
        let (s, e, dec) = Decoder::BasicAuth.decode(line.as_bytes(), at).unwrap();
        assert_eq!(&line[s..e], enc);
        assert_eq!(dec, b":some-password-of-length");
    }

    #[test]
    fn skips_quotes_and_rejects_short_or_binary_payloads() {
        let enc = base64::engine::general_purpose::STANDARD.encode("a-password-that-is-long");
        let line = format!("_password=\"{enc}\"");
        assert!(Decoder::NpmrcBase64.decode(line.as_bytes(), 10).is_some());
        assert!(Decoder::BasicAuth
            .decode(b"Basic usage of the API", 6)
            .is_none());
        let bin = base64::engine::general_purpose::STANDARD.encode([
            0u8, 1, 2, 3, 250, 251, 252, 253, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        ]);
        assert!(Decoder::BasicAuth.decode(bin.as_bytes(), 0).is_none());
    }

    proptest::proptest! {
        #[test]
        fn decode_inverts_encode(s in "[ -~]{18,300}") {
            let enc = base64::engine::general_purpose::STANDARD.encode(&s);
            let (_, _, dec) = Decoder::BasicAuth.decode(enc.as_bytes(), 0).unwrap();
            proptest::prop_assert_eq!(dec, s.as_bytes());
        }
    }
}
