//! Checksum validators, by the name a rule file uses in its `checksum` field.
//!
//! A checksum lets patrol report a token with no context words around it and reject a near
//! miss: one flipped character fails every validator here. Each function takes the whole token
//! as the rule's `token` group captured it and answers `true` only for a correct checksum.

pub mod identifiable;

use base64::Engine as _;

/// Names a rule file may use, for validation of custom rules.
pub const NAMES: &[&str] = &[
    "azure_devops_legacy",
    "azure_devops_cask",
    "github_crc32",
    "github_fine_grained",
    "gitlab_routable_crc32",
    "atlassian_crc32",
    "azure_cask_ai_services",
    "azure_cask_openai",
    "azure_cask_app_configuration",
    "azure_cask_fluid_relay",
    "azure_cask_event_grid",
    "azure_cask_mixed_reality",
    "azure_cask_maps",
    "azure_cask_communication_services",
    "azure_cask_sql_private",
    "azure_storage_identifiable",
    "azure_cosmos_identifiable",
    "azure_batch_identifiable",
    "azure_ml_classic_identifiable",
    "azure_apim_direct_management",
    "azure_apim_subscription",
    "azure_apim_gateway",
    "azure_apim_repository",
    "azure_redis_identifiable",
    "azure_iot_hub_identifiable",
    "azure_iot_dps_identifiable",
    "azure_iot_device_identifiable",
    "azure_event_grid_identifiable",
    "azure_service_bus_identifiable",
    "azure_event_hub_identifiable",
    "azure_relay_identifiable",
    "azure_functions_identifiable",
    "azure_search_query_identifiable",
    "azure_search_admin_identifiable",
    "azure_container_registry_identifiable",
    "entra_client_secret",
    "grafana_crc32",
    "cloudflare_crc32",
    "age_bech32",
];

/// Looks a validator up by name.
pub fn by_name(name: &str) -> Option<fn(&[u8]) -> bool> {
    Some(match name {
        "azure_devops_legacy" => azure_devops_legacy,
        "azure_devops_cask" => azure_devops_cask,
        "github_crc32" => github_crc32,
        "github_fine_grained" => github_fine_grained,
        "gitlab_routable_crc32" => gitlab_routable_crc32,
        "atlassian_crc32" => atlassian_crc32,
        "entra_client_secret" => identifiable::entra_client_secret,
        "grafana_crc32" => grafana_crc32,
        "cloudflare_crc32" => cloudflare_crc32,
        "age_bech32" => age_bech32,
        _ => return azure_by_name(name),
    })
}

/// Seeds XORed into the legacy PAT's CRC-32: user PATs, and a second token kind.
pub const ADO_LEGACY_SEEDS: [u32; 2] = [0xE0B9_692D, 0x1019_F92E];
/// Marvin32 seed of the 2024+ PAT format: the ASCII of "Default0", little-endian.
pub const ADO_CASK_SEED: u64 = 0x4465_6661_756C_7430;

/// Lower-case RFC 4648 base32 without padding, as the legacy PAT and the samples spell it.
/// Decoding accepts only `a-z2-7` (upper case too is a different token to a validator) and
/// rejects a length no encoding produces and non-zero padding bits.
// NOTE: `data_encoding` has no lower-case constant; its docs build one from a `Specification`
// once. This holds a table, not state: it is the same value whoever builds it first.
static BASE32_LOWER: std::sync::LazyLock<data_encoding::Encoding> =
    std::sync::LazyLock::new(|| {
        let mut spec = data_encoding::Specification::new();
        spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
        spec.encoding().expect("a valid base32 specification")
    });

/// Decodes lower-case RFC 4648 base32 without padding. `None` on any other character, on a
/// length no encoding has (1, 3 or 6 modulo 8) and on non-zero padding bits.
pub fn base32_lower_decode(s: &[u8]) -> Option<Vec<u8>> {
    BASE32_LOWER.decode(s).ok()
}

/// Encodes bytes as lower-case base32 without padding (for samples and tests).
pub fn base32_lower_encode(b: &[u8]) -> String {
    BASE32_LOWER.encode(b)
}

