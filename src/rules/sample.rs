//! Format-valid FAKE tokens, generated from a seed, for rule examples, tests and benches.
//!
//! These mirror the generators in ../shared/bench/gen_synthetic.py: random bytes with a correct
//! embedded checksum where the format has one. None is, or was, a live credential. Rule files
//! refer to them with placeholders (`${TOKEN}`, see [`expand`]), so no secret-shaped literal is
//! committed and a scan of this repository stays clean.

use base64::Engine as _;

use super::checksum;

/// A small deterministic generator (SplitMix64): same seed, same tokens, on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `n` characters drawn from `alphabet`.
    pub fn string(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// `[A-Za-z0-9]`.
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DIGITS: &[u8] = b"0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const BASE32_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Legacy 52-character Azure DevOps PAT with a valid CRC-32 (user PAT seed).
pub fn azure_devops_pat_legacy(r: &mut Rng) -> String {
    let b: [u8; 32] = r.bytes(32).try_into().expect("32 bytes");
    checksum::azure_devops_legacy_seal(b, checksum::ADO_LEGACY_SEEDS[0])
}

/// 84-character Azure DevOps PAT: 52 random, `JQQJ99`, year, month, 12 reserved, `AAAS`, `AZDO`,
/// Marvin32 checksum in base62.
pub fn azure_devops_pat(r: &mut Rng) -> String {
    let first80 = azure_devops_pat_head(r);
    let chk = checksum::azure_devops_cask_checksum(first80.as_bytes()).expect("base64 alphabet");
    first80 + &chk
}

/// 84-character Azure DevOps PAT as minted from about November 2024 to February 2025: the
/// checksum is the first 4 characters of the base64 of the Marvin32 bytes (`+`, `/` possible).
pub fn azure_devops_pat_base64_checksum(r: &mut Rng) -> String {
    let first80 = azure_devops_pat_head(r);
    let chk =
        checksum::azure_devops_cask_checksum_base64(first80.as_bytes()).expect("base64 alphabet");
    first80 + &chk[..4]
}

/// The first 80 characters of an 84-character PAT, everything before the checksum.
fn azure_devops_pat_head(r: &mut Rng) -> String {
    let head = r.string(ALNUM, 52);
    let year = r.string(b"ABC", 1);
    let month = r.string(b"ABCDEFGHIJKL", 1);
    let reserved = format!("ACAAAAA{}", r.string(ALNUM, 5));
    format!("{head}JQQJ99{year}{month}{reserved}AAASAZDO")
}

fn crc_b62(r: &mut Rng, prefix: &str) -> String {
    let body = r.string(ALNUM, 30);
    let chk = checksum::github_crc32_suffix(body.as_bytes());
    format!("{prefix}{body}{chk}")
}

/// GitHub fine-grained PAT with the checksum layout of [`checksum::github_fine_grained`].
pub fn github_pat_fine_grained(r: &mut Rng) -> String {
    let head = format!(
        "github_pat_11{}_{}",
        r.string(UPPER_DIGITS, 20),
        r.string(ALNUM, 43)
    );
    let chk = checksum::github_fine_grained_check(head.as_bytes());
    format!("{head}{chk}{}", r.string(ALNUM, 8))
}

/// GitLab routable PAT: base64url payload, `.01.`, base36 length, base36 CRC-32.
pub fn gitlab_pat_routable(r: &mut Rng) -> String {
    let mut payload = r.bytes(16);
    payload.extend_from_slice(
        format!(
            "o:{}\nu:{}\n",
            checksum::base36(1 + r.next_u64() % 9_999_999, 0),
            checksum::base36(1 + r.next_u64() % 99_999_999, 0)
        )
        .as_bytes(),
    );
    payload.push(payload.len() as u8 + 1);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&payload);
    let head = format!("glpat-{b64}.01.{}", checksum::base36(b64.len() as u64, 2));
    let chk = checksum::gitlab_routable_suffix(head.as_bytes());
    head + &chk
}

fn slack_numbers(r: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let len = [10, 11, 12, 13][r.below(4)];
            r.string(DIGITS, len)
        })
        .collect()
}

/// The sample generator for a built-in rule id, if it has one.
pub fn generator(rule_id: &str) -> Option<fn(&mut Rng) -> String> {
    Some(match rule_id {
        "azure_devops.pat" => azure_devops_pat,
        "azure_devops.pat_legacy" => azure_devops_pat_legacy,
        "github.pat_classic" => |r| crc_b62(r, "ghp_"),
        "github.oauth_token" => |r| crc_b62(r, "gho_"),
        "github.app_token" => |r| crc_b62(r, "ghs_"),
        "github.pat_fine_grained" => github_pat_fine_grained,
        "gitlab.pat" => |r| format!("glpat-{}", r.string(B64URL, 20)),
        "gitlab.pat_routable" => gitlab_pat_routable,
        "gitlab.deploy_token" => |r| format!("gldt-{}", r.string(B64URL, 20)),
        "gitlab.runner_token" => |r| format!("glrt-{}", r.string(B64URL, 20)),
        "npm.token" => |r| crc_b62(r, "npm_"),
        "pypi.token" => |r| format!("pypi-AgEIcHlwaS5vcmc{}", r.string(B64URL, 70)),
        "slack.bot_token" => |r| {
            let n = slack_numbers(r, 2);
            format!("xoxb-{}-{}-{}", n[0], n[1], r.string(ALNUM, 24))
        },
        "slack.user_token" => |r| {
            let n = slack_numbers(r, 3);
            format!("xoxp-{}-{}-{}-{}", n[0], n[1], n[2], r.string(HEX, 32))
        },
        "slack.config_token" => |r| format!("xoxe.xoxp-1-{}", r.string(UPPER_DIGITS, 150)),
        "atlassian.api_token" => |r| {
            let body = r.string(B64URL, 180);
            format!("ATATT3xFfGF0{body}={}", r.string(b"0123456789ABCDEF", 8))
        },
        "huggingface.token" => |r| format!("hf_{}", r.string(LETTERS, 34)),
        "openai.api_key" => |r| {
            format!(
                "sk-proj-{}T3BlbkFJ{}",
                r.string(B64URL, 74),
                r.string(B64URL, 74)
            )
        },
        "anthropic.api_key" => |r| format!("sk-ant-api03-{}AA", r.string(B64URL, 93)),
        "stripe.secret_key" => |r| format!("sk_live_{}", r.string(ALNUM, 99)),
        "azure_storage.account_key" => {
            |r| base64::engine::general_purpose::STANDARD.encode(r.bytes(64))
        }
        "aws.access_key" => |r| {
            format!(
                "AKIA{}:{}",
                r.string(BASE32_UPPER, 16),
                base64::engine::general_purpose::STANDARD.encode(r.bytes(30))
            )
        },
        _ => return None,
    })
}

