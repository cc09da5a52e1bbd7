//! Codecs, before and after issue #16's swap to crates: base32 decoding of legacy Azure DevOps
//! PATs (`data-encoding`), and UTF-16 decoding of multi-MiB files as the scanner reads them
//! (`encoding_rs`). The hand-written versions patrol had are kept here, and only here, so one
//! run measures both and checks that they agree before it measures anything.
//!
//! base32: tokens (and near-miss runs) per second through the decoder and the whole validator.
//! UTF-16: decoded input bytes per second, little- and big-endian, with a byte-order mark and
//! without one, through the detection, the streaming reader and the 8 MiB chunking the
//! scanner uses; and the in-memory decoding git blobs get. Line and column numbers are counted
//! on the decoded text afterwards, the same way for both, so they are left out.

use std::io::Read;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use patrol::rules::checksum;
use patrol::rules::sample::{self, Rng};
use patrol::source::{fs, utf16};

const TOKENS: usize = 10_000;
const UTF16_CHARS: usize = 4 * 1024 * 1024;
const CHUNK: usize = 8 * 1024 * 1024;

/// The hand-written codecs patrol had before the swap.
mod before {
    use std::io::{self, Read};

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

    pub fn utf16_decode(b: &[u8]) -> Option<Vec<u8>> {
        let (little_endian, skip) = match patrol::source::utf16::bom(b) {
            Some(le) => (le, 2),
            None => (patrol::source::utf16::guess(b)?, 0),
        };
        let mut out = Vec::with_capacity(b.len());
        Utf16Reader::new(&b[skip..], little_endian)
            .read_to_end(&mut out)
            .expect("reading from memory cannot fail");
        Some(out)
    }

    const RAW_BYTES: usize = 64 * 1024;

    pub struct Utf16Reader<R> {
        inner: R,
        little_endian: bool,
        raw: Vec<u8>,
        high: Option<u16>,
        out: Vec<u8>,
        pos: usize,
        eof: bool,
    }

    impl<R: Read> Utf16Reader<R> {
        pub fn new(inner: R, little_endian: bool) -> Self {
            Self {
                inner,
                little_endian,
                raw: Vec::with_capacity(RAW_BYTES + 1),
                high: None,
                out: Vec::with_capacity(RAW_BYTES * 2),
                pos: 0,
                eof: false,
            }
        }

        fn push(&mut self, c: char) {
            let mut b = [0u8; 4];
            self.out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }

        fn unit(&mut self, u: u16) {
            if let Some(h) = self.high.take() {
                if (0xDC00..0xE000).contains(&u) {
                    let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                    self.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                    return;
                }
                self.push(char::REPLACEMENT_CHARACTER);
            }
            match u {
                0xD800..=0xDBFF => self.high = Some(u),
                0xDC00..=0xDFFF => self.push(char::REPLACEMENT_CHARACTER),
                _ => self.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER)),
            }
        }

        fn fill(&mut self) -> io::Result<()> {
            self.out.clear();
            self.pos = 0;
            let start = self.raw.len();
            self.raw.resize(start + RAW_BYTES, 0);
            let n = loop {
                match self.inner.read(&mut self.raw[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.raw.truncate(start);
                        return Err(e);
                    }
                }
            };
            self.raw.truncate(start + n);
            if n == 0 {
                self.eof = true;
                if self.high.take().is_some() {
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                if !self.raw.is_empty() {
                    self.raw.clear();
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                return Ok(());
            }
            let whole = self.raw.len() / 2 * 2;
            let raw = std::mem::take(&mut self.raw);
            for p in raw[..whole].chunks_exact(2) {
                let u = if self.little_endian {
                    u16::from_le_bytes([p[0], p[1]])
                } else {
                    u16::from_be_bytes([p[0], p[1]])
                };
                self.unit(u);
            }
            self.raw = raw;
            self.raw.drain(..whole);
            Ok(())
        }
    }

    impl<R: Read> Read for Utf16Reader<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            while self.pos >= self.out.len() {
                if self.eof {
                    return Ok(0);
                }
                self.fill()?;
            }
            let n = buf.len().min(self.out.len() - self.pos);
            buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
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

/// Windows-style text: ASCII configuration and log lines, one in eight with non-ASCII
/// characters (accents, CJK, an emoji: a surrogate pair), and a token now and then.
fn utf16_text() -> String {
    let mut r = Rng::new(18);
    let mut s = String::with_capacity(UTF16_CHARS + 256);
    while s.len() < UTF16_CHARS {
        match r.below(8) {
            0 => s.push_str("name = Zoë Ångström 日本語のテキスト 🔑\r\n"),
            1 => s.push_str(&format!(
                "token = {}\r\n",
                sample::azure_devops_pat_legacy(&mut r)
            )),
            _ => s.push_str(&format!(
                "2024-05-01T10:00:00Z INFO request={} status=200 path=/api/v1/items\r\n",
                r.string(b"0123456789abcdef", 16)
            )),
        }
    }
    s
}

fn utf16_bytes(text: &str, le: bool, mark: bool) -> Vec<u8> {
    let mut b: Vec<u8> = if mark { "\u{FEFF}" } else { "" }
        .encode_utf16()
        .chain(text.encode_utf16())
        .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
        .collect();
    b.shrink_to_fit();
    b
}

/// What the scanner does with a file: the mark or the guess on its head, then the decoded
/// stream in overlapping chunks. Returns the decoded bytes.
fn stream<'a, D: Read>(bytes: &'a [u8], buf: &mut Vec<u8>, reader: fn(&'a [u8], bool) -> D) -> u64 {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let (le, skip) = match utf16::bom(head) {
        Some(le) => (le, 2),
        None => (utf16::guess(head).expect("UTF-16"), 0),
    };
    let mut n = 0u64;
    fs::read_chunks(reader(&bytes[skip..], le), buf, CHUNK, |chunk, _, _| {
        n += black_box(chunk).len() as u64;
    })
    .expect("reading from memory cannot fail");
    n
}

fn old_reader(b: &[u8], le: bool) -> before::Utf16Reader<&[u8]> {
    before::Utf16Reader::new(b, le)
}

fn new_reader(b: &[u8], le: bool) -> utf16::Utf16Reader<&[u8]> {
    utf16::Utf16Reader::new(b, le)
}

fn bench_utf16(c: &mut Criterion) {
    let text = utf16_text();
    let mut g = c.benchmark_group("utf16");
    g.sample_size(20);
    let mut buf = Vec::with_capacity(CHUNK + 64 * 1024);
    for (name, le, mark) in [
        ("le-bom", true, true),
        ("be-bom", false, true),
        ("le-no-bom", true, false),
        ("be-no-bom", false, false),
    ] {
        let bytes = utf16_bytes(&text, le, mark);
        let old = {
            let mut all = Vec::new();
            old_reader(&bytes[if mark { 2 } else { 0 }..], le)
                .read_to_end(&mut all)
                .unwrap();
            all
        };
        assert_eq!(old, text.as_bytes());
        assert_eq!(utf16::decode(&bytes).unwrap(), old, "{name}");
        assert_eq!(before::utf16_decode(&bytes).unwrap(), old, "{name}");
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("stream/hand-written", name),
            &bytes,
            |b, i| b.iter(|| stream(i, &mut buf, old_reader)),
        );
        g.bench_with_input(
            BenchmarkId::new("stream/encoding_rs", name),
            &bytes,
            |b, i| b.iter(|| stream(i, &mut buf, new_reader)),
        );
        if mark && le || !mark && !le {
            g.bench_with_input(
                BenchmarkId::new("memory/hand-written", name),
                &bytes,
                |b, i| b.iter(|| before::utf16_decode(i).map(|v| v.len())),
            );
            g.bench_with_input(
                BenchmarkId::new("memory/encoding_rs", name),
                &bytes,
                |b, i| b.iter(|| utf16::decode(i).map(|v| v.len())),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, bench_base32, bench_utf16);
criterion_main!(benches);