/// The 28 bytes the legacy PAT's CRC-32 covers, and the embedded value (bytes 22, 8, 7, 2,
/// little-endian, byte 22 least significant).
fn ado_legacy_parts(b: &[u8; 32]) -> ([u8; 28], u32) {
    let mut data = [0u8; 28];
    data[0..2].copy_from_slice(&b[0..2]);
    data[2..6].copy_from_slice(&b[3..7]);
    data[6..19].copy_from_slice(&b[9..22]);
    data[19..28].copy_from_slice(&b[23..32]);
    let emb =
        u32::from(b[22]) | u32::from(b[8]) << 8 | u32::from(b[7]) << 16 | u32::from(b[2]) << 24;
    (data, emb)
}

/// Legacy Azure DevOps PAT: 52 chars `[a-z2-7]`, base32 of 32 bytes with an embedded CRC-32.
pub fn azure_devops_legacy(token: &[u8]) -> bool {
    if token.len() != 52 {
        return false;
    }
    // 52 * 5 = 260 bits: 32 bytes and 4 padding bits, which are zero in a canonical encoding
    // (so the last character is `a` or `q`); the decoder rejects any other.
    let mut b = [0u8; 32];
    if !matches!(BASE32_LOWER.decode_mut(token, &mut b), Ok(32)) {
        return false;
    }
    let (data, emb) = ado_legacy_parts(&b);
    let crc = crc32fast::hash(&data);
    ADO_LEGACY_SEEDS.iter().any(|s| crc ^ s == emb)
}

/// Embeds the legacy checksum into 32 random bytes (for samples): returns the token.
pub fn azure_devops_legacy_seal(mut b: [u8; 32], seed: u32) -> String {
    let (data, _) = ado_legacy_parts(&b);
    let v = crc32fast::hash(&data) ^ seed;
    b[22] = v as u8;
    b[8] = (v >> 8) as u8;
    b[7] = (v >> 16) as u8;
    b[2] = (v >> 24) as u8;
    base32_lower_encode(&b)
}

/// Marvin32 (as in SymCrypt's marvin32.c), the hash behind the 2024+ PAT checksum.
pub fn marvin32(data: &[u8], seed: u64) -> u32 {
    fn block(mut p0: u32, mut p1: u32) -> (u32, u32) {
        p1 ^= p0;
        p0 = p0.rotate_left(20);
        p0 = p0.wrapping_add(p1);
        p1 = p1.rotate_left(9);
        p1 ^= p0;
        p0 = p0.rotate_left(27);
        p0 = p0.wrapping_add(p1);
        p1 = p1.rotate_left(19);
        (p0, p1)
    }
    let (mut p0, mut p1) = (seed as u32, (seed >> 32) as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        p0 = p0.wrapping_add(u32::from_le_bytes(c.try_into().expect("4 bytes")));
        (p0, p1) = block(p0, p1);
    }
    let t = chunks.remainder();
    let fin: u32 = match t.len() {
        0 => 0x80,
        1 => 0x8000 | u32::from(t[0]),
        2 => 0x80_0000 | u32::from(t[1]) << 8 | u32::from(t[0]),
        _ => 0x8000_0000 | u32::from(t[2]) << 16 | u32::from(t[1]) << 8 | u32::from(t[0]),
    };
    p0 = p0.wrapping_add(fin);
    (p0, p1) = block(p0, p1);
    (p0, p1) = block(p0, p1);
    p1 ^ p0
}

const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn radix(mut n: u64, alphabet: &[u8], width: usize) -> String {
    let base = alphabet.len() as u64;
    let mut out = Vec::new();
    while n > 0 {
        out.push(alphabet[(n % base) as usize]);
        n /= base;
    }
    while out.len() < width {
        out.push(alphabet[0]);
    }
    out.reverse();
    String::from_utf8(out).expect("ascii alphabet")
}

/// The Marvin32 checksum of a 2024+ PAT's first 80 characters (60 bytes once decoded), as the
/// four little-endian bytes Microsoft's code encodes. `None` when they are not base64.
fn azure_devops_cask_sum(first80: &[u8]) -> Option<[u8; 4]> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(first80)
        .ok()?;
    Some(marvin32(&raw, ADO_CASK_SEED).to_le_bytes())
}

