//! Format-valid FAKE tokens, generated from a seed, for rule examples, tests and benches.
//!
//! These mirror the generators in ../shared/bench/gen_synthetic.py: random bytes with a correct
//! embedded checksum where the format has one. None is, or was, a live credential. Rule files
//! refer to them with placeholders (`${TOKEN}`, see [`expand`]), so no secret-shaped literal is
//! committed and a scan of this repository stays clean.

use base64::Engine as _;

use super::checksum;
use super::checksum::identifiable;

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
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const BASE32_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const LOWER_DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
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

/// GitLab routable PAT: base64url payload, `.01.` (versioned, or `.` alone, unversioned, one
/// sample in two), base36 length, base36 CRC-32.
pub fn gitlab_pat_routable(r: &mut Rng) -> String {
    let versioned = r.below(2) == 0;
    gitlab_routable(r, "glpat-", versioned)
}

fn slack_numbers(r: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let len = [10, 11, 12, 13][r.below(4)];
            r.string(DIGITS, len)
        })
        .collect()
}

/// A sample generator.
pub type Generator = Box<dyn Fn(&mut Rng) -> String + Send + Sync>;

/// Samples of the rules whose token is a prefix and random runs: `{c:n}` is `n` characters of
/// class `c` (`a` alphanumeric, `h` lower-case hex, `u` base64url, `s` lower-case base32, `l`
/// lower-case alphanumeric, `d` digits, `U` upper-case alphanumeric, `L` letters), the rest is
/// literal.
const TEMPLATES: &[(&str, &str)] = &[
    ("docker.pat", "dckr_pat_{u:27}"),
    ("docker.org_access_token", "dckr_oat_{u:32}"),
    ("nuget.api_key", "oy2{s:43}"),
    ("bitbucket.app_password", "ATBB{a:32}"),
    ("postman.api_key", "PMAK-{h:24}-{h:34}"),
    ("digitalocean.pat", "dop_v1_{h:64}"),
    ("digitalocean.oauth_token", "doo_v1_{h:64}"),
    ("digitalocean.refresh_token", "dor_v1_{h:64}"),
    ("grafana.cloud_token", "glc_{a:80}"),
    ("hashicorp_vault.service_token", "hvs.{u:91}"),
    ("hashicorp_vault.batch_token", "hvb.{u:138}"),
    ("hashicorp_vault.recovery_token", "hvr.{u:24}"),
    ("terraform.api_token", "{a:14}.atlasv1.{a:67}"),
    ("shopify.access_token", "shpat_{h:32}"),
    ("shopify.custom_app_token", "shpca_{h:32}"),
    ("shopify.private_app_token", "shppa_{h:32}"),
    ("shopify.shared_secret", "shpss_{h:32}"),
    ("sentry.user_token", "sntryu_{h:64}"),
    ("sentry.org_token", "sntrys_eyJ{a:140}"),
    ("linear.api_key", "lin_api_{a:40}"),
    ("linear.oauth_token", "lin_oauth_{h:64}"),
    ("databricks.pat", "dapi{h:32}"),
    ("jfrog.reference_token", "cmVmdGtuOjAxOj{a:50}"),
    ("jfrog.api_key", "AKCp{a:69}"),
    ("heroku.api_key", "HRKU-AA{u:58}"),
    ("rubygems.api_key", "rubygems_{h:48}"),
    ("crates_io.token", "cio{a:32}"),
    ("doppler.personal_token", "dp.pt.{a:43}"),
    ("doppler.service_token", "dp.st.prd.{a:43}"),
    ("doppler.service_account_token", "dp.sa.{a:43}"),
    ("doppler.cli_token", "dp.ct.{a:43}"),
    ("doppler.scim_token", "dp.scim.{a:43}"),
    ("doppler.audit_token", "dp.audit.{a:43}"),
    ("pulumi.access_token", "pul-{h:40}"),
    ("sendgrid.api_key", "SG.{u:22}.{u:43}"),
    ("google.api_key", "AIza{u:35}"),
    ("google.oauth_client_secret", "GOCSPX-{u:28}"),
    ("newrelic.user_api_key", "NRAK-{U:27}"),
    ("newrelic.insert_key", "NRII-{u:32}"),
    ("dynatrace.api_token", "dt0c01.{U:24}.{U:64}"),
    ("planetscale.service_token", "pscale_tkn_{a:43}"),
    ("planetscale.password", "pscale_pw_{a:43}"),
    ("supabase.access_token", "sbp_{h:40}"),
    ("figma.pat", "figd_{u:40}"),
    ("notion.integration_token", "ntn_{d:11}{a:35}"),
    ("mapbox.secret_token", "sk.eyJ{u:70}.{u:22}"),
    ("sonarqube.token", "squ_{h:40}"),
    ("buildkite.api_token", "bkua_{h:40}"),
    ("circleci.pat", "CCIPAT_{a:22}_{h:40}"),
    ("contentful.pat", "CFPAT-{u:43}"),
    ("tailscale.key", "tskey-auth-{a:13}-{a:33}"),
    ("groq.api_key", "gsk_{a:52}"),
    ("replicate.api_token", "r8_{a:37}"),
    ("langsmith.api_key", "lsv2_pt_{h:32}_{h:10}"),
    ("xai.api_key", "xai-{a:80}"),
    ("adafruit.io_key", "aio_{a:28}"),
    ("prefect.api_key", "pnu_{a:36}"),
    ("readme.api_key", "rdme_{l:70}"),
    ("clojars.deploy_token", "CLOJARS_{l:60}"),
    ("onepassword.service_account_token", "ops_eyJ{a:300}"),
    ("infracost.api_key", "ico-{a:32}"),
    ("square.access_token", "EAAA{u:60}"),
    ("square.oauth_secret", "sq0csp-{u:43}"),
    ("flutterwave.secret_key", "FLWSECK-{h:32}-X"),
    ("shippo.live_token", "shippo_live_{h:40}"),
    ("easypost.api_key", "EZAK{a:54}"),
    ("duffel.live_token", "duffel_live_{u:43}"),
    ("frameio.developer_token", "fio-u-{u:64}"),
    ("render.api_key", "rnd_{a:32}"),
    ("neon.api_key", "napi_{l:64}"),
];

