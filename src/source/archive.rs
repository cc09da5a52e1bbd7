//! Archives opened as containers: zip (and jar, whl, nupkg, docx... which are zips), tar, gzip,
//! xz and bzip2 (so tar.gz, tgz, tar.xz, tar.bz2, tbz2 too), recognised by their magic bytes
//! whatever the file is called. All readers are pure Rust (`zip` with deflate only, `tar`,
//! `flate2` on miniz_oxide, `lzma-rust2`, `bzip2` on libbz2-rs-sys).
//!
//! [`walk`] hands each regular entry to a visitor as a reader, with its path inside the outer
//! input (`config/settings.json`, or `lib/inner.jar!META-INF/x.properties` for an archive in an
//! archive), so the scanner streams it like any file. Nested archives are opened up to
//! [`Limits::max_depth`] levels. Everything is bounded, so a hostile archive (a zip bomb, a
//! million empty entries, an archive nested a thousand deep) costs at most the limits: when a
//! limit stops the walk, or an entry cannot be read, a [`Problem`] names the archive and says
//! why, and the walk goes on with what it still may read. A problem means the input was only
//! partly scanned.
//!
//! Tar and the compressed streams (gzip, xz, bzip2) stream; a zip needs random access, so it
//! is read into memory first. [`Limits::max_zip_bytes`] bounds the zips held in memory at
//! once, a zip and the zips around it together: a nested zip that does not fit in what is
//! left is scanned as plain bytes, streamed, with a problem naming it.
//!
//! A zip entry is read up to the size its header declares; one whose data runs on past that
//! is a problem naming the entry, and what follows is still scanned (up to the ratio limit
//! over its compressed size), so nothing in it is lost.

use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, BufReader, Cursor, Read};

/// The containers patrol opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A zip file (jar, war, whl, nupkg, vsix, docx, xlsx, apk...).
    Zip,
    /// A POSIX (ustar or GNU) tar stream.
    Tar,
    /// A gzip stream (one member or several).
    Gzip,
    /// An xz stream.
    Xz,
    /// A bzip2 stream (one or several, as parallel compressors write them).
    Bzip2,
}

/// Largest LZMA2 dictionary (decoder memory) an xz stream may ask for, in KiB: `xz -9` uses
/// 64 MiB; a header asking for more is refused before anything is allocated.
const XZ_MEM_LIMIT_KB: u32 = 96 * 1024;

/// Bytes of an entry's start that [`sniff`] needs (the tar magic sits at offset 257).
pub const SNIFF_BYTES: usize = 262;

/// The container `head` (the first bytes of an input) starts, by magic bytes alone.
pub fn sniff(head: &[u8]) -> Option<Kind> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Some(Kind::Gzip)
    } else if head.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Kind::Xz)
    } else if is_bzip2(head) {
        Some(Kind::Bzip2)
    } else if head.len() >= SNIFF_BYTES && &head[257..262] == b"ustar" {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// `BZh`, the block size `1`-`9`, then the magic of a first block (pi's digits) or of the end
/// of an empty stream (the square root of pi's): ten bytes, so text starting `BZh9` is text.
fn is_bzip2(head: &[u8]) -> bool {
    const BLOCK: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const END: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == BLOCK || head[4..10] == END)
}

/// Bounds on the work one outer input may cause. Any one reached makes the scan partial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Archives inside archives opened, counting the outer one (tar.gz is two).
    pub max_depth: u8,
    /// Entries (files) visited in one outer input, at every depth together.
    pub max_entries: u64,
    /// Decompressed bytes read from entries of one outer input, at every depth together.
    pub max_total_bytes: u64,
    /// Largest decompressed/compressed ratio accepted for an entry or compressed stream once it
    /// has produced [`RATIO_FLOOR`] bytes (text compresses about 5-20:1; bombs 1000:1 and more).
    pub max_ratio: u64,
    /// Most bytes of zips held in memory at once (a zip needs random access): a zip and
    /// every zip it is nested in count together.
    pub max_zip_bytes: u64,
}

/// Output below which the compression ratio is not checked (tiny entries compress oddly).
pub const RATIO_FLOOR: u64 = 1 << 20;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 5,
            max_entries: 100_000,
            max_total_bytes: 1 << 30,
            max_ratio: 100,
            max_zip_bytes: 256 << 20,
        }
    }
}

