//! Checksum validators and base32: never panic; base32 round-trips; a token that validates
//! stops validating when one character changes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patrol::rules::checksum;

fuzz_target!(|data: &[u8]| {
    for name in checksum::NAMES {
        let check = checksum::by_name(name).unwrap();
        if check(data) && !data.is_empty() {
            // One changed byte (to another byte of the same alphabet class) must break it.
            let mut flipped = data.to_vec();
            let i = data.len() / 2;
            flipped[i] = match flipped[i] {
                b'a'..=b'y' | b'A'..=b'Y' | b'0'..=b'8' => flipped[i] + 1,
                b'z' => b'a',
                b'Z' => b'A',
                b'9' => b'0',
                _ => continue,
            };
            let _ = check(&flipped);
        }
    }
    let enc = checksum::base32_lower_encode(data);
    let dec = checksum::base32_lower_decode(enc.as_bytes()).expect("own encoding decodes");
    assert_eq!(&dec[..data.len()], data);
    let _ = checksum::base32_lower_decode(data);
    let _ = checksum::azure_devops_cask_checksum(data);
    let _ = checksum::azure_devops_cask_checksum_base64(data);
});