/// Expands a sample template (`{c:n}` placeholders, see the template table in this file).
pub fn from_template(r: &mut Rng, template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let j = rest[i..].find('}').expect("closed placeholder") + i;
        let (class, n) = rest[i + 1..j].split_once(':').expect("class:n");
        let n: usize = n.parse().expect("a length");
        let alphabet: &[u8] = match class {
            "a" => ALNUM,
            "h" => HEX,
            "u" => B64URL,
            "s" => b"abcdefghijklmnopqrstuvwxyz234567",
            "l" => b"abcdefghijklmnopqrstuvwxyz0123456789",
            "d" => DIGITS,
            "U" => UPPER_DIGITS,
            "L" => LETTERS,
            _ => panic!("unknown class {class}"),
        };
        out.push_str(&r.string(alphabet, n));
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    out
}

/// The sample generator for a built-in rule id, if it has one.
pub fn generator(rule_id: &str) -> Option<Generator> {
    if let Some(g) = structured_generator(rule_id) {
        return Some(g);
    }
    if let Some((_, t)) = TEMPLATES.iter().find(|(id, _)| *id == rule_id) {
        return Some(Box::new(move |r: &mut Rng| from_template(r, t)));
    }
    if let Some(g) = azure_generator(rule_id) {
        return Some(g);
    }
    if let Some(g) = breadth_generator(rule_id) {
        return Some(g);
    }
    let g: fn(&mut Rng) -> String = match rule_id {
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
            let head = format!("ATATT3xFfGF0{}=", r.string(B64URL, 180));
            let chk = checksum::atlassian_suffix(head.as_bytes());
            head + &chk
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
        "github.refresh_token" => |r| crc_b62_n(r, "ghr_", 70),
        "github.app_installation_stateless" => github_stateless_installation,
        "gitlab.runner_token_routable" => |r| gitlab_routable(r, "glrt-t1_", true),
        "gitlab.token_routable" => |r| {
            let p = [
                "glcbt-", "gldt-", "glft-", "glsoat-", "gloas-", "glimt-", "glwt-",
            ][r.below(7)];
            let versioned = r.below(2) == 0;
            gitlab_routable(r, p, versioned)
        },
        "gitlab.ci_job_token" => |r| format!("glcbt-{}_{}", r.string(HEX, 2), r.string(B64URL, 20)),
        "gitlab.pipeline_trigger_token" => |r| format!("glptt-{}", r.string(HEX, 40)),
        "gitlab.feed_token" => |r| format!("glft-{}", r.string(B64URL, 20)),
        "gitlab.scim_token" => |r| format!("glsoat-{}", r.string(B64URL, 20)),
        "gitlab.oauth_app_secret" => |r| format!("gloas-{}", r.string(HEX, 64)),
        "gitlab.agent_token" => |r| format!("glagent-{}", r.string(B64URL, 50)),
        "gitlab.incoming_mail_token" => |r| format!("glimt-{}", r.string(LOWER_DIGITS, 25)),
        "gitlab.workspace_token" => |r| format!("glwt-{}", r.string(B64URL, 20)),
        "gitlab.feature_flags_token" => |r| format!("glffct-{}", r.string(B64URL, 20)),
        "gitlab.runner_registration_token" => |r| format!("GR1348941{}", r.string(B64URL, 20)),
        "pypi.test_token" => |r| format!("pypi-AgENdGVzdC5weXBpLm9yZw{}", r.string(B64URL, 70)),
        "slack.app_token" => |r| {
            format!(
                "xapp-1-A{}-{}-{}",
                r.string(UPPER_DIGITS, 10),
                r.string(DIGITS, 13),
                r.string(HEX, 64)
            )
        },
        "slack.webhook_url" => |r| {
            format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                r.string(UPPER_DIGITS, 10),
                r.string(UPPER_DIGITS, 10),
                r.string(ALNUM, 24)
            )
        },
        "huggingface.org_token" => |r| format!("api_org_{}", r.string(LETTERS, 34)),
        "stripe.webhook_secret" => |r| format!("whsec_{}", r.string(ALNUM, 32)),
        "discord.webhook_url" => |r| {
            format!(
                "https://discord.com/api/webhooks/{}/{}",
                r.string(DIGITS, 18),
                r.string(B64URL, 68)
            )
        },
        "private_key.pem" => pem_private_key,
        _ => return None,
    };
    Some(Box::new(g))
}