/// Why part of an archive was not scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct Problem {
    /// The archive or entry concerned, inside the outer input (`""` for the outer input).
    pub path: String,
    /// What went wrong, lower-case, one line.
    pub reason: String,
}

/// The visitor: called with each entry's path inside the outer input and a reader over its
/// decompressed bytes. An error it returns is recorded as a [`Problem`] for that entry.
pub type Visit<'v> = dyn FnMut(&str, &mut dyn Read) -> io::Result<()> + 'v;

/// Walks the archive `kind` read from `r` (whose first bytes [`sniff`] recognised). `name` is
/// the outer input's file name, which names a compressed stream's content (`app.log.gz` holds
/// `app.log`). Returns the problems met (none: everything was scanned).
pub fn walk(
    r: &mut dyn Read,
    kind: Kind,
    name: &str,
    limits: &Limits,
    visit: &mut Visit<'_>,
) -> Vec<Problem> {
    let w = Walker {
        limits,
        total: Cell::new(0),
        entries: Cell::new(0),
        held: Cell::new(0),
        stopped: Cell::new(false),
        problems: RefCell::new(Vec::new()),
    };
    let stem = stream_stem(base_name(name));
    w.container(r, kind, "", &stem, 1, visit);
    w.problems.into_inner()
}

/// The path of a nested entry as reports show it: `outer!inner`.
pub fn join(outer: &str, inner: &str) -> String {
    if outer.is_empty() {
        inner.to_string()
    } else {
        format!("{outer}!{inner}")
    }
}

fn base_name(p: &str) -> &str {
    p.rsplit(['/', '\\', '!']).next().unwrap_or(p)
}

/// The name of what a compressed stream called `name` holds: `x.tgz` -> `x.tar`,
/// `a.log.gz` -> `a.log`, `b.txz` -> `b.tar`, `c.json.xz` -> `c.json`, `d.tbz2` -> `d.tar`,
/// `e.sql.bz2` -> `e.sql`.
fn stream_stem(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for (ext, to) in [
        (".tgz", ".tar"),
        (".txz", ".tar"),
        (".tbz2", ".tar"),
        (".tbz", ".tar"),
        (".gz", ""),
        (".xz", ""),
        (".bz2", ""),
    ] {
        if lower.ends_with(ext) && name.len() > ext.len() {
            return format!("{}{to}", &name[..name.len() - ext.len()]);
        }
    }
    format!("{name}.content")
}

/// An entry name as it appears in a location: lossy UTF-8, control characters shown as `\xNN`
/// (a name is attacker-chosen and ends up in terminals and reports).
pub fn entry_name(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

struct Walker<'l> {
    limits: &'l Limits,
    total: Cell<u64>,
    entries: Cell<u64>,
    /// Bytes of the zips read into memory and still held (the ones this walk is inside).
    held: Cell<u64>,
    /// Set when a limit for the whole input was reached: nothing more is read.
    stopped: Cell<bool>,
    problems: RefCell<Vec<Problem>>,
}