/// The 4 checksum characters of a 2024+ PAT, from its first 80 characters, in the base62 form
/// (the four checksum bytes read as one big-endian number, leading zero bytes kept as `0`).
pub fn azure_devops_cask_checksum(first80: &[u8]) -> Option<String> {
    let mut s = base62_checksum_text(azure_devops_cask_sum(first80)?);
    s.truncate(4);
    Some(s)
}

/// Microsoft's base62 text of four checksum bytes (`GetBase62EncodedChecksum`): the bytes as
/// one big-endian number, leading zero bytes kept as `0`, right-padded with `0` to 6.
pub fn base62_checksum_text(c: [u8; 4]) -> String {
    let n = u32::from_be_bytes(c);
    let lead = c.iter().take_while(|&&b| b == 0).count();
    let mut s = "0".repeat(lead);
    if n != 0 {
        s.push_str(&radix(u64::from(n), B62, 0));
    }
    while s.len() < 6 {
        s.push('0');
    }
    s
}

/// The checksum of a 2024+ PAT in the base64 form: standard base64 of the four checksum bytes
/// (8 characters, `==` included). An 84-character token carries its first 4 characters, the
/// 88-character long form all 8.
pub fn azure_devops_cask_checksum_base64(first80: &[u8]) -> Option<String> {
    azure_devops_cask_sum(first80).map(|c| base64::engine::general_purpose::STANDARD.encode(c))
}

/// 2024+ Azure DevOps PAT: `JQQJ` at 52, `AZDO` at 76, the Marvin32 checksum from 80 on.
///
/// Accepts what Microsoft's validator accepts (`LegacyCommonAnnotatedSecurityKey.TryCreate` in
/// microsoft/security-utilities): an 84-character token whose last 4 characters are the
/// checksum in base62 or, as Azure DevOps minted roughly from November 2024 to February 2025,
/// the first 4 characters of its base64 (so `+` and `/` can occur there); and the 88-character
/// long form, whose last 8 characters are the whole base64 checksum with its `==`. Anything
/// else, base64url characters included, is rejected.
pub fn azure_devops_cask(token: &[u8]) -> bool {
    if !matches!(token.len(), 84 | 88) || &token[52..56] != b"JQQJ" || &token[76..80] != b"AZDO" {
        return false;
    }
    let Some(b64) = azure_devops_cask_checksum_base64(&token[..80]) else {
        return false;
    };
    if token.len() == 88 {
        return &token[80..] == b64.as_bytes();
    }
    let tail = &token[80..84];
    tail == &b64.as_bytes()[..4]
        || azure_devops_cask_checksum(&token[..80]).is_some_and(|c| c.as_bytes() == tail)
}

/// The validators of Microsoft's identifiable keys, by name (see [`identifiable`]).
fn azure_by_name(name: &str) -> Option<fn(&[u8]) -> bool> {
    identifiable::by_name(name)
}