/// `<prefix><random><6-char base62 CRC-32>` with `n` random characters.
fn crc_b62_n(r: &mut Rng, prefix: &str, n: usize) -> String {
    let body = r.string(ALNUM, n);
    let chk = checksum::github_crc32_suffix(body.as_bytes());
    format!("{prefix}{body}{chk}")
}

/// A stateless installation token: `ghs_<app id>_<header>.<payload>.<signature>`.
pub fn github_stateless_installation(r: &mut Rng) -> String {
    let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let header = b(r#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = b(&format!(
        r#"{{"iss":"{}","exp":{},"installation_id":{},"jti":"{}"}}"#,
        r.string(DIGITS, 7),
        1_790_000_000 + r.below(1_000_000),
        r.string(DIGITS, 8),
        r.string(ALNUM, 16)
    ));
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r.bytes(256));
    format!("ghs_{}_{header}.{payload}.{sig}", r.string(DIGITS, 7))
}

/// A GitLab routable token with `prefix`: base64url payload, `.01.` when `versioned` (else
/// `.`), the base36 payload length and the base36 CRC-32 of everything before it.
pub fn gitlab_routable(r: &mut Rng, prefix: &str, versioned: bool) -> String {
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
    let version = if versioned { ".01." } else { "." };
    let head = format!(
        "{prefix}{b64}{version}{}",
        checksum::base36(b64.len() as u64, 2)
    );
    let chk = checksum::gitlab_routable_suffix(head.as_bytes());
    head + &chk
}

/// A PEM private key block of random base64 lines.
fn pem_private_key(r: &mut Rng) -> String {
    let kind = ["RSA ", "EC ", "OPENSSH ", ""][r.below(4)];
    let body: Vec<String> = (0..12)
        .map(|_| base64::engine::general_purpose::STANDARD.encode(r.bytes(48)))
        .collect();
    format!(
        "-----BEGIN {kind}PRIVATE KEY-----\n{}\n-----END {kind}PRIVATE KEY-----",
        body.join("\n")
    )
}

