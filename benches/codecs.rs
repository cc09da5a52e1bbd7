//! Codecs, before and after issue #16's swap to crates: base32 decoding of legacy Azure DevOps
//! PATs (`data-encoding`). The hand-written version patrol had is kept here, and only here, so
//! one run measures both and checks that they agree before it measures anything.
//!
//! base32: tokens (and near-miss runs) per second through the decoder and the whole validator.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use patrol::rules::checksum;
use patrol::rules::sample::{self, Rng};

const TOKENS: usize = 10_000;

/// The hand-written codecs patrol had before the swap.
mod before {
    pub fn base32_lower_decode(s: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(s.len() * 5 / 8);
        let (mut acc, mut bits) = (0u64, 0u32);
        for &c in s {
            let v = match c {
                b'a'..=b'z' => c - b'a',
                b'2'..=b'7' => c - b'2' + 26,
                _ => return None,
            };
            acc = (acc << 5) | u64::from(v);
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        Some(out)
    }

    pub fn base32_lower_encode(b: &[u8]) -> String {
        const A: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
        let mut out = String::with_capacity(b.len().div_ceil(5) * 8);
        let (mut acc, mut bits) = (0u64, 0u32);
        for &x in b {
            acc = (acc << 8) | u64::from(x);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(A[((acc >> bits) & 31) as usize] as char);
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push(A[((acc << (5 - bits)) & 31) as usize] as char);
        }
        out
    }

    pub fn azure_devops_legacy(token: &[u8]) -> bool {
        if token.len() != 52 {
            return false;
        }
        let Some(bytes) = base32_lower_decode(token) else {
            return false;
        };
        if bytes.len() != 32 || !matches!(token[51], b'a' | b'q') {
            return false;
        }
        let b: [u8; 32] = bytes[..32].try_into().expect("32 bytes");
        let mut data = [0u8; 28];
        data[0..2].copy_from_slice(&b[0..2]);
        data[2..6].copy_from_slice(&b[3..7]);
        data[6..19].copy_from_slice(&b[9..22]);
        data[19..28].copy_from_slice(&b[23..32]);
        let emb =
            u32::from(b[22]) | u32::from(b[8]) << 8 | u32::from(b[7]) << 16 | u32::from(b[2]) << 24;
        let crc = crc32fast::hash(&data);
        patrol::rules::checksum::ADO_LEGACY_SEEDS
            .iter()
            .any(|s| crc ^ s == emb)
    }
}

/// Legacy PATs, and as many 52-character `[a-z2-7]` runs that are not (what the legacy run
/// pass mostly meets).
fn base32_inputs() -> Vec<Vec<u8>> {
    let mut r = Rng::new(16);
    (0..TOKENS)
        .map(|i| {
            if i % 2 == 0 {
                sample::azure_devops_pat_legacy(&mut r).into_bytes()
            } else {
                r.string(b"abcdefghijklmnopqrstuvwxyz234567", 52)
                    .into_bytes()
            }
        })
        .collect()
}

/// The old and new base32 code agree: on the inputs, on random runs (with characters outside
/// the alphabet) and on encoding random bytes. The new decoder also rejects non-zero padding
/// bits, which the old validator checked on its own (the last character is `a` or `q`).
fn check_base32(inputs: &[Vec<u8>]) {
    let mut r = Rng::new(17);
    let mut runs: Vec<Vec<u8>> = (0..20_000)
        .map(|_| {
            r.string(b"abcdefghijklmnopqrstuvwxyz234567A1-", 52)
                .into_bytes()
        })
        .collect();
    runs.extend_from_slice(inputs);
    for t in &runs {
        assert_eq!(
            before::azure_devops_legacy(t),
            checksum::azure_devops_legacy(t)
        );
        let old = before::base32_lower_decode(t).filter(|_| matches!(t[51], b'a' | b'q'));
        assert_eq!(old, checksum::base32_lower_decode(t));
    }
    for n in 0..200 {
        let b = r.bytes(n % 41);
        assert_eq!(
            before::base32_lower_encode(&b),
            checksum::base32_lower_encode(&b)
        );
    }
}

fn bench_base32(c: &mut Criterion) {
    let inputs = base32_inputs();
    check_base32(&inputs);
    let mut g = c.benchmark_group("base32");
    g.throughput(Throughput::Elements(TOKENS as u64));
    g.bench_function("decode/hand-written", |b| {
        b.iter(|| {
            inputs
                .iter()
                .filter_map(|t| before::base32_lower_decode(black_box(t)))
                .count()
        })
    });
    g.bench_function("decode/data-encoding", |b| {
        b.iter(|| {
            inputs
                .iter()
                .filter_map(|t| checksum::base32_lower_decode(black_box(t)))
                .count()
        })
    });
    g.bench_function("validator/hand-written", |b| {
        b.iter(|| {
            inputs
                .iter()
                .filter(|t| before::azure_devops_legacy(black_box(t)))
                .count()
        })
    });
    g.bench_function("validator/data-encoding", |b| {
        b.iter(|| {
            inputs
                .iter()
                .filter(|t| checksum::azure_devops_legacy(black_box(t)))
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_base32);
criterion_main!(benches);
