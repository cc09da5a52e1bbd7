//! Microsoft's identifiable keys, validated as microsoft/security-utilities validates them.
//!
//! Three families share the Marvin32 checksum of [`super::marvin32`]:
//! - common annotated security keys (CASK, 84 or 88 characters): `JQQJ` at 52, a provider
//!   signature at 76 (`AZDO` Azure DevOps, `ACOG` Azure AI services, ...), the checksum of the
//!   first 60 bytes at 80 (`IdentifiableSecrets.TryValidateCommonAnnotatedKey`);
//! - identifiable base64 keys (32, 39, 40 or 64 bytes): a 4-character signature just before the
//!   6 characters that encode the last 4 bytes, which are the Marvin32 checksum of the bytes
//!   before them under one of the key kind's seeds (`IdentifiableSecrets.ValidateBase64Key`);
//! - Entra ID (Azure AD) client secrets, `...8Q~...`: the last 3 characters start the checksum
//!   of the rest in a 66-character alphabet (`IdentifiableMetadata.IsAzureAadClientAppIdentifiableSecret`).
//!
//! Seeds are the 8 ASCII bytes of a name read as a big-endian number, as Microsoft writes them
//! (`0x4465_6661_756C_7430` is "Default0").

use base64::Engine as _;

use super::{azure_devops_cask_checksum, azure_devops_cask_checksum_base64, marvin32};

/// Base64 that, like .NET's `Convert.FromBase64String`, ignores the unused bits of the last
/// character; padding is required when the length needs it.
const DOTNET_B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// A CASK key (84 or 88 characters) with provider signature `sig` at 76 and, when given, the
/// 4 provider-reserved characters at 72. The key-kind character at 57 must be `9` (a primary
/// key), as `LegacyCommonAnnotatedSecurityAccessKey.GetMatchIdAndName` requires.
pub fn cask_key(token: &[u8], sig: &[u8; 4], provider_data: Option<&[u8; 4]>) -> bool {
    if !matches!(token.len(), 84 | 88)
        || &token[52..56] != b"JQQJ"
        || token[57] != b'9'
        || &token[76..80] != sig
        || provider_data.is_some_and(|d| &token[72..76] != d)
    {
        return false;
    }
    cask_checksum_matches(token)
}