/// An identifiable base64 key of `kind`: random bytes with the signature in place, sealed
/// under one of the kind's seeds. (The signature's bits end before the checksum's begin, for
/// every kind, so sealing never disturbs it.) Azure Search keys are base62 only, as
/// Microsoft's generator keeps them.
pub fn azure_identifiable(r: &mut Rng, kind: &identifiable::IdentifiableKind) -> String {
    let bytes_total = kind.length / 4 * 3 - {
        // 88 -> 64, 56 -> 40, 52 -> 39, 44 -> 32: the padding removes bytes.
        match kind.length {
            88 | 56 => 2,
            44 => 1,
            _ => 0,
        }
    };
    let padding = (3 - bytes_total % 3) % 3;
    let chars = kind.length - padding;
    let alphabet: &[u8] = if kind.signature == b"AzSe" {
        ALNUM
    } else {
        B64
    };
    loop {
        let mut text = r.string(alphabet, chars).into_bytes();
        text[chars - 10..chars - 6].copy_from_slice(kind.signature);
        // The character after the signature shares its high bits with the body's last byte,
        // which Microsoft's keys keep zero there (`[A-P]` for 32 bytes, `[A-D]` for 39).
        match kind.length {
            44 => text[chars - 6] = b"ABCDEFGHIJKLMNOP"[r.below(16)],
            52 => text[chars - 6] = b"ABCD"[r.below(4)],
            _ => {}
        }
        let body = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_allow_trailing_bits(true)
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        )
        .decode(&text)
        .expect("base64 alphabet");
        let seed = kind.seeds[r.below(kind.seeds.len())];
        let key = identifiable::identifiable_seal(&body[..bytes_total - 4], seed, kind.url_safe);
        if kind.signature != b"AzSe" || key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return key;
        }
    }
}

/// A CASK key (84 characters) with provider signature `sig` and provider data `data`.
pub fn azure_cask(r: &mut Rng, sig: &str, data: &str) -> String {
    let head = r.string(ALNUM, 52);
    let year = r.string(b"ABC", 1);
    let month = r.string(b"ABCDEFGHIJKL", 1);
    let first80 = format!(
        "{head}JQQJ99{year}{month}{}{data}{sig}",
        r.string(ALNUM, 12)
    );
    let chk = checksum::azure_devops_cask_checksum(first80.as_bytes()).expect("base64 alphabet");
    first80 + &chk
}

fn azure_generator(rule_id: &str) -> Option<Generator> {
    use identifiable as id;
    let cask = |sig: &'static str, data: &'static str| -> Generator {
        Box::new(move |r: &mut Rng| azure_cask(r, sig, data))
    };
    let key = |k: &'static id::IdentifiableKind| -> Generator {
        Box::new(move |r: &mut Rng| azure_identifiable(r, k))
    };
    Some(match rule_id {
        "azure_ai.services_key" => cask("ACOG", "AAAA"),
        "azure_ai.openai_key" => cask("ACOG", "AAAB"),
        "azure_cask.app_configuration_key" => cask("AZAC", "AAAA"),
        "azure_cask.fluid_relay_key" => cask("AZFR", "AAAA"),
        "azure_cask.event_grid_key" => cask("AZEG", "AAAA"),
        "azure_cask.mixed_reality_key" => cask("AZMR", "AAAA"),
        "azure_cask.maps_key" => cask("AZMP", "AAAA"),
        "azure_cask.communication_services_key" => cask("AZCS", "AAAA"),
        "azure_cask.sql_private_key" => cask("msql", "AAAA"),
        "azure_storage.identifiable_key" => key(&id::STORAGE),
        "azure_cosmos.identifiable_key" => key(&id::COSMOS),
        "azure_batch.identifiable_key" => key(&id::BATCH),
        "azure_ml.classic_web_service_key" => key(&id::ML_CLASSIC),
        "azure_apim.direct_management_key" => key(&id::APIM_DIRECT),
        "azure_apim.subscription_key" => key(&id::APIM_SUBSCRIPTION),
        "azure_apim.gateway_key" => key(&id::APIM_GATEWAY),
        "azure_apim.repository_key" => key(&id::APIM_REPOSITORY),
        "azure_redis.identifiable_key" => key(&id::REDIS),
        "azure_iot.hub_key" => key(&id::IOT_HUB),
        "azure_iot.dps_key" => key(&id::IOT_DPS),
        "azure_iot.device_key" => key(&id::IOT_DEVICE),
        "azure_event_grid.identifiable_key" => key(&id::EVENT_GRID),
        "azure_messaging.service_bus_key" => key(&id::SERVICE_BUS),
        "azure_messaging.event_hub_key" => key(&id::EVENT_HUB),
        "azure_messaging.relay_key" => key(&id::RELAY),
        "azure_functions.identifiable_key" => key(&id::FUNCTIONS),
        "azure_search.query_key" => key(&id::SEARCH_QUERY),
        "azure_search.admin_key" => key(&id::SEARCH_ADMIN),
        "azure_container_registry.identifiable_key" => key(&id::CONTAINER_REGISTRY),
        "entra.client_secret" => Box::new(entra_client_secret),
        _ => return None,
    })
}