/// Atlassian API token: `...=` and 8 hex digits (either case) that are the IEEE CRC-32 of
/// everything before them, the `=` included. The token is checked as unescaped (the matcher
/// turns `\=` and `%3D` back into `=` before validating).
pub fn atlassian_crc32(token: &[u8]) -> bool {
    if token.len() < 10 || token[token.len() - 9] != b'=' {
        return false;
    }
    let (head, hex) = token.split_at(token.len() - 8);
    let Ok(hex) = std::str::from_utf8(hex) else {
        return false;
    };
    u32::from_str_radix(hex, 16).is_ok_and(|v| v == crc32fast::hash(head))
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The 8 upper-case hex digits an Atlassian token ends with, from everything before them.
pub fn atlassian_suffix(head: &[u8]) -> String {
    format!("{:08X}", crc32fast::hash(head))
}

/// Base62, zero-padded CRC-32 of the random part, as in GitHub's `ghp_` family and npm's
/// `npm_`: `<prefix>_<random><6-char checksum>`.
pub fn github_crc32(token: &[u8]) -> bool {
    let Some(us) = token.iter().position(|&b| b == b'_') else {
        return false;
    };
    let rest = &token[us + 1..];
    if rest.len() <= 6 {
        return false;
    }
    let (body, chk) = rest.split_at(rest.len() - 6);
    radix(u64::from(crc32fast::hash(body)), B62, 6).as_bytes() == chk
}

/// The checksum a GitHub-style `<prefix>_<random>` token carries in its last 6 characters.
pub fn github_crc32_suffix(body: &[u8]) -> String {
    radix(u64::from(crc32fast::hash(body)), B62, 6)
}

/// GitHub fine-grained PAT: `github_pat_` + 22 + `_` + 59 characters; characters 77..85 are the
/// first 8 characters of base32(SHA-256(first 77 characters)).
// NOTE: this layout is the one ../shared/bench/gen_synthetic.py documents; it is not published
// by GitHub. If real tokens turn out not to carry it, drop the `checksum` from the rule.
pub fn github_fine_grained(token: &[u8]) -> bool {
    token.len() == 93 && github_fine_grained_check(&token[..77]).as_bytes() == &token[77..85]
}

/// The 8 checksum characters of a fine-grained PAT, from its first 77 characters.
pub fn github_fine_grained_check(head: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(head);
    data_encoding::BASE32_NOPAD.encode(&d[..5])
}

/// GitLab routable token: the last 7 characters are the base36, zero-padded CRC-32 of the rest.
pub fn gitlab_routable_crc32(token: &[u8]) -> bool {
    if token.len() <= 7 {
        return false;
    }
    let (head, chk) = token.split_at(token.len() - 7);
    gitlab_routable_suffix(head).as_bytes() == chk
}

/// The 7 checksum characters of a GitLab routable token.
pub fn gitlab_routable_suffix(head: &[u8]) -> String {
    radix(u64::from(crc32fast::hash(head)), B36, 7)
}

/// Grafana service-account token: `glsa_<32 random>_<8 hex>`, the hex being the IEEE CRC-32 of
/// everything before the last `_` (`glsa_<random>`) as its four little-endian bytes in
/// lower-case hex (grafana/grafana `pkg/components/satokengen`, whose decoder compares the
/// text exactly, so upper-case hex is not a token).
pub fn grafana_crc32(token: &[u8]) -> bool {
    if token.len() < 10 || token[token.len() - 9] != b'_' {
        return false;
    }
    let (head, chk) = token.split_at(token.len() - 9);
    grafana_suffix(head).as_bytes() == &chk[1..]
}

/// The 8 checksum characters of a Grafana service-account token, from `glsa_<random>`.
pub fn grafana_suffix(head: &[u8]) -> String {
    let b = crc32fast::hash(head).to_le_bytes();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Base36 digits of `n` (for the routable token's length field).
pub fn base36(n: u64, width: usize) -> String {
    radix(n, B36, width)
}

/// Base62 digits of `n`.
pub fn base62(n: u64, width: usize) -> String {
    radix(n, B62, width)
}

/// Cloudflare scannable credential (2026+, `cfk_`, `cfut_`, `cfat_`): the prefix, 40 random
/// characters, then 8 lower-case hex digits that are the IEEE CRC-32 of those 40. Cloudflare's
/// token-formats page names the layout ("40 characters and a checksum") but not the function;
/// CRC-32 of the random part is what publicly leaked tokens carry.
pub fn cloudflare_crc32(token: &[u8]) -> bool {
    let Some(us) = token.iter().position(|&b| b == b'_') else {
        return false;
    };
    let rest = &token[us + 1..];
    if rest.len() != 48 {
        return false;
    }
    let (body, chk) = rest.split_at(40);
    cloudflare_suffix(body).as_bytes() == chk
}

/// The 8 checksum characters of a Cloudflare scannable credential, from its 40 random ones.
pub fn cloudflare_suffix(body: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(body))
}

/// The Bech32 alphabet (BIP 173), by 5-bit value.
pub const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn bech32_polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = (chk & 0x01ff_ffff) << 5 ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn bech32_hrp_expand(hrp: &[u8]) -> impl Iterator<Item = u8> + '_ {
    hrp.iter()
        .map(|b| b >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.iter().map(|b| b & 31))
}

/// Whether `s` is a valid Bech32 string (BIP 173, checksum constant 1): a human-readable part,
/// the last `1`, data characters and a 6-character checksum, all in one case.
pub fn bech32_valid(s: &[u8]) -> bool {
    let lower = s.iter().any(u8::is_ascii_lowercase);
    let upper = s.iter().any(u8::is_ascii_uppercase);
    if lower && upper {
        return false;
    }
    let s = s.to_ascii_lowercase();
    let Some(sep) = s.iter().rposition(|&b| b == b'1') else {
        return false;
    };
    let (hrp, data) = (&s[..sep], &s[sep + 1..]);
    if hrp.is_empty() || data.len() < 6 || hrp.iter().any(|&b| !(33..=126).contains(&b)) {
        return false;
    }
    let mut values = Vec::with_capacity(data.len());
    for &c in data {
        match BECH32_CHARSET.iter().position(|&x| x == c) {
            Some(v) => values.push(v as u8),
            None => return false,
        }
    }
    bech32_polymod(bech32_hrp_expand(hrp).chain(values)) == 1
}

/// The 6 checksum characters (lower case) Bech32 appends to `hrp` and the 5-bit `data`.
pub fn bech32_checksum(hrp: &[u8], data: &[u8]) -> String {
    let pm = bech32_polymod(
        bech32_hrp_expand(hrp)
            .chain(data.iter().copied())
            .chain([0u8; 6]),
    ) ^ 1;
    (0..6)
        .map(|i| BECH32_CHARSET[((pm >> (5 * (5 - i))) & 31) as usize] as char)
        .collect()
}

/// Bytes regrouped as 5-bit values, the last one zero-padded (Bech32's data part).
pub fn to_5bit(bytes: &[u8]) -> Vec<u8> {
    let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        out.push(((acc << (5 - bits)) & 31) as u8);
    }
    out
}