/// The CASK checksum rule shared with the Azure DevOps PAT: base62 or base64 in 84
/// characters, the whole base64 checksum in 88.
fn cask_checksum_matches(token: &[u8]) -> bool {
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

/// One kind of identifiable base64 key.
#[derive(Debug, Clone, Copy)]
pub struct IdentifiableKind {
    /// The 4-character signature.
    pub signature: &'static [u8; 4],
    /// The Marvin32 seeds any of which may have sealed the key.
    pub seeds: &'static [u64],
    /// Length of the key in characters, padding included.
    pub length: usize,
    /// URL-safe base64 (`-`, `_`) rather than standard (`+`, `/`).
    pub url_safe: bool,
}

/// `IdentifiableSecrets.ValidateBase64Key`: the right alphabet only, the signature just before
/// the 6 checksum characters, and the last 4 decoded bytes equal to Marvin32 of the bytes
/// before them under one of the seeds (or, for 84/88-character keys, the base62 form).
pub fn identifiable_key(token: &[u8], kind: &IdentifiableKind) -> bool {
    if token.len() != kind.length {
        return false;
    }
    let wrong: &[u8] = if kind.url_safe { b"+/" } else { b"-_" };
    if token.iter().any(|b| wrong.contains(b)) {
        return false;
    }
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let Some(sig_at) = token.len().checked_sub(padding + 6 + 4) else {
        return false;
    };
    if &token[sig_at..sig_at + 4] != kind.signature {
        return false;
    }
    let Some(bytes) = decode(token) else {
        return false;
    };
    if bytes.len() < 5 {
        return false;
    }
    let (body, sum) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes(sum.try_into().expect("4 bytes"));
    kind.seeds.iter().any(|&seed| {
        let actual = marvin32(body, seed);
        actual == stored || base62_fallback(token, actual)
    })
}

/// `ValidateChecksum`'s second chance for 84/88-character keys: the trailing characters start
/// the base62 encoding of the checksum.
fn base62_fallback(token: &[u8], actual: u32) -> bool {
    let n = match token.len() {
        84 => 4,
        88 => 8,
        _ => return false,
    };
    let enc: Vec<u8> = token[token.len() - n..]
        .iter()
        .copied()
        .filter(|&b| b != b'=')
        .collect();
    let full = super::base62_checksum_text(actual.to_le_bytes());
    !enc.is_empty() && full.as_bytes().starts_with(&enc)
}

/// Decodes standard or URL-safe base64 the way `ConvertFromBase64String` does (missing
/// padding added, unused bits ignored).
fn decode(token: &[u8]) -> Option<Vec<u8>> {
    let std: Vec<u8> = token
        .iter()
        .map(|&b| match b {
            b'-' => b'+',
            b'_' => b'/',
            _ => b,
        })
        .collect();
    DOTNET_B64.decode(std).ok()
}

/// Seals `body` (the key's bytes before the checksum, with the signature already in place)
/// into a key of `kind` under `seed` (for samples).
pub fn identifiable_seal(body: &[u8], seed: u64, url_safe: bool) -> String {
    let mut b = body.to_vec();
    b.extend_from_slice(&marvin32(body, seed).to_le_bytes());
    let s = base64::engine::general_purpose::STANDARD.encode(&b);
    if url_safe {
        s.replace('+', "-").replace('/', "_")
    } else {
        s
    }
}

/// Azure Cache for Redis keys may also be sealed with `+` and `/` replaced by `P` and `F`
/// (`AzureCacheForRedisWithSpecialCharacterChecksum`): the checksum of all decoded bytes,
/// written over the last 4, re-encoded and so replaced, must give the key back. (A fixed
/// point over the checksum's own bytes: accepted as Microsoft accepts it, but no sample can be
/// generated for it.)
pub fn redis_special_characters(token: &[u8], seed: u64) -> bool {
    let Some(mut bytes) = decode(token) else {
        return false;
    };
    if bytes.len() < 4 {
        return false;
    }
    let sum = marvin32(&bytes, seed).to_le_bytes();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&sum);
    let again = base64::engine::general_purpose::STANDARD
        .encode(&bytes)
        .replace('+', "P")
        .replace('/', "F");
    again.as_bytes() == token
}

/// The Entra client-secret alphabet (`AadClientPasswordCharacterSet`), in Microsoft's order.
pub const ENTRA_ALPHABET: &[u8; 66] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890.-_~";
/// Marvin32 seed of Entra client secrets: "AadPwd00".
pub const ENTRA_SEED: u64 = 0x4161_6450_7764_3030;

/// The 6-character checksum of an Entra client secret's text before its last 3 characters.
pub fn entra_checksum(head: &[u8]) -> String {
    let mut n = marvin32(head, ENTRA_SEED);
    let mut out = Vec::new();
    while n > 0 {
        out.push(ENTRA_ALPHABET[(n % 66) as usize]);
        n /= 66;
    }
    while out.len() < 6 {
        out.push(ENTRA_ALPHABET[0]);
    }
    out.reverse();
    String::from_utf8(out).expect("ascii alphabet")
}

/// An Entra ID client secret with the current `8Q~` signature at 3 (40 characters): its last
/// 3 characters are the first 3 of [`entra_checksum`] of the 37 before them. (`7Q~` secrets
/// carry no checksum and are not validated here.)
pub fn entra_client_secret(token: &[u8]) -> bool {
    token.len() == 40
        && &token[3..6] == b"8Q~"
        && token.iter().all(|b| ENTRA_ALPHABET.contains(b))
        && entra_checksum(&token[..37]).as_bytes()[..3] == token[37..]
}

