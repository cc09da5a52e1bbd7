//! UTF-16 text read as a stream of UTF-8, so a UTF-16 file of any size goes through the same
//! bounded, chunked scan as any other file. UTF-16 is recognised by its byte-order mark, or,
//! without one, by where the NUL bytes fall in its first KiB ([`guess`]): Windows tools
//! (PowerShell redirection, `reg export`, .NET) write such files.

use std::io::{self, Read};

/// The byte order a UTF-16 byte-order mark at the start of `head` announces: `Some(true)`
/// for little-endian (`FF FE`), `Some(false)` for big-endian (`FE FF`), `None` without one.
pub fn bom(head: &[u8]) -> Option<bool> {
    match head {
        [0xFF, 0xFE, ..] => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ => None,
    }
}

/// Bytes of the head that [`guess`] looks at.
pub const GUESS_BYTES: usize = 1024;

/// The byte order of UTF-16 text without a byte-order mark at the start of `head`:
/// `Some(true)` little-endian, `Some(false)` big-endian, `None` when it does not look like
/// UTF-16. Text that is mostly ASCII, as configuration and logs are, has a NUL in every other
/// byte in UTF-16 and in no other: at least 70% of the first KiB's units must have the NUL on
/// one side, at most 5% on the other, and the other bytes of those units must be printable
/// ASCII or whitespace. One `memchr` decides for text without NULs (every ordinary file).
pub fn guess(head: &[u8]) -> Option<bool> {
    let n = head.len().min(GUESS_BYTES) / 2 * 2;
    if n < 16 {
        return None;
    }
    let head = &head[..n];
    memchr::memchr(0, head)?;
    let units = n / 2;
    let text = |b: u8| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r');
    let (mut hi0, mut lo0, mut lo_text, mut hi_text) = (0, 0, 0, 0);
    for p in head.chunks_exact(2) {
        if p[1] == 0 {
            hi0 += 1;
            lo_text += usize::from(text(p[0]));
        }
        if p[0] == 0 {
            lo0 += 1;
            hi_text += usize::from(text(p[1]));
        }
    }
    let looks = |zeros: usize, other_zeros: usize, printable: usize| {
        zeros * 10 >= units * 7 && other_zeros * 20 <= units && printable * 20 >= zeros * 19
    };
    if looks(hi0, lo0, lo_text) {
        Some(true)
    } else if looks(lo0, hi0, hi_text) {
        Some(false)
    } else {
        None
    }
}

/// UTF-16 text held in memory (with a byte-order mark, or without one as [`guess`] judges),
/// as UTF-8; `None` when it is not UTF-16.
pub fn decode(b: &[u8]) -> Option<Vec<u8>> {
    let (little_endian, skip) = match bom(b) {
        Some(le) => (le, 2),
        None => (guess(b)?, 0),
    };
    let mut out = Vec::with_capacity(b.len());
    Utf16Reader::new(&b[skip..], little_endian)
        .read_to_end(&mut out)
        .expect("reading from memory cannot fail");
    Some(out)
}

/// Raw bytes read from the inner reader at a time.
const RAW_BYTES: usize = 64 * 1024;

/// Reads UTF-16 (little- or big-endian, the mark already consumed) and yields UTF-8.
/// Unpaired surrogates and a trailing odd byte become U+FFFD, as `char::decode_utf16` does.
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
    /// A reader over `inner`, whose byte-order mark has been read already.
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

    /// Decodes the next raw block into `out`.
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
            // One replacement for an unpaired high surrogate and one for a trailing odd byte.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds the inner bytes one at a time, so every unit and surrogate pair straddles reads.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    fn decode(bytes: &[u8], le: bool, trickle: bool) -> String {
        let mut out = Vec::new();
        if trickle {
            Utf16Reader::new(Trickle(bytes), le)
                .read_to_end(&mut out)
                .unwrap();
        } else {
            Utf16Reader::new(bytes, le).read_to_end(&mut out).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn decodes_both_byte_orders_and_surrogate_pairs_across_reads() {
        let text = "token=abc\r\n日本 𝄞 end";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for trickle in [false, true] {
            assert_eq!(decode(&le, true, trickle), text);
            assert_eq!(decode(&be, false, trickle), text);
        }
    }

    #[test]
    fn decode_needs_a_mark_and_strips_it() {
        assert_eq!(super::decode(b"plain"), None);
        assert_eq!(
            super::decode(&[0xFF, 0xFE, b'h', 0, b'i', 0]).unwrap(),
            b"hi"
        );
        assert_eq!(
            super::decode(&[0xFE, 0xFF, 0, b'h', 0, b'i']).unwrap(),
            b"hi"
        );
    }

    /// Regression test for #13 (UTF-16 without a byte-order mark): both byte orders are
    /// recognised from the head, while ASCII, UTF-8, binary and short inputs are not.
    #[test]
    fn guesses_utf16_without_a_mark_and_nothing_else() {
        let text = "[settings]\r\ntoken = abcdefghijklmnop\r\nname = Zoë 日本\r\n".repeat(20);
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(guess(&le), Some(true));
        assert_eq!(guess(&be), Some(false));
        assert_eq!(super::decode(&le).unwrap(), text.as_bytes());
        assert_eq!(super::decode(&be).unwrap(), text.as_bytes());
        // An odd start (the file cut mid-unit) is not guessed as the wrong order.
        assert_ne!(guess(&le[1..]), Some(true));
        assert_eq!(guess(text.as_bytes()), None);
        assert_eq!(guess(b"a\0b\0"), None);
        let binary: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(guess(&binary), None);
        assert_eq!(guess(&[0u8; 4096]), None);
        let ints: Vec<u8> = (0..512u16).flat_map(|i| (i % 300).to_le_bytes()).collect();
        assert_eq!(guess(&ints), None);
    }

    #[test]
    fn broken_input_becomes_replacement_characters_like_std() {
        let units = [0x61u16, 0xD800, 0x62, 0xDC00, 0x63];
        let mut le: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        le.push(0x41);
        let want: String = char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .chain(std::iter::once(char::REPLACEMENT_CHARACTER))
            .collect();
        assert_eq!(decode(&le, true, true), want);
        // Found by the `utf16` fuzz target: an unpaired high surrogate at the end AND a
        // trailing odd byte are two replacement characters, not one.
        let crash = [0xb0, 0xd8, 0xd8, 0xd8, 0xd8, 0xff, 0x80];
        for le in [true, false] {
            let units = crash.chunks_exact(2).map(|p| {
                if le {
                    u16::from_le_bytes([p[0], p[1]])
                } else {
                    u16::from_be_bytes([p[0], p[1]])
                }
            });
            let want: String = char::decode_utf16(units)
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                .chain(std::iter::once(char::REPLACEMENT_CHARACTER))
                .collect();
            assert_eq!(decode(&crash, le, false), want, "le={le}");
            assert_eq!(decode(&crash, le, true), want, "le={le}");
        }
    }
}