/// An Entra ID client secret: 3 random, `8Q~`, 31 random, 3 checksum characters.
pub fn entra_client_secret(r: &mut Rng) -> String {
    let head = format!(
        "{}8Q~{}",
        r.string(identifiable::ENTRA_ALPHABET, 3),
        r.string(identifiable::ENTRA_ALPHABET, 31)
    );
    let chk = identifiable::entra_checksum(head.as_bytes());
    format!("{head}{}", &chk[..3])
}

/// Samples of the prefixed kinds added for detection breadth (#29), in the template syntax of
/// the table above.
const BREADTH_TEMPLATES: &[(&str, &str)] = &[
    ("openrouter.api_key", "sk-or-v1-{h:64}"),
    ("perplexity.api_key", "pplx-{a:48}"),
    ("nvidia.api_key", "nvapi-{u:64}"),
    ("togetherai.api_key", "tgp_v1_{u:43}"),
    ("cerebras.api_key", "csk-{l:48}"),
    ("runpod.api_key", "rpa_{U:40}{a:6}"),
    ("pinecone.api_key", "pcsk_{a:6}_{a:63}"),
    ("wandb.api_key", "wandb_v1_{a:77}"),
    ("flyio.access_token", "FlyV1 fm2_{u:120},fm2_{u:80}"),
    ("deno.deploy_token", "ddp_{a:36}"),
    ("scalingo.api_token", "tk-us-{u:48}"),
    ("openshift.user_token", "sha256~{u:43}"),
    ("sourcegraph.access_token", "sgp_{h:16}_{h:40}"),
    ("definednetworking.api_key", "dnkey-{U:26}-{U:52}"),
    ("harness.api_token", "pat.{u:22}.{h:24}.{a:20}"),
    ("rootly.api_key", "rootly_{h:64}"),
    ("apify.api_token", "apify_api_{a:36}"),
    ("supabase.secret_key", "sb_secret_{u:31}"),
    ("planetscale.oauth_token", "pscale_oauth_{a:43}"),
    ("docker.swarm_join_token", "SWMTKN-1-{l:50}-{l:25}"),
    ("docker.swarm_unlock_key", "SWMKEY-1-{a:43}"),
    ("telegram.bot_token", "{d:10}:AA{u:33}"),
    ("square.legacy_access_token", "sq0atp-{u:22}"),
    ("newrelic.rest_api_key", "NRRA-{h:42}"),
    ("newrelic.license_key", "{h:36}NRAL"),
    ("brevo.api_key", "xkeysib-{h:64}-{a:16}"),
    ("brevo.smtp_key", "xsmtpsib-{h:64}-{a:16}"),
    ("mailersend.api_token", "mlsn.{h:64}"),
    ("posthog.personal_api_key", "phx_{a:43}"),
    ("hubspot.private_app_token", "pat-na1-{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    ("typeform.pat", "tfp_{a:44}_{a:14}"),
    ("maxmind.license_key", "{a:6}_{a:29}_mmk"),
    ("yandex.cloud_api_key", "AQVN{u:36}"),
    ("onepassword.secret_key", "A3-{U:6}-{U:6}-{U:5}-{U:5}-{U:5}-{U:5}"),
    ("segment.public_api_token", "sgp_{a:64}"),
    ("adobe.client_secret", "p8e-{a:32}"),
    ("mongodb.atlas_service_account_secret", "mdb_sa_sk_{u:40}"),
    ("ramp.client_secret", "ramp_sec_{a:48}"),
    ("mercury.api_token", "mercury_production_wma_{a:44}_yrucrem"),
    ("onesignal.api_key", "os_v2_app_{s:103}"),
    ("persona.api_key", "persona_production_{l:40}"),
    ("intra42.client_secret", "s-s4t2ud-{h:64}"),
    ("samsara.api_token", "samsara_api_{a:30}"),
    ("datastax.astra_token", "AstraCS:{L:24}:{h:64}"),
    ("minimax.api_key", "sk-api-{u:119}"),
    ("slack.client_token", "xoxc-{d:12}-{d:12}-{d:13}-{h:64}"),
    ("slack.session_cookie", "xoxd-{u:150}%3D"),
    ("netlify.access_token", "nfp_{a:36}"),
    (
        "microsoft_teams.webhook_url",
        "https://contoso.webhook.office.com/webhookb2/{h:8}-{h:4}-{h:4}-{h:4}-{h:12}@{h:8}-{h:4}-{h:4}-{h:4}-{h:12}/IncomingWebhook/{h:32}/{h:8}-{h:4}-{h:4}-{h:4}-{h:12}/V2{u:43}",
    ),
    (
        "google.chat_webhook_url",
        "https://chat.googleapis.com/v1/spaces/AAAA{u:7}/messages?key=AIza{u:35}&token={u:43}",
    ),
    ("lark.webhook_url", "https://open.feishu.cn/open-apis/bot/v2/hook/{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    (
        "dingtalk.webhook_url",
        "https://oapi.dingtalk.com/robot/send?access_token={h:64}",
    ),
    (
        "wecom.webhook_url",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={h:8}-{h:4}-{h:4}-{h:4}-{h:12}",
    ),
];

/// Generators of the kinds added for detection breadth (#29): their templates, and the kinds
/// with a checksum.
fn breadth_generator(rule_id: &str) -> Option<Generator> {
    if let Some((_, t)) = BREADTH_TEMPLATES.iter().find(|(id, _)| *id == rule_id) {
        return Some(Box::new(move |r: &mut Rng| from_template(r, t)));
    }
    let g: fn(&mut Rng) -> String = match rule_id {
        "cloudflare.global_api_key" => |r| cloudflare(r, "cfk_"),
        "cloudflare.user_api_token" => |r| cloudflare(r, "cfut_"),
        "cloudflare.account_api_token" => |r| cloudflare(r, "cfat_"),
        "vercel.personal_access_token" => |r| crc_b62_n(r, "vcp_", 50),
        "vercel.integration_token" => |r| crc_b62_n(r, "vci_", 50),
        "vercel.app_access_token" => |r| crc_b62_n(r, "vca_", 50),
        "vercel.app_refresh_token" => |r| crc_b62_n(r, "vcr_", 50),
        "vercel.ai_gateway_key" => |r| crc_b62_n(r, "vck_", 50),
        "age.secret_key" => age_secret_key,
        "aws.bedrock_api_key" => aws_bedrock_api_key,
        "aws.bedrock_short_term_api_key" => aws_bedrock_short_term_api_key,
        _ => return None,
    };
    Some(Box::new(g))
}

/// A long-term Amazon Bedrock API key: `ABSK` and the base64 of the service-specific
/// credential's user name (`BedrockAPIKey-<id>-at-<account>`), `:` and its password.
pub fn aws_bedrock_api_key(r: &mut Rng) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let plain = format!(
        "BedrockAPIKey-{}-at-{}:{}",
        r.string(LOWER_DIGITS, 4),
        r.string(DIGITS, 12),
        b64.encode(r.bytes(45))
    );
    format!("ABSK{}", b64.encode(plain))
}

