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
/// as UTF-8; `None` when it is not UTF-16. Broken input decodes as [`Utf16Reader`] says.
pub fn decode(b: &[u8]) -> Option<Vec<u8>> {
    let (little_endian, skip) = match bom(b) {
        Some(le) => (le, 2),
        None => (guess(b)?, 0),
    };
    let b = &b[skip..];
    let whole = b.len() / 2 * 2;
    let (text, _) = encoding(little_endian).decode_without_bom_handling(&b[..whole]);
    let mut out = text.into_owned().into_bytes();
    if whole < b.len() {
        out.extend_from_slice(REPLACEMENT);
    }
    Some(out)
}

/// U+FFFD in UTF-8.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

fn encoding(little_endian: bool) -> &'static encoding_rs::Encoding {
    if little_endian {
        encoding_rs::UTF_16LE
    } else {
        encoding_rs::UTF_16BE
    }
}

/// Raw bytes read from the inner reader at a time.
const RAW_BYTES: usize = 64 * 1024;

/// Reads UTF-16 (little- or big-endian, the mark already consumed) and yields UTF-8.
/// Unpaired surrogates and a trailing odd byte become U+FFFD, as `char::decode_utf16` does,
/// one each: an unpaired high surrogate at the very end followed by an odd byte is two.
///
/// The decoding is `encoding_rs`'s streaming UTF-16 decoder (the WHATWG one, whose errors
/// are `char::decode_utf16`'s). The reader hands it whole code units only and keeps an odd
/// last byte back: the decoder would fold it into a pending surrogate's replacement.
pub struct Utf16Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    /// Bytes read and not yet decoded: at most one (odd) byte between fills.
    raw: Vec<u8>,
    /// Decoded UTF-8; `out[pos..end]` is what `read` has still to hand out.
    out: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> Utf16Reader<R> {
    /// A reader over `inner`, whose byte-order mark has been read already.
    pub fn new(inner: R, little_endian: bool) -> Self {
        let decoder = encoding(little_endian).new_decoder_without_bom_handling();
        let out_len = decoder
            .max_utf8_buffer_length(RAW_BYTES + 2)
            .expect("a small buffer length");
        Self {
            inner,
            decoder,
            raw: Vec::with_capacity(RAW_BYTES + 1),
            out: vec![0; out_len],
            pos: 0,
            end: 0,
            eof: false,
        }
    }

    /// Decodes `raw[..whole]` (the end of the input when `last`) into `out`, after `end`.
    fn decode_into_out(&mut self, whole: usize, last: bool) {
        let need = self
            .decoder
            .max_utf8_buffer_length(whole)
            .expect("a small length")
            + self.end
            + REPLACEMENT.len();
        if self.out.len() < need {
            self.out.resize(need, 0);
        }
        let (res, read, written, _) =
            self.decoder
                .decode_to_utf8(&self.raw[..whole], &mut self.out[self.end..], last);
        debug_assert!(matches!(res, encoding_rs::CoderResult::InputEmpty) && read == whole);
        self.end += written;
        self.raw.drain(..whole);
    }

    /// Decodes the next raw block into `out`.
    fn fill(&mut self) -> io::Result<()> {
        self.pos = 0;
        self.end = 0;
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
            // One replacement for an unpaired high surrogate (the decoder's), and one for a
            // trailing odd byte.
            self.decode_into_out(0, true);
            if !self.raw.is_empty() {
                self.raw.clear();
                self.out[self.end..self.end + REPLACEMENT.len()].copy_from_slice(REPLACEMENT);
                self.end += REPLACEMENT.len();
            }
            return Ok(());
        }
        self.decode_into_out(self.raw.len() / 2 * 2, false);
        Ok(())
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.end {
            if self.eof {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.end - self.pos);
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

    /// `char::decode_utf16`'s lossy decoding of `bytes`, plus one U+FFFD for an odd last byte.
    fn std_lossy(bytes: &[u8], le: bool) -> String {
        let units = bytes.chunks_exact(2).map(|p| {
            if le {
                u16::from_le_bytes([p[0], p[1]])
            } else {
                u16::from_be_bytes([p[0], p[1]])
            }
        });
        let mut want: String = char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        if bytes.len() % 2 == 1 {
            want.push(char::REPLACEMENT_CHARACTER);
        }
        want
    }

    /// Reads of at most `step` bytes from the inner reader.
    struct Steps<'a>(&'a [u8], usize);
    impl Read for Steps<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    proptest::proptest! {
        /// Surrogate-heavy arbitrary units, in both byte orders and any read size: the stream,
        /// and the in-memory decoding behind a mark, equal std's lossy decoding.
        #[test]
        fn streaming_and_in_memory_decoding_equal_std(
            units in proptest::collection::vec(
                proptest::prop_oneof![0xD7F0u16..0xE010, proptest::num::u16::ANY, 0x20u16..0x7f],
                0..300,
            ),
            odd in proptest::option::of(proptest::num::u8::ANY),
            step in 1usize..200,
        ) {
            for le in [true, false] {
                let mut bytes: Vec<u8> = units
                    .iter()
                    .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
                    .collect();
                bytes.extend(odd);
                let want = std_lossy(&bytes, le);
                let mut got = Vec::new();
                Utf16Reader::new(Steps(&bytes, step), le).read_to_end(&mut got).unwrap();
                proptest::prop_assert_eq!(&got, want.as_bytes());
                let mut marked = if le { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
                marked.extend_from_slice(&bytes);
                proptest::prop_assert_eq!(super::decode(&marked).unwrap(), want.as_bytes());
            }
        }
    }
}
