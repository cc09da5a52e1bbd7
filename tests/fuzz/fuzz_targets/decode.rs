//! Base64 decoders: never panic on arbitrary input; decode inverts encode for printable text.
#![no_main]
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use patrol::matcher::decode::Decoder;

fuzz_target!(|data: &[u8]| {
    for (_, d) in Decoder::TRIGGERS {
        for at in [0, data.len() / 2, data.len()] {
            if let Some((s, e, bytes)) = d.decode(data, at) {
                assert!(s <= e && e <= data.len());
                let lines = *d == Decoder::DataBlock;
                assert!(bytes
                    .iter()
                    .all(|b| (0x20..0x7f).contains(b) || (lines && b"\t\r\n".contains(b))));
            }
        }
    }
    let mut all = Vec::new();
    for at in [0, data.len() / 3, data.len()] {
        Decoder::DataBlock.decode_all(data, at, &mut all);
    }
    assert!(all.iter().all(|(s, e, _)| s <= e && *e <= data.len()));
    let text: Vec<u8> = data.iter().map(|b| 0x20 + b % 0x5f).collect();
    if text.len() >= 18 {
        let enc = base64::engine::general_purpose::STANDARD.encode(&text);
        if enc.len() <= patrol::matcher::decode::MAX_B64 {
            let (_, _, dec) = Decoder::BasicAuth.decode(enc.as_bytes(), 0).expect("decodes");
            assert_eq!(dec, text);
        }
    }
});