/// A short-term Amazon Bedrock API key: `bedrock-api-key-` and the base64 of a presigned
/// `bedrock.amazonaws.com` URL with a `Version=1` suffix.
pub fn aws_bedrock_short_term_api_key(r: &mut Rng) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let url = format!(
        "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=ASIA{}%2F20260101%2Fus-east-1%2Fbedrock%2Faws4_request\
         &X-Amz-Date=20260101T000000Z&X-Amz-Expires=43200&X-Amz-Security-Token={}\
         &X-Amz-Signature={}&X-Amz-SignedHeaders=host&Version=1",
        r.string(BASE32_UPPER, 16),
        b64.encode(r.bytes(300))
            .replace('+', "%2B")
            .replace('/', "%2F"),
        r.string(HEX, 64)
    );
    format!("bedrock-api-key-{}", b64.encode(url))
}

/// A Cloudflare scannable credential: `prefix`, 40 random, the hex CRC-32 of the 40.
pub fn cloudflare(r: &mut Rng, prefix: &str) -> String {
    let body = r.string(ALNUM, 40);
    let chk = checksum::cloudflare_suffix(body.as_bytes());
    format!("{prefix}{body}{chk}")
}

/// An age X25519 identity: a random 32-byte key as upper-case Bech32 with its checksum.
pub fn age_secret_key(r: &mut Rng) -> String {
    let data = checksum::to_5bit(&r.bytes(32));
    let body: String = data
        .iter()
        .map(|&v| checksum::BECH32_CHARSET[usize::from(v)] as char)
        .collect();
    let chk = checksum::bech32_checksum(b"age-secret-key-", &data);
    format!("AGE-SECRET-KEY-1{body}{chk}").to_ascii_uppercase()
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
/// | `${TOKEN_ESCAPED_EQUALS}` / `${TOKEN_PERCENT_EQUALS}` | the token with its last `=` written `\=` / `%3D` |
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
        .replace("${TOKEN_ESCAPED_EQUALS}", &escape_last_equals(token, "\\="))
        .replace("${TOKEN_PERCENT_EQUALS}", &escape_last_equals(token, "%3D"))
        .replace("${TOKEN_HEAD}", head)
        .replace("${TOKEN_TAIL}", tail)
        .replace("${B64_TOKEN}", &b64(token))
        .replace("${B64_COLON_TOKEN}", &b64(&format!(":{token}")))
        .replace("${B64_USER_TOKEN}", &b64(&format!("user:{token}")))
        .replace("${TOKEN}", token)
}

