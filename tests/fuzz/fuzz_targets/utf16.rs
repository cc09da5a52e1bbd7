//! UTF-16 detection and decoding on arbitrary bytes: never panics; the streaming decoder
//! equals std's lossy decoding in both byte orders; what `guess` accepts decodes to UTF-8.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patrol::source::utf16::{self, Utf16Reader};
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    for le in [true, false] {
        let mut got = Vec::new();
        Utf16Reader::new(data, le).read_to_end(&mut got).unwrap();
        let units = data.chunks_exact(2).map(|p| {
            if le {
                u16::from_le_bytes([p[0], p[1]])
            } else {
                u16::from_be_bytes([p[0], p[1]])
            }
        });
        let mut want: String = char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        if data.len() % 2 == 1 {
            want.push(char::REPLACEMENT_CHARACTER);
        }
        assert_eq!(got, want.as_bytes());
    }
    if utf16::guess(data).is_some() {
        let dec = utf16::decode(data).expect("guessed input decodes");
        assert!(std::str::from_utf8(&dec).is_ok());
    }
});