/// One sample token for `rule_id` from `seed`.
pub fn sample(rule_id: &str, seed: u64) -> Option<String> {
    generator(rule_id).map(|g| g(&mut Rng::new(seed)))
}

/// Expands the placeholders rule examples may use, for the rule's `token`:
///
/// | placeholder | becomes |
/// |---|---|
/// | `${TOKEN}` | the token |
/// | `${TOKEN_HEAD}` / `${TOKEN_TAIL}` | the part before / after the first `:` (for pairs such as AWS) |
/// | `${TOKEN_FLIPPED}` | the token with its last character changed (a broken checksum) |
/// | `${B64_TOKEN}` | base64 of the token |
/// | `${B64_COLON_TOKEN}` | base64 of `:token` (Basic auth with an empty user) |
/// | `${B64_COLON_TOKEN_FLIPPED}` | base64 of `:` and the flipped token |
/// | `${B64_USER_TOKEN}` | base64 of `user:token` |
pub fn expand(template: &str, token: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let (head, tail) = token.split_once(':').unwrap_or((token, ""));
    template
        .replace(
            "${B64_COLON_TOKEN_FLIPPED}",
            &b64(&format!(":{}", flip_last(token))),
        )
        .replace("${TOKEN_FLIPPED}", &flip_last(token))
        .replace("${TOKEN_HEAD}", head)
        .replace("${TOKEN_TAIL}", tail)
        .replace("${B64_TOKEN}", &b64(token))
        .replace("${B64_COLON_TOKEN}", &b64(&format!(":{token}")))
        .replace("${B64_USER_TOKEN}", &b64(&format!("user:{token}")))
        .replace("${TOKEN}", token)
}

/// The token with its last character replaced by the next one of the same class.
pub fn flip_last(token: &str) -> String {
    flip_at(token, token.len().saturating_sub(1))
}

/// The token with the character at byte `i` replaced by the next one of the same class.
pub fn flip_at(token: &str, i: usize) -> String {
    let mut b = token.as_bytes().to_vec();
    if let Some(last) = b.get_mut(i) {
        *last = match *last {
            b'z' => b'a',
            b'Z' => b'A',
            b'9' => b'0',
            b'7' => b'2',
            b'a'..=b'y' | b'A'..=b'Y' | b'0'..=b'8' => *last + 1,
            _ => b'x',
        };
    }
    String::from_utf8(b).expect("ascii")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_pass_their_checksums() {
        let mut r = Rng::new(7);
        for _ in 0..50 {
            assert!(checksum::azure_devops_legacy(
                azure_devops_pat_legacy(&mut r).as_bytes()
            ));
            let t = azure_devops_pat(&mut r);
            assert_eq!(t.len(), 84);
            assert!(checksum::azure_devops_cask(t.as_bytes()));
            assert!(checksum::github_crc32(crc_b62(&mut r, "ghp_").as_bytes()));
            assert!(checksum::gitlab_routable_crc32(
                gitlab_pat_routable(&mut r).as_bytes()
            ));
            let f = github_pat_fine_grained(&mut r);
            assert_eq!(f.len(), 93);
            assert!(checksum::github_fine_grained(f.as_bytes()));
        }
    }

    #[test]
    fn flipping_the_last_character_breaks_every_checksum() {
        let mut r = Rng::new(9);
        for _ in 0..50 {
            let t = azure_devops_pat_legacy(&mut r);
            // The legacy token's last character only holds padding bits besides one data bit;
            // flipping it still must not validate.
            assert!(
                !checksum::azure_devops_legacy(flip_last(&t).as_bytes()),
                "{t}"
            );
            assert!(!checksum::azure_devops_cask(
                flip_last(&azure_devops_pat(&mut r)).as_bytes()
            ));
            assert!(!checksum::github_crc32(
                flip_last(&crc_b62(&mut r, "npm_")).as_bytes()
            ));
        }
    }

    #[test]
    fn same_seed_same_sample() {
        assert_eq!(sample("npm.token", 3), sample("npm.token", 3));
        assert_ne!(sample("npm.token", 3), sample("npm.token", 4));
        assert!(sample("nope.none", 1).is_none());
    }
}