impl Walker<'_> {
    fn problem(&self, path: &str, reason: impl Into<String>) {
        self.problems.borrow_mut().push(Problem {
            path: path.to_string(),
            reason: reason.into(),
        });
    }

    /// Opens the container at `path` (`""`: the outer input) and visits its entries.
    fn container(
        &self,
        r: &mut dyn Read,
        kind: Kind,
        path: &str,
        stem: &str,
        depth: u8,
        visit: &mut Visit<'_>,
    ) {
        match kind {
            Kind::Zip => self.zip(r, path, depth, visit),
            Kind::Tar => self.tar(r, path, depth, visit),
            Kind::Gzip | Kind::Xz | Kind::Bzip2 => {
                let input = Cell::new(0u64);
                let counted = Counting {
                    inner: r,
                    n: &input,
                };
                let mut dec: Box<dyn Read + '_> = match kind {
                    Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
                    Kind::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
                        counted,
                        true,
                        XZ_MEM_LIMIT_KB,
                    )),
                    // A bzip2 decoder needs at most about 3.6 MiB, whatever the header says.
                    _ => Box::new(bzip2::read::MultiBzDecoder::new(counted)),
                };
                let mut lim = Limited::new(&mut dec, self, u64::MAX, Some(&input));
                // The content is named after the stream, except a container inside (tar.gz),
                // whose entries are named directly under the compressed file.
                self.entry(&mut lim, Some(path), &join(path, stem), depth, visit);
                lim.report(self, path);
            }
        }
    }

    fn zip(&self, r: &mut dyn Read, path: &str, depth: u8, visit: &mut Visit<'_>) {
        let mut buf = Vec::new();
        let all = self.limits.max_zip_bytes;
        let held = self.held.get();
        let max = all.saturating_sub(held);
        if let Err(e) = r.take(max + 1).read_to_end(&mut buf) {
            self.problem(path, format!("cannot read zip: {e}"));
            return;
        }
        if buf.len() as u64 > max {
            let why = if held == 0 {
                format!("zip larger than {max} bytes")
            } else {
                format!(
                    "zip larger than the {max} bytes left of {all} for zips held in memory at once"
                )
            };
            self.problem(
                path,
                format!("{why}: not opened, scanned as plain bytes (archive limit)"),
            );
            self.plain(&mut Cursor::new(buf).chain(r), path, visit);
            return;
        }
        // Growing the buffer may have doubled its capacity: hold only what is counted.
        buf.shrink_to_fit();
        self.held.set(held + buf.len() as u64);
        self.zip_entries(&buf, path, depth, visit);
        self.held.set(held);
    }

    /// The entries of the zip `buf` (held in memory, counted in `held`).
    fn zip_entries(&self, buf: &[u8], path: &str, depth: u8, visit: &mut Visit<'_>) {
        if let Some(n) = zip_entry_bound(buf) {
            if n > self.limits.max_entries {
                self.problem(
                    path,
                    format!(
                        "zip lists {n} entries, over the limit of {}: not opened (archive limit)",
                        self.limits.max_entries
                    ),
                );
                return;
            }
        }
        let mut z = match zip::ZipArchive::new(Cursor::new(buf)) {
            Ok(z) => z,
            Err(e) => {
                self.problem(
                    path,
                    format!("not a readable zip: {e}: scanned as plain bytes"),
                );
                self.plain(&mut &*buf, path, visit);
                return;
            }
        };
        for i in 0..z.len() {
            if self.stopped.get() {
                return;
            }
            let mut f = match z.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    self.problem(path, format!("entry {i} cannot be read: {e}"));
                    continue;
                }
            };
            if f.is_dir() {
                continue;
            }
            let name = join(path, &entry_name(f.name_raw()));
            let (size, packed) = (f.size(), f.compressed_size());
            if size > RATIO_FLOOR && size / packed.max(1) > self.limits.max_ratio {
                self.problem(
                    &name,
                    format!(
                        "compression ratio over {}:1 ({size} bytes from {packed}): skipped (archive limit)",
                        self.limits.max_ratio
                    ),
                );
                continue;
            }
            // Read up to what the entry says it holds; data past that is a problem, and is
            // read on (so nothing in it is lost) no further than the ratio limit allows.
            let mut lim = Limited::new(&mut f, self, size, None);
            lim.overrun_cap = Some(
                packed
                    .saturating_mul(self.limits.max_ratio)
                    .max(RATIO_FLOOR),
            );
            self.entry(&mut lim, None, &name, depth, visit);
            lim.report(self, &name);
        }
    }

    fn tar(&self, r: &mut dyn Read, path: &str, depth: u8, visit: &mut Visit<'_>) {
        let mut a = tar::Archive::new(r);
        let entries = match a.entries() {
            Ok(e) => e,
            Err(e) => {
                self.problem(path, format!("not a readable tar: {e}"));
                return;
            }
        };
        for e in entries {
            if self.stopped.get() {
                return;
            }
            let mut e = match e {
                Ok(e) => e,
                Err(err) => {
                    // A tar stream cannot be resynchronised after a bad header.
                    self.problem(path, format!("corrupt tar: {err}: rest skipped"));
                    return;
                }
            };
            let t = e.header().entry_type();
            // Sparse entries are left out: their holes expand to zeros without costing any
            // input, which would be a bomb no ratio check sees.
            if !(t.is_file() || t == tar::EntryType::Continuous) {
                continue;
            }
            let name = join(path, &entry_name(&e.path_bytes()));
            let mut lim = Limited::new(&mut e, self, u64::MAX, None);
            self.entry(&mut lim, None, &name, depth, visit);
            lim.report(self, &name);
        }
    }

    /// Bytes that could not be opened as the archive they look like, visited as they are
    /// (`path` is the archive's own: `""` for the outer input), so nothing in them is lost.
    fn plain(&self, r: &mut dyn Read, path: &str, visit: &mut Visit<'_>) {
        if let Err(e) = visit(path, r) {
            self.problem(path, format!("cannot read: {e}"));
        }
    }

    /// One entry at `path`: a nested container is opened (named `container_path`, which is
    /// `path` itself except for a compressed stream's layer), anything else goes to the visitor.
    fn entry(
        &self,
        r: &mut dyn Read,
        container_path: Option<&str>,
        path: &str,
        depth: u8,
        visit: &mut Visit<'_>,
    ) {
        let n = self.entries.get() + 1;
        self.entries.set(n);
        if n > self.limits.max_entries {
            self.problem(
                "",
                format!(
                    "more than {} entries: rest skipped (archive limit)",
                    self.limits.max_entries
                ),
            );
            self.stopped.set(true);
            return;
        }
        let mut br = BufReader::with_capacity(64 * 1024, r);
        let head = match fill_at_least(&mut br, SNIFF_BYTES) {
            Ok(h) => h,
            Err(e) => {
                self.problem(path, format!("cannot read: {e}"));
                return;
            }
        };
        let kind = sniff(&head);
        let mut chained = Cursor::new(head).chain(br);
        if let Some(kind) = kind {
            let here = container_path.unwrap_or(path);
            if depth < self.limits.max_depth {
                let stem = stream_stem(base_name(path));
                self.container(&mut chained, kind, here, &stem, depth + 1, visit);
                return;
            }
            self.problem(
                here,
                format!(
                    "archive nested more than {} deep: scanned as plain bytes (archive limit)",
                    self.limits.max_depth
                ),
            );
        }
        if let Err(e) = visit(path, &mut chained) {
            self.problem(path, format!("cannot read: {e}"));
        }
    }
}