/// The token with its last `=` replaced by `escaped`.
pub fn escape_last_equals(token: &str, escaped: &str) -> String {
    match token.rfind('=') {
        Some(i) => format!("{}{escaped}{}", &token[..i], &token[i + 1..]),
        None => token.to_string(),
    }
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

/// Generators of the rules added for #29 (checksummed prefixes and structured secrets), kept
/// in one block apart from the template table.
fn structured_generator(rule_id: &str) -> Option<Generator> {
    let g: fn(&mut Rng) -> String = match rule_id {
        "grafana.service_account_token" => grafana_service_account_token,
        "connection_url.postgres"
        | "connection_url.mysql"
        | "connection_url.mongodb"
        | "connection_url.redis"
        | "connection_url.amqp"
        | "connection_url.sqlserver" => url_password,
        "supabase.service_role_key" => |r| supabase_jwt(r, "service_role", "supabase"),
        _ => return None,
    };
    Some(Box::new(g))
}

/// A Grafana service-account token: `glsa_`, 32 alphanumerics, `_`, the CRC-32 suffix.
pub fn grafana_service_account_token(r: &mut Rng) -> String {
    let head = format!("glsa_{}", r.string(ALNUM, 32));
    let chk = checksum::grafana_suffix(head.as_bytes());
    format!("{head}_{chk}")
}

/// A connection URL's password: 12 to 31 characters of letters, digits and the userinfo
/// punctuation people put in passwords (no `:` `@` `/`, which would need percent-encoding).
pub fn url_password(r: &mut Rng) -> String {
    const PW: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!*";
    let n = 12 + r.below(20);
    r.string(PW, n)
}

/// A Supabase legacy API key: an HS256 JWT with the claims Supabase issues (`iss`, `ref`,
/// `role`, `iat`, `exp`) and a random signature.
pub fn supabase_jwt(r: &mut Rng, role: &str, iss: &str) -> String {
    let b = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let iat = 1_650_000_000 + r.below(100_000_000);
    let payload = format!(
        r#"{{"iss":"{iss}","ref":"{}","role":"{role}","iat":{iat},"exp":{}}}"#,
        r.string(b"abcdefghijklmnopqrstuvwxyz", 20),
        iat + 315_360_000
    );
    format!(
        "{}.{}.{}",
        b(br#"{"alg":"HS256","typ":"JWT"}"#),
        b(payload.as_bytes()),
        b(&r.bytes(32))
    )
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
            assert!(checksum::cloudflare_crc32(
                cloudflare(&mut r, "cfut_").as_bytes()
            ));
            assert!(checksum::age_bech32(age_secret_key(&mut r).as_bytes()));
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
