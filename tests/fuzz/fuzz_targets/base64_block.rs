//! The `data:` block decoder (Kubernetes Secrets, YAML and JSON) on arbitrary bytes: never
//! panics, spans lie in the input and decode to what is returned, and a planted block is found.
#![no_main]
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use patrol::matcher::decode::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    for at in [0, 1, data.len() / 2, data.len()] {
        out.clear();
        Decoder::DataBlock.decode_all(data, at, &mut out);
        for (s, e, dec) in &out {
            assert!(s <= e && *e <= data.len());
            let again = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(data[*s..*e].iter().copied().filter(|&b| b != b'=').collect::<Vec<u8>>());
            if let Ok(again) = again {
                assert_eq!(&again, dec);
            }
        }
    }
    // Arbitrary printable text as a Secret value is always decoded back.
    let text: Vec<u8> = data.iter().map(|b| 0x20 + b % 0x5f).collect();
    if text.len() >= 18 && text.len() <= 8000 {
        let enc = base64::engine::general_purpose::STANDARD.encode(&text);
        let doc = format!("kind: Secret\ndata:\n  k: {enc}\n");
        out.clear();
        Decoder::DataBlock.decode_all(doc.as_bytes(), doc.find("data:").unwrap() + 5, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].2, text);
    }
});