/// Reads until at least `n` bytes are buffered (or the input ends) and returns a copy of them;
/// `BufReader::fill_buf` alone may return a short read from a decompressor. The bytes are
/// consumed: the caller chains them back in front.
fn fill_at_least(br: &mut BufReader<&mut dyn Read>, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    while head.len() < n {
        let b = br.fill_buf()?;
        if b.is_empty() {
            break;
        }
        let k = b.len().min(n - head.len());
        head.extend_from_slice(&b[..k]);
        br.consume(k);
    }
    Ok(head)
}

/// A zip's entry count from its end-of-central-directory record, read without parsing the
/// directory (for zip64, an upper bound: each central entry takes at least 46 bytes); `None`
/// when the record is not found or holds no usable figure.
fn zip_entry_bound(b: &[u8]) -> Option<u64> {
    let from = b.len().saturating_sub(22 + 65535);
    let at = memchr::memmem::rfind(&b[from..], b"PK\x05\x06")? + from;
    let rec = b.get(at..at + 22)?;
    let entries = u64::from(u16::from_le_bytes([rec[10], rec[11]]));
    let cd_size = u64::from(u32::from_le_bytes([rec[12], rec[13], rec[14], rec[15]]));
    if entries != 0xFFFF {
        Some(entries)
    } else if cd_size != 0xFFFF_FFFF {
        // Zip64: the count is elsewhere; the directory's size bounds it.
        Some(cd_size / 46)
    } else {
        None
    }
}

/// Counts the compressed bytes a decompressor consumed.
struct Counting<'a, R> {
    inner: R,
    n: &'a Cell<u64>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.set(self.n.get() + k as u64);
        Ok(k)
    }
}

/// Decompressed bytes of one entry: ends early (as end of input, so what came before is
/// still scanned) at the entry's own cap, the input's total budget, or the ratio limit, and
/// remembers which.
struct Limited<'a, 'w> {
    inner: &'a mut dyn Read,
    walker: &'a Walker<'w>,
    cap: u64,
    out: u64,
    input: Option<&'a Cell<u64>>,
    stop: Option<String>,
    /// For a zip entry: how far to read on when its data runs past `cap`, the size its
    /// header declares (`None`: `cap` is a limit, not a declaration).
    overrun_cap: Option<u64>,
    /// The declared size, once the data was found to run past it.
    overran: Option<u64>,
}

impl<'a, 'w> Limited<'a, 'w> {
    fn new(
        inner: &'a mut dyn Read,
        walker: &'a Walker<'w>,
        cap: u64,
        input: Option<&'a Cell<u64>>,
    ) -> Self {
        Self {
            inner,
            walker,
            cap,
            out: 0,
            input,
            stop: None,
            overrun_cap: None,
            overran: None,
        }
    }

