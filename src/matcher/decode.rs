//! Tokens inside encodings: `Authorization: Basic` base64, .npmrc `_password=` / `_auth=`,
//! Docker `config.json` `"auth"`, and the base64 values of a Kubernetes Secret's `data:`.
//!
//! Azure DevOps PATs are mostly used as a Basic-auth password, so they leak as base64 of
//! `:PAT` or `user:PAT` in copied curl commands and HTTP captures, as base64 of the PAT in
//! .npmrc files for Azure Artifacts feeds, as `"auth"` in a Docker registry login, and as
//! a value of a committed Kubernetes Secret. The decoder takes the base64 that follows a
//! trigger, decodes it, and the matcher scans the decoded bytes (one level deep) and reports
//! what it finds at the encoded span. (Tokens in URL userinfo need no decoding: they stand as
//! they are.)
//!
//! Cost stays bounded: only a trigger starts a decoder, a `data:` block is read for at most
//! [`MAX_BLOCK_VALUES`] values within [`MAX_BLOCK_BYTES`], and each value is at most
//! [`MAX_B64`] characters; text without a trigger pays nothing but the shared prefilter.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

/// The encodings patrol looks inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// `Basic <base64 of user:password>`.
    BasicAuth,
    /// `.npmrc` `_password=<base64 of password>` or `_auth=<base64 of user:password>`.
    NpmrcBase64,
    /// Docker `config.json`: `"auth": "<base64 of user:password>"`.
    DockerAuth,
    /// A Kubernetes Secret's `data:` (YAML block or JSON object): every value is base64.
    DataBlock,
}

/// Values of one `data:` block decoded at most.
pub const MAX_BLOCK_VALUES: usize = 64;
/// Bytes after a `data:` trigger read at most.
pub const MAX_BLOCK_BYTES: usize = 64 * 1024;

/// Shortest base64 run worth decoding (a 20-character token is 28 base64 characters).
const MIN_B64: usize = 24;
/// Longest base64 run decoded; anything longer is not a credential header.
pub const MAX_B64: usize = 2048;
/// Longest `data:` value decoded (a Secret's value may be a whole config file).
pub const MAX_BLOCK_B64: usize = 16 * 1024;

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
        ("\"auth\":", Decoder::DockerAuth),
        ("\"auth\" :", Decoder::DockerAuth),
        ("data:", Decoder::DataBlock),
        ("\"data\":", Decoder::DataBlock),
    ];

    /// The name reported as the location's `encoding`.
    pub fn encoding(self) -> &'static str {
        "base64"
    }

    /// Decodes what follows a trigger that ends at `at`: the encoded span and decoded bytes
    /// (for a `data:` block, its first value; [`Decoder::decode_all`] gives every one).
    pub fn decode(self, hay: &[u8], at: usize) -> Option<(usize, usize, Vec<u8>)> {
        if self == Decoder::DataBlock {
            let mut out = Vec::new();
            self.decode_all(hay, at, &mut out);
            return out.into_iter().next();
        }
        let s = skip(hay, at, b"\"' ");
        let (e, bytes) = b64_value(hay, s, MAX_B64, false)?;
        Some((s, e, bytes))
    }

    /// Pushes every (encoded span, decoded bytes) that follows a trigger ending at `at`.
    pub fn decode_all(self, hay: &[u8], at: usize, out: &mut Vec<(usize, usize, Vec<u8>)>) {
        if self != Decoder::DataBlock {
            out.extend(self.decode(hay, at));
            return;
        }
        let end = hay.len().min(at + MAX_BLOCK_BYTES);
        let hay = &hay[..end];
        let s = skip(hay, at, b" \t");
        let mut found = 0;
        match hay.get(s) {
            // JSON: "data": { "key": "value", ... }
            Some(b'{') => {
                let mut p = s + 1;
                while found < MAX_BLOCK_VALUES {
                    // "key" : "value"
                    let k = skip(hay, p, b" \t\r\n,");
                    let Some(ke) = quoted_end(hay, k) else { return };
                    let c = skip(hay, ke, b" \t");
                    if hay.get(c) != Some(&b':') {
                        return;
                    }
                    let v = skip(hay, c + 1, b" \t");
                    if hay.get(v) != Some(&b'"') {
                        return;
                    }
                    let Some(ve) = quoted_end(hay, v) else { return };
                    if let Some((e, bytes)) = b64_value(hay, v + 1, MAX_BLOCK_B64, true) {
                        if e == ve - 1 {
                            out.push((v + 1, e, bytes));
                        }
                    }
                    found += 1;
                    p = ve;
                }
            }
            // YAML: data:\n  key: value\n  key2: value2 (indented lines, until the indent ends)
            Some(b'\n') | Some(b'\r') | None => {
                // `data:` as a key of its own, not the end of `metadata:`.
                if at > 5 && !matches!(hay[at - 6], b'\n' | b' ' | b'\t') {
                    return;
                }
                let mut p = skip(hay, s, b"\r\n");
                while found < MAX_BLOCK_VALUES && p < hay.len() {
                    let line_end = memchr::memchr(b'\n', &hay[p..]).map_or(hay.len(), |i| p + i);
                    let line = &hay[p..line_end];
                    let indent = line.iter().take_while(|&&b| b == b' ').count();
                    if indent == 0 {
                        return;
                    }
                    if let Some(colon) = memchr::memchr(b':', line) {
                        let v = skip(hay, p + colon + 1, b" \t\"'");
                        if let Some((e, bytes)) = b64_value(hay, v, MAX_BLOCK_B64, true) {
                            out.push((v, e, bytes));
                        }
                    }
                    found += 1;
                    p = line_end + 1;
                }
            }
            _ => {}
        }
    }
}

