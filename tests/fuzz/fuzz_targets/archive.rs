//! Archive readers (zip, tar, gzip, xz, bzip2, nested) on arbitrary bytes: never panic, never exceed the
//! limits, never hand the visitor a path with a raw control character.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patrol::source::archive::{self, Kind, Limits};
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_total_bytes: 4 << 20,
        max_zip_bytes: 1 << 20,
        max_entries: 1000,
        ..Limits::default()
    };
    let kinds = match archive::sniff(data) {
        Some(k) => vec![k],
        None => vec![Kind::Zip, Kind::Tar, Kind::Gzip, Kind::Xz, Kind::Bzip2],
    };
    for kind in kinds {
        let mut read = 0u64;
        let mut entries = 0u64;
        archive::walk(&mut &data[..], kind, "fuzz.tar.gz", &limits, &mut |p, r| {
            assert!(!p.chars().any(char::is_control), "{p:?}");
            let mut b = Vec::new();
            r.read_to_end(&mut b)?;
            read += b.len() as u64;
            entries += 1;
            Ok(())
        });
        // A zip that does not open is visited once as it stands (at most its own size).
        assert!(read <= limits.max_total_bytes + data.len() as u64, "{read}");
        assert!(entries <= limits.max_entries + 1);
    }
});