macro_rules! kinds {
    ($($name:ident = ($sig:expr, [$($seed:expr),+], $len:expr, $url:expr);)+) => {
        $(
            #[doc = concat!("The `", stringify!($name), "` identifiable key kind.")]
            pub const $name: IdentifiableKind = IdentifiableKind {
                signature: $sig,
                seeds: &[$($seed),+],
                length: $len,
                url_safe: $url,
            };
        )+
    };
}

kinds! {
    STORAGE = (b"+ASt", [0x4465_6661_756C_7430], 88, false);
    COSMOS = (b"ACDb", [
        0x456E_6372_7970_3030, 0x4D61_7374_524F_3030, 0x4D61_7374_5257_3030,
        0x5265_736F_7572_3030, 0x5379_7341_6C6C_3030, 0x5379_7374_524F_3030,
        0x5379_7374_5257_3030
    ], 88, false);
    BATCH = (b"+ABa", [0x4162_4163_6374_3030], 88, false);
    ML_CLASSIC = (b"+AMC", [0x436C_6173_7369_6330], 88, false);
    APIM_DIRECT = (b"APIM", [0x5465_6E61_6E74_3030], 88, false);
    APIM_SUBSCRIPTION = (b"APIM", [0x496F_5448_7562_3030], 88, false);
    APIM_GATEWAY = (b"APIM", [0x4761_7465_7779_3030], 88, false);
    APIM_REPOSITORY = (b"APIM", [0x4769_744B_6579_3030], 88, false);
    REDIS = (b"AzCa", [0x4163_6365_7373_3030], 44, false);
    IOT_HUB = (b"AIoT", [0x496F_5448_7562_3030], 44, false);
    IOT_DPS = (b"AIoT", [0x4470_734B_6579_3030], 44, false);
    IOT_DEVICE = (b"AIoT", [0x4465_7669_6365_3030], 44, false);
    EVENT_GRID = (b"AZEG", [0x5365_6E64_5265_6376], 44, false);
    SERVICE_BUS = (b"+ASb", [0x5365_6E64_3030_3030, 0x4C69_7374_656E_3030, 0x4D61_6E61_6765_3030], 44, false);
    EVENT_HUB = (b"+AEh", [0x5365_6E64_3030_3030, 0x4C69_7374_656E_3030, 0x4D61_6E61_6765_3030], 44, false);
    RELAY = (b"+ARm", [0x5365_6E64_3030_3030, 0x4C69_7374_656E_3030, 0x4D61_6E61_6765_3030], 44, false);
    FUNCTIONS = (b"AzFu", [0x4675_6E63_7469_3030, 0x5379_7374_656D_3030, 0x4D61_7374_6572_3030], 56, true);
    SEARCH_QUERY = (b"AzSe", [0x5175_6572_7930_3030], 52, true);
    SEARCH_ADMIN = (b"AzSe", [0x5041_646D_696E_3030], 52, true);
    CONTAINER_REGISTRY = (b"+ACR", [0x4143_5244_666C_7430], 52, false);
}