fn skip(hay: &[u8], mut i: usize, set: &[u8]) -> usize {
    while i < hay.len() && set.contains(&hay[i]) {
        i += 1;
    }
    i
}

/// The end (after the closing quote) of a JSON string starting at `q` (its opening quote).
fn quoted_end(hay: &[u8], q: usize) -> Option<usize> {
    if hay.get(q) != Some(&b'"') {
        return None;
    }
    let mut i = q + 1;
    while i < hay.len() {
        match hay[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            b'\n' => return None,
            _ => i += 1,
        }
    }
    None
}

/// The base64 run at `s` (at most `max` characters) and its decoding, when it is long
/// enough and decodes to printable text (with `lines`, tabs and line breaks are text too).
fn b64_value(hay: &[u8], s: usize, max: usize, lines: bool) -> Option<(usize, Vec<u8>)> {
    let mut e = s;
    while e < hay.len() && e - s <= max && is_b64(hay[e]) {
        e += 1;
    }
    let run = &hay[s..e];
    if run.len() < MIN_B64 || run.len() > max {
        return None;
    }
    let bytes = B64.decode(run).ok()?;
    // A credential is printable text; random binary is not worth scanning.
    let text = |b: u8| (0x20..0x7f).contains(&b) || (lines && matches!(b, b'\t' | b'\r' | b'\n'));
    if !bytes.iter().all(|&b| text(b)) {
        return None;
    }
    Some((e, bytes))
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

    /// Regression test for #13 (base64 blocks): every value of a Kubernetes Secret's `data:`
    /// (YAML or JSON) is decoded, and nothing past the block.
    #[test]
    fn decodes_every_value_of_a_data_block_and_stops_at_its_end() {
        let e = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let yaml = format!(
            "kind: Secret\ndata:\n  user: {}\n  config.json: \"{}\"\n  short: eA==\nmetadata:\n  x: {}\n",
            e("the-build-user-name"),
            e("{\n  \"token\": \"value-of-the-token\"\n}\n"),
            e("not in the data block at all"),
        );
        let at = yaml.find("data:").unwrap() + 5;
        let mut out = Vec::new();
        Decoder::DataBlock.decode_all(yaml.as_bytes(), at, &mut out);
        let dec: Vec<&[u8]> = out.iter().map(|(_, _, b)| &b[..]).collect();
        assert_eq!(
            dec,
            vec![
                &b"the-build-user-name"[..],
                b"{\n  \"token\": \"value-of-the-token\"\n}\n"
            ]
        );
        for (s, e, _) in &out {
            assert!(B64.decode(&yaml.as_bytes()[*s..*e]).is_ok());
        }
        let json = format!(
            "{{\"kind\": \"Secret\", \"data\": {{\"a\": \"{}\", \"b\": \"{}\"}}, \"x\": \"{}\"}}",
            e("first-value-of-the-secret"),
            e("second-value-of-the-secret"),
            e("outside of the data object")
        );
        let at = json.find("\"data\":").unwrap() + 7;
        out.clear();
        Decoder::DataBlock.decode_all(json.as_bytes(), at, &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        // `data: something` on one line (JavaScript, prose) is no block.
        out.clear();
        Decoder::DataBlock.decode_all(b"data: fetchAll(), x", 5, &mut out);
        assert!(out.is_empty());
        let meta = format!("metadata:\n  a: {}\n", e("annotation-value-long-enough"));
        Decoder::DataBlock.decode_all(meta.as_bytes(), 9, &mut out);
        assert!(out.is_empty());
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