/// age X25519 identity (`AGE-SECRET-KEY-1...`): upper-case Bech32 with the human-readable
/// part `age-secret-key-` and a 32-byte key, as the age specification (C2SP age) defines it.
pub fn age_bech32(token: &[u8]) -> bool {
    token.len() == 74 && token.starts_with(b"AGE-SECRET-KEY-1") && bech32_valid(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flip_each(tok: &str, alphabet: &[u8], check: fn(&[u8]) -> bool) {
        for i in 0..tok.len() {
            let mut b = tok.as_bytes().to_vec();
            let pos = alphabet.iter().position(|&c| c == b[i]).unwrap_or(0);
            b[i] = alphabet[(pos + 1) % alphabet.len()];
            assert!(!check(&b), "flip at {i} still validates");
        }
    }

    /// Microsoft's documentation example PAT (tokens/httpExamples/Pats/CreatePat.json).
    #[test]
    fn ado_legacy_accepts_the_published_example_and_rejects_a_random_run() {
        assert!(azure_devops_legacy(
            b"dip55dwf4vpitomw63jzvomefmi2jluguprzwwqwuc6xq4fhocwq"
        ));
        assert!(!azure_devops_legacy(
            b"zpczok4kqgnw5prpfy3ehiylbqvgbjfkdiqkejsxqamy7qbkep7q"
        ));
        flip_each(
            "dip55dwf4vpitomw63jzvomefmi2jluguprzwwqwuc6xq4fhocwq",
            b"abcdefghijklmnopqrstuvwxyz234567",
            azure_devops_legacy,
        );
    }

    #[test]
    fn ado_cask_accepts_the_public_known_answer() {
        let kat =
            "6RtqHqPc66Y6DYbkydbrrFJTYnRoA7r40ts7LWS2SkINSFsRABxhJQQJ99BFACAAAAALGcqjAAASAZDO3eqU";
        assert_eq!(
            azure_devops_cask_checksum(&kat.as_bytes()[..80]).unwrap(),
            "3eqU"
        );
        assert!(azure_devops_cask(kat.as_bytes()));
        flip_each(
            kat,
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            azure_devops_cask,
        );
    }

    /// The base64-checksum period's tokens (and the 88-character long form) validate; one
    /// flipped character, a base64url character or a wrong length does not.
    #[test]
    fn ado_cask_accepts_the_base64_checksum_forms() {
        let mut with_special = 0;
        for seed in 0..400u64 {
            let t = crate::rules::sample::azure_devops_pat_base64_checksum(
                &mut crate::rules::sample::Rng::new(seed),
            );
            assert_eq!(t.len(), 84);
            assert!(azure_devops_cask(t.as_bytes()), "{t}");
            if t[80..].contains(['+', '/']) {
                with_special += 1;
            }
            let b64 = azure_devops_cask_checksum_base64(&t.as_bytes()[..80]).unwrap();
            assert_eq!(&b64[..4], &t[80..]);
            let long = format!("{}{}", &t[..80], b64);
            assert_eq!(long.len(), 88);
            assert!(azure_devops_cask(long.as_bytes()), "{long}");
            // A long form whose tail is cut or altered is not a token.
            let mut bad = long.clone().into_bytes();
            bad[85] = if bad[85] == b'A' { b'B' } else { b'A' };
            assert!(!azure_devops_cask(&bad));
            assert!(!azure_devops_cask(&long.as_bytes()[..86]));
            let url = t.replace('+', "-").replace('/', "_");
            if url != t {
                assert!(!azure_devops_cask(url.as_bytes()), "{url}");
            }
            for i in [0, 40, 79, 80, 83] {
                let f = crate::rules::sample::flip_at(&t, i);
                assert!(!azure_devops_cask(f.as_bytes()), "flip at {i}: {f}");
            }
        }
        assert!(
            with_special > 10,
            "{with_special} tokens with + or / in the checksum"
        );
    }

    /// The base64 form of the published known answer is a different, equally valid token.
    #[test]
    fn ado_cask_known_answer_in_both_encodings() {
        let kat =
            "6RtqHqPc66Y6DYbkydbrrFJTYnRoA7r40ts7LWS2SkINSFsRABxhJQQJ99BFACAAAAALGcqjAAASAZDO3eqU";
        let b64 = azure_devops_cask_checksum_base64(&kat.as_bytes()[..80]).unwrap();
        // Marvin32 bytes (LE) behind "3eqU": the base62 and base64 forms differ.
        assert_eq!(b64.len(), 8);
        assert!(b64.ends_with("=="));
        assert_ne!(&b64[..4], "3eqU");
        let other = format!("{}{}", &kat[..80], &b64[..4]);
        assert!(azure_devops_cask(other.as_bytes()));
        assert!(azure_devops_cask(format!("{}{b64}", &kat[..80]).as_bytes()));
        // The base62 checksum is not a valid long-form tail.
        assert!(!azure_devops_cask(format!("{kat}AA==").as_bytes()));
    }

    #[test]
    fn github_and_npm_crc32_accept_public_examples() {
        for kat in [
            "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",
            "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",
        ] {
            assert!(github_crc32(kat.as_bytes()), "{kat}");
            flip_each(&kat[4..], B62, |b| {
                let mut t = b"ghp_".to_vec();
                t.extend_from_slice(b);
                github_crc32(&t)
            });
        }
    }

    #[test]
    fn gitlab_routable_accepts_the_public_example() {
        let kat = "glpat-vSY1cyL948aAB440qB6L4zlu9OzsUmEV.01.0w0sfevch";
        assert!(gitlab_routable_crc32(kat.as_bytes()));
        assert!(!gitlab_routable_crc32(
            b"glpat-vSY1cyL948aAB440qB6L4zlu9OzsUmEV.01.0w0sfevci"
        ));
    }

    /// Known answers computed with an independent implementation (Python's `zlib.crc32`).
    #[test]
    fn atlassian_crc32_known_answer_in_either_case() {
        let head = format!("ATATT3xFfGF0{}=", "Zm9vYmFyYmF6cXV4".repeat(10));
        assert_eq!(atlassian_suffix(head.as_bytes()), "1D8D2149");
        assert!(atlassian_crc32(format!("{head}1D8D2149").as_bytes()));
        assert!(atlassian_crc32(format!("{head}1d8d2149").as_bytes()));
        assert!(!atlassian_crc32(format!("{head}1D8D2148").as_bytes()));
        assert!(!atlassian_crc32(format!("{head}+D8D2149").as_bytes()));
        let no_equals = format!("{}1D8D2149", &head[..head.len() - 1]);
        assert!(!atlassian_crc32(no_equals.as_bytes()));
    }

    /// An unversioned routable token (`glpat-<payload>.<length><crc>`), computed with Python's
    /// `zlib.crc32`: the same CRC-32 rule as the versioned form.
    #[test]
    fn gitlab_unversioned_routable_known_answer() {
        let kat = "glpat-dGhpcyBpcyBub3QgYSByZWFsIHRva2VuIGF0IGFsbA.16024uk22";
        assert!(gitlab_routable_crc32(kat.as_bytes()));
        assert!(!gitlab_routable_crc32(
            crate::rules::sample::flip_at(kat, 10).as_bytes()
        ));
    }

    /// Grafana's own test value (`satokengen/tokengen_test.go`), and its checksum rejected after
    /// one flipped character, in upper case, or without the separator.
    #[test]
    fn grafana_crc32_accepts_grafanas_known_answer() {
        let kat = "glsa_iNValIdinValiDinvalidinvalidinva_5b582697";
        assert_eq!(
            grafana_suffix(b"glsa_iNValIdinValiDinvalidinvalidinva"),
            "5b582697"
        );
        assert!(grafana_crc32(kat.as_bytes()));
        flip_each(
            kat,
            b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            grafana_crc32,
        );
        assert!(!grafana_crc32(kat.to_uppercase().as_bytes()));
        assert!(!grafana_crc32(
            b"glsa_iNValIdinValiDinvalidinvalidinva5b582697"
        ));
        assert!(!grafana_crc32(b""));
    }

    #[test]
    fn base32_round_trips() {
        for n in 0..40u8 {
            let v: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
            let enc = base32_lower_encode(&v);
            let dec = base32_lower_decode(enc.as_bytes()).unwrap();
            assert_eq!(&dec[..v.len()], &v[..]);
        }
    }
    /// BIP 173's published valid and invalid Bech32 strings, and the public key in age's
    /// README (a Bech32 string with the `age` part).
    #[test]
    fn bech32_accepts_the_published_vectors_and_rejects_broken_ones() {
        for ok in [
            "A12UEL5L",
            "a12uel5l",
            "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
            "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
            "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        ] {
            assert!(bech32_valid(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "A1G7SGD8", // checksum from the wrong (upper-case) data
            "10a06t8",  // empty human-readable part
            "1qzzfhee", // empty human-readable part
            "A12UeL5L", // mixed case
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx",
        ] {
            assert!(!bech32_valid(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn age_and_cloudflare_round_trip_and_reject_flips() {
        let key = [7u8; 32];
        let data = to_5bit(&key);
        assert_eq!(data.len(), 52);
        let chk = bech32_checksum(b"age-secret-key-", &data);
        let body: String = data
            .iter()
            .map(|&v| BECH32_CHARSET[v as usize] as char)
            .collect();
        let tok = format!("AGE-SECRET-KEY-1{}{}", body, chk).to_ascii_uppercase();
        assert!(age_bech32(tok.as_bytes()), "{tok}");
        flip_each(&tok[16..], b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", |t| {
            age_bech32(format!("AGE-SECRET-KEY-1{}", std::str::from_utf8(t).unwrap()).as_bytes())
        });
        let cf = format!(
            "cfut_{}{}",
            "Ab3".repeat(13) + "Z",
            cloudflare_suffix(("Ab3".repeat(13) + "Z").as_bytes())
        );
        assert!(cloudflare_crc32(cf.as_bytes()));
        assert!(!cloudflare_crc32(cf.to_uppercase().as_bytes()));
        flip_each(&cf[5..], b"0123456789abcdef", |t| {
            cloudflare_crc32(&[b"cfut_", t].concat())
        });
    }
}