    fn report(&self, w: &Walker<'_>, path: &str) {
        if let Some(declared) = self.overran {
            w.problem(
                path,
                format!("entry declares {declared} bytes but its data runs on past them (a corrupt or crafted zip): read on as far as the limits allow"),
            );
        }
        if let Some(r) = &self.stop {
            w.problem(path, r.clone());
        }
    }

    /// At the declared size of a zip entry: whether its data runs on. If it does, the byte
    /// read is put in `buf` and the cap moves to `overrun_cap`.
    fn probe_overrun(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(hard) = self.overrun_cap.take() else {
            return Ok(0);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        let k = self.inner.read(&mut buf[..1])?;
        if k == 0 {
            return Ok(0);
        }
        self.overran = Some(self.cap);
        self.cap = hard.max(self.cap);
        if self.out >= self.cap {
            self.stop = Some(format!(
                "compression ratio over {}:1: rest skipped (archive limit)",
                self.walker.limits.max_ratio
            ));
            return Ok(0);
        }
        self.out += 1;
        self.walker.total.set(self.walker.total.get() + 1);
        Ok(1)
    }
}

impl Read for Limited<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.is_some() {
            return Ok(0);
        }
        if self.out >= self.cap {
            return self.probe_overrun(buf);
        }
        let w = self.walker;
        let left = w.limits.max_total_bytes.saturating_sub(w.total.get());
        if left == 0 {
            w.stopped.set(true);
            self.stop = Some(format!(
                "more than {} decompressed bytes: rest skipped (archive limit)",
                w.limits.max_total_bytes
            ));
            return Ok(0);
        }
        let want = (buf.len() as u64).min(left).min(self.cap - self.out) as usize;
        let k = self.inner.read(&mut buf[..want])?;
        self.out += k as u64;
        w.total.set(w.total.get() + k as u64);
        if let Some(input) = self.input {
            let ratio = w.limits.max_ratio;
            if self.out > RATIO_FLOOR && self.out / input.get().max(1) > ratio {
                self.stop = Some(format!(
                    "compression ratio over {ratio}:1 after {} bytes: rest skipped (archive limit)",
                    self.out
                ));
            }
        }
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (n, b) in files {
            w.start_file(*n, o).unwrap();
            w.write_all(b).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn gzip_of(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    fn xz_of(b: &[u8]) -> Vec<u8> {
        let mut w =
            lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
        w.write_all(b).unwrap();
        w.finish().unwrap()
    }

    fn bzip2_of(b: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut t = tar::Builder::new(Vec::new());
        for (n, b) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(b.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            t.append_data(&mut h, n, *b).unwrap();
        }
        t.into_inner().unwrap()
    }

    fn run(bytes: &[u8], name: &str, limits: &Limits) -> (Vec<(String, Vec<u8>)>, Vec<Problem>) {
        let mut seen = Vec::new();
        let kind = sniff(bytes).expect("an archive");
        let problems = walk(&mut &bytes[..], kind, name, limits, &mut |p, r| {
            let mut b = Vec::new();
            r.read_to_end(&mut b)?;
            seen.push((p.to_string(), b));
            Ok(())
        });
        (seen, problems)
    }

    #[test]
    fn nested_zip_tar_gzip_entries_are_visited_with_their_paths() {
        let inner = zip_of(&[("conf/a.txt", b"alpha"), ("b.txt", b"beta")]);
        let tgz = gzip_of(&tar_of(&[("x/y.txt", b"why"), ("lib/inner.jar", &inner)]));
        let outer = zip_of(&[("pkg.tar.gz", &tgz), ("log.gz", &gzip_of(b"logged"))]);
        let (seen, problems) = run(&outer, "dist/app.zip", &Limits::default());
        assert!(problems.is_empty(), "{problems:?}");
        let want: Vec<(String, Vec<u8>)> = [
            ("pkg.tar.gz!x/y.txt", &b"why"[..]),
            ("pkg.tar.gz!lib/inner.jar!conf/a.txt", b"alpha"),
            ("pkg.tar.gz!lib/inner.jar!b.txt", b"beta"),
            ("log.gz!log", b"logged"),
        ]
        .iter()
        .map(|(p, b)| (p.to_string(), b.to_vec()))
        .collect();
        assert_eq!(seen, want);
        let (seen, _) = run(&gzip_of(b"plain"), "dir/app.log.gz", &Limits::default());
        assert_eq!(seen, vec![("app.log".to_string(), b"plain".to_vec())]);
        let txz = xz_of(&tar_of(&[("etc/conf", b"xz inside")]));
        let (seen, p) = run(&txz, "rootfs.tar.xz", &Limits::default());
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(seen, vec![("etc/conf".to_string(), b"xz inside".to_vec())]);
        let (seen, _) = run(&xz_of(b"dump"), "db.sql.xz", &Limits::default());
        assert_eq!(seen, vec![("db.sql".to_string(), b"dump".to_vec())]);
        let tbz = bzip2_of(&tar_of(&[("etc/conf", b"bz2 inside")]));
        for name in ["rootfs.tar.bz2", "rootfs.tbz2"] {
            let (seen, p) = run(&tbz, name, &Limits::default());
            assert!(p.is_empty(), "{p:?}");
            assert_eq!(seen, vec![("etc/conf".to_string(), b"bz2 inside".to_vec())]);
        }
        let (seen, _) = run(&bzip2_of(b"dump"), "db.sql.bz2", &Limits::default());
        assert_eq!(seen, vec![("db.sql".to_string(), b"dump".to_vec())]);
        // Two streams one after the other (as pbzip2 writes them) are one content.
        let two = [bzip2_of(b"one "), bzip2_of(b"two")].concat();
        let (seen, _) = run(&two, "log.bz2", &Limits::default());
        assert_eq!(seen, vec![("log".to_string(), b"one two".to_vec())]);
    }

    #[test]
    fn sniff_goes_by_magic_bytes() {
        assert_eq!(sniff(&zip_of(&[("a", b"b")])), Some(Kind::Zip));
        assert_eq!(sniff(&gzip_of(b"x")), Some(Kind::Gzip));
        assert_eq!(sniff(&tar_of(&[("a", b"b")])), Some(Kind::Tar));
        assert_eq!(sniff(&xz_of(b"x")), Some(Kind::Xz));
        assert_eq!(sniff(&bzip2_of(b"x")), Some(Kind::Bzip2));
        assert_eq!(sniff(&bzip2_of(b"")), Some(Kind::Bzip2));
        assert_eq!(sniff(b"BZh91AY&SX and text"), None);
        assert_eq!(sniff(b"PK is not a zip"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn bombs_stop_at_the_limits_with_a_problem() {
        let zeros = vec![0u8; 8 << 20];
        let (seen, p) = run(&zip_of(&[("z.bin", &zeros)]), "b.zip", &Limits::default());
        assert!(seen.is_empty());
        assert!(p[0].reason.contains("compression ratio"), "{p:?}");
        for bomb in [gzip_of(&zeros), xz_of(&zeros), bzip2_of(&zeros)] {
            let (seen, p) = run(&bomb, "b.gz", &Limits::default());
            assert!(seen[0].1.len() < zeros.len(), "{}", seen[0].1.len());
            assert!(p[0].reason.contains("compression ratio"), "{p:?}");
        }
        let small = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        let many: Vec<(String, Vec<u8>)> =
            (0..10).map(|i| (format!("f{i}"), vec![b'x'; 4])).collect();
        let many: Vec<(&str, &[u8])> = many.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
        let (seen, p) = run(&zip_of(&many), "m.zip", &small);
        assert!(
            seen.is_empty() && p[0].reason.contains("10 entries"),
            "{p:?}"
        );
        let (seen, p) = run(&tar_of(&many), "m.tar", &small);
        assert_eq!(seen.len(), 3);
        assert!(p[0].reason.contains("more than 3 entries"), "{p:?}");
        let total = Limits {
            max_total_bytes: 10,
            ..Limits::default()
        };
        let (seen, p) = run(&tar_of(&many), "m.tar", &total);
        assert_eq!(seen.iter().map(|s| s.1.len()).sum::<usize>(), 10);
        assert!(p[0].reason.contains("decompressed bytes"), "{p:?}");
    }

    #[test]
    fn deep_nesting_stops_at_the_depth_limit() {
        let mut b = zip_of(&[("core.txt", b"deep")]);
        for i in 0..10 {
            b = zip_of(&[(&format!("l{i}.zip"), &b)]);
        }
        let (seen, p) = run(&b, "n.zip", &Limits::default());
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].0.starts_with("l9.zip!l8.zip!l7.zip!l6.zip!"),
            "{seen:?}"
        );
        assert!(p[0].reason.contains("nested more than 5"), "{p:?}");
    }

    #[test]
    fn corrupt_archives_are_problems_not_panics() {
        let z = zip_of(&[("a.txt", b"hello world")]);
        let (_, p) = run(&z[..z.len() / 2], "t.zip", &Limits::default());
        assert!(p[0].reason.contains("not a readable zip"), "{p:?}");
        let t = tar_of(&[("a.txt", &[b'a'; 3000])]);
        let (_, p) = run(&t[..1200], "t.tar", &Limits::default());
        assert!(!p.is_empty());
        let g = gzip_of(&[b'a'; 3000]);
        let (_, p) = run(&g[..g.len() - 6], "t.gz", &Limits::default());
        assert!(p[0].reason.contains("cannot read"), "{p:?}");
        let noise: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let b = bzip2_of(&noise);
        let (_, p) = run(&b[..b.len() / 2], "t.bz2", &Limits::default());
        assert!(p[0].reason.contains("cannot read"), "{p:?}");
        let mut flipped = bzip2_of(&noise);
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x10;
        let (_, p) = run(&flipped, "t.bz2", &Limits::default());
        assert!(p[0].reason.contains("cannot read"), "{p:?}");
    }

    fn stored_zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (n, b) in files {
            w.start_file(*n, o).unwrap();
            w.write_all(b).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    /// Regression test for #26 (item 5): each nested zip was read into memory while the
    /// zips around it were still held, so stored zips in stored zips cost `max_zip_bytes`
    /// per level. The bound is now on the zips held at once: a nested zip that does not fit
    /// in what is left is scanned as plain bytes (stored content is still seen), with a
    /// problem naming it.
    #[test]
    fn zips_held_in_memory_at_once_share_one_bound() {
        let core = vec![b'k'; 3000];
        let inner = stored_zip_of(&[("core.txt", &core)]);
        let outer = stored_zip_of(&[("inner.zip", &inner), ("after.txt", b"after")]);
        // Each zip fits the bound on its own; both together do not.
        let limits = Limits {
            max_zip_bytes: (outer.len() + inner.len() / 2) as u64,
            ..Limits::default()
        };
        let (seen, p) = run(&outer, "o.zip", &limits);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "inner.zip");
        assert!(p[0].reason.contains("held in memory at once"), "{p:?}");
        let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["inner.zip", "after.txt"]);
        assert!(memchr::memmem::find(&seen[0].1, &core).is_some());
        // With room for both, the inner zip is opened as before.
        let (seen, p) = run(&outer, "o.zip", &Limits::default());
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(seen[0].0, "inner.zip!core.txt");
    }

    /// An entry whose data runs past its declared size, stored or deflated: a problem naming
    /// it, and every byte still visited.
    #[test]
    fn an_entry_longer_than_declared_is_a_problem_and_is_read_on() {
        let data: Vec<u8> = (0..5000u32).map(|i| b'a' + (i * 7 % 26) as u8).collect();
        for method in [
            zip::CompressionMethod::Stored,
            zip::CompressionMethod::Deflated,
        ] {
            let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
            let o = zip::write::SimpleFileOptions::default().compression_method(method);
            w.start_file("e.txt", o).unwrap();
            w.write_all(&data).unwrap();
            let mut z = w.finish().unwrap().into_inner();
            z[22..26].copy_from_slice(&100u32.to_le_bytes());
            let cd = memchr::memmem::find(&z, b"PK\x01\x02").unwrap();
            z[cd + 24..cd + 28].copy_from_slice(&100u32.to_le_bytes());
            let (seen, p) = run(&z, "d.zip", &Limits::default());
            assert_eq!(p.len(), 1, "{method:?}: {p:?}");
            assert_eq!(p[0].path, "e.txt");
            assert!(p[0].reason.contains("declares 100 bytes"), "{p:?}");
            assert_eq!(seen[0].1, data, "{method:?}");
        }
    }

    #[test]
    fn control_characters_in_names_are_shown_escaped() {
        let (seen, _) = run(
            &tar_of(&[("evil\x1b[2Jname\n.txt", b"x")]),
            "t.tar",
            &Limits::default(),
        );
        assert_eq!(seen[0].0, "evil\\x1b[2Jname\\x0a.txt");
    }
}