/// The validator for a `azure_*` checksum name.
pub fn by_name(name: &str) -> Option<fn(&[u8]) -> bool> {
    Some(match name {
        // CASK keys: Azure AI services share `ACOG`; the provider-reserved characters tell
        // the service (`AAAA` AI services, `AAAB` Azure OpenAI, `AAA` + its base64 index).
        "azure_cask_ai_services" => |t| cask_key(t, b"ACOG", None) && &t[72..76] != b"AAAB",
        "azure_cask_openai" => |t| cask_key(t, b"ACOG", Some(b"AAAB")),
        "azure_cask_app_configuration" => |t| cask_key(t, b"AZAC", None),
        "azure_cask_fluid_relay" => |t| cask_key(t, b"AZFR", None),
        "azure_cask_event_grid" => |t| cask_key(t, b"AZEG", None),
        "azure_cask_mixed_reality" => |t| cask_key(t, b"AZMR", None),
        "azure_cask_maps" => |t| cask_key(t, b"AZMP", None),
        "azure_cask_communication_services" => |t| cask_key(t, b"AZCS", None),
        "azure_cask_sql_private" => |t| cask_key(t, b"msql", None),
        "azure_storage_identifiable" => |t| identifiable_key(t, &STORAGE),
        "azure_cosmos_identifiable" => |t| identifiable_key(t, &COSMOS),
        "azure_batch_identifiable" => |t| identifiable_key(t, &BATCH),
        "azure_ml_classic_identifiable" => |t| identifiable_key(t, &ML_CLASSIC),
        "azure_apim_direct_management" => |t| identifiable_key(t, &APIM_DIRECT),
        "azure_apim_subscription" => |t| identifiable_key(t, &APIM_SUBSCRIPTION),
        "azure_apim_gateway" => |t| identifiable_key(t, &APIM_GATEWAY),
        "azure_apim_repository" => |t| identifiable_key(t, &APIM_REPOSITORY),
        "azure_redis_identifiable" => |t| {
            identifiable_key(t, &REDIS)
                || (t.len() == 44
                    && &t[33..37] == b"AzCa"
                    && redis_special_characters(t, REDIS.seeds[0]))
        },
        "azure_iot_hub_identifiable" => |t| identifiable_key(t, &IOT_HUB),
        "azure_iot_dps_identifiable" => |t| identifiable_key(t, &IOT_DPS),
        "azure_iot_device_identifiable" => |t| identifiable_key(t, &IOT_DEVICE),
        "azure_event_grid_identifiable" => |t| identifiable_key(t, &EVENT_GRID),
        "azure_service_bus_identifiable" => |t| identifiable_key(t, &SERVICE_BUS),
        "azure_event_hub_identifiable" => |t| identifiable_key(t, &EVENT_HUB),
        "azure_relay_identifiable" => |t| identifiable_key(t, &RELAY),
        "azure_functions_identifiable" => |t| identifiable_key(t, &FUNCTIONS),
        "azure_search_query_identifiable" => |t| identifiable_key(t, &SEARCH_QUERY),
        "azure_search_admin_identifiable" => |t| identifiable_key(t, &SEARCH_ADMIN),
        "azure_container_registry_identifiable" => |t| identifiable_key(t, &CONTAINER_REGISTRY),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys from microsoft/security-utilities' own tests (identifiable_scans.rs in its Rust
    /// port, SecretMaskerTests.cs): fakes with a valid checksum. (Its Event Grid vector,
    /// `b`*33 + `AZEGLiQbng=`, only exercises the Rust port's shape scan and carries no valid
    /// checksum under the published seed, so it is not used.)
    #[test]
    fn published_test_keys_validate_under_their_kind_only() {
        let a = |n: usize, tail: &str| format!("{}{tail}", "a".repeat(n));
        let cases: Vec<(String, &str)> = vec![
            (a(76, "+ASt5mnCaw=="), "azure_storage_identifiable"),
            (a(76, "ACDbOpqrYA=="), "azure_cosmos_identifiable"),
            (a(33, "+ASbHpHeAI="), "azure_service_bus_identifiable"),
            (a(33, "+AEhG2s/8w="), "azure_event_hub_identifiable"),
            (a(42, "AzSeCjhzCu"), "azure_search_query_identifiable"),
            (
                format!("{}+ACRCTB7t/", "e".repeat(42)),
                "azure_container_registry_identifiable",
            ),
            (a(76, "APIMHbKhsQ=="), "azure_apim_direct_management"),
            (
                format!("{}+ACRCUDxQE", "d".repeat(42)),
                "azure_container_registry_identifiable",
            ),
            (
                format!("{}AzFu182vhA==", "d".repeat(44)),
                "azure_functions_identifiable",
            ),
        ];
        let names = [
            "azure_storage_identifiable",
            "azure_cosmos_identifiable",
            "azure_service_bus_identifiable",
            "azure_event_hub_identifiable",
            "azure_search_query_identifiable",
            "azure_search_admin_identifiable",
            "azure_event_grid_identifiable",
            "azure_container_registry_identifiable",
            "azure_functions_identifiable",
            "azure_relay_identifiable",
            "azure_apim_direct_management",
            "azure_apim_subscription",
        ];
        for (key, kind) in &cases {
            for n in names {
                let ok = by_name(n).unwrap()(key.as_bytes());
                assert_eq!(ok, n == *kind, "{key} under {n}");
            }
            let flipped = crate::rules::sample::flip_at(key, 5);
            assert!(!by_name(kind).unwrap()(flipped.as_bytes()), "{flipped}");
        }
    }

    #[test]
    fn the_published_iot_key_is_an_iot_hub_key() {
        let key = format!("{}AIoTOumzco=", "a".repeat(33));
        assert!(by_name("azure_iot_hub_identifiable").unwrap()(
            key.as_bytes()
        ));
        assert!(!by_name("azure_iot_dps_identifiable").unwrap()(
            key.as_bytes()
        ));
        assert!(!by_name("azure_iot_device_identifiable").unwrap()(
            key.as_bytes()
        ));
    }

    /// `AadClientAppIdentifiableCredentials.GenerateTruePositiveExamples` publishes this one.
    /// (SecretMaskerTests.cs's `xxx8Q~dead...` is masked by shape only and fails the checksum.)
    #[test]
    fn entra_published_example_validates_and_a_flip_does_not() {
        let kat = "zzz8Q~zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzblP";
        assert!(!entra_client_secret(
            b"xxx8Q~dead.dead.DEAD-DEAD-dead~deadxxxxx"
        ));
        assert!(entra_client_secret(kat.as_bytes()));
        for i in [0, 10, 36, 37, 39] {
            let f = crate::rules::sample::flip_at(kat, i);
            assert!(!entra_client_secret(f.as_bytes()), "{f}");
        }
        assert!(!entra_client_secret(kat.replace("8Q~", "7Q~").as_bytes()));
    }

    #[test]
    fn sealed_keys_validate_and_the_wrong_alphabet_does_not() {
        let mut r = crate::rules::sample::Rng::new(3);
        for _ in 0..50 {
            let k = crate::rules::sample::azure_identifiable(&mut r, &FUNCTIONS);
            assert!(identifiable_key(k.as_bytes(), &FUNCTIONS), "{k}");
            let k = crate::rules::sample::azure_identifiable(&mut r, &REDIS);
            assert!(identifiable_key(k.as_bytes(), &REDIS), "{k}");
            let k = crate::rules::sample::azure_identifiable(&mut r, &STORAGE);
            assert!(identifiable_key(k.as_bytes(), &STORAGE), "{k}");
            if k.contains(['+', '/']) {
                let url = k.replace('+', "-").replace('/', "_");
                assert!(!identifiable_key(url.as_bytes(), &STORAGE));
            }
        }
    }

    #[test]
    fn cask_keys_need_their_signature_and_checksum() {
        let mut r = crate::rules::sample::Rng::new(11);
        for _ in 0..30 {
            let k = crate::rules::sample::azure_cask(&mut r, "ACOG", "AAAB");
            assert!(by_name("azure_cask_openai").unwrap()(k.as_bytes()), "{k}");
            assert!(!by_name("azure_cask_ai_services").unwrap()(k.as_bytes()));
            assert!(!by_name("azure_cask_maps").unwrap()(k.as_bytes()));
            assert!(!by_name("azure_cask_openai").unwrap()(
                crate::rules::sample::flip_at(&k, 10).as_bytes()
            ));
            let k = crate::rules::sample::azure_cask(&mut r, "AZMP", "AAAA");
            assert!(by_name("azure_cask_maps").unwrap()(k.as_bytes()), "{k}");
            assert!(!crate::rules::checksum::azure_devops_cask(k.as_bytes()));
        }
    }
}
