//! Matcher throughput on generated 64 MiB buffers: no hits, sparse tokens, dense tokens.
//! Reports bytes per second. Corpora come from `rules::sample` with a fixed seed.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use patrol::matcher::Matcher;
use patrol::rules::sample::{generator, Rng};
use patrol::rules::RuleSet;

const SIZE: usize = 64 * 1024 * 1024;
const CHUNK: usize = 8 * 1024 * 1024;

/// Source-like filler: identifiers, numbers, hex digests and prose, one line at a time.
fn filler(r: &mut Rng) -> String {
    const WORDS: &[&str] = &[
        "account", "access", "token", "buffer", "config", "return", "value", "handle", "request",
        "response", "self", "import", "export", "const", "function", "client", "server", "error",
        "basic", "secret", "password", "stream", "window", "matcher", "commit", "branch",
    ];
    let mut line = String::new();
    match r.below(5) {
        0 => line.push_str(&format!(
            "    sha = \"{}\"",
            r.string(b"0123456789abcdef", 40)
        )),
        1 => line.push_str(&format!(
            "  \"integrity\": \"sha512-{}\",",
            r.string(patrol::rules::sample::ALNUM, 86)
        )),
        _ => {
            for _ in 0..(4 + r.below(10)) {
                line.push_str(WORDS[r.below(WORDS.len())]);
                line.push(if r.below(3) == 0 { '_' } else { ' ' });
            }
        }
    }
    line.push('\n');
    line
}

fn corpus(tokens_per_mib: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng::new(seed);
    let ids: Vec<&str> = [
        "azure_devops.pat_legacy",
        "azure_devops.pat",
        "github.pat_classic",
        "npm.token",
        "gitlab.pat_routable",
        "slack.user_token",
    ]
    .to_vec();
    let mut out = String::with_capacity(SIZE + 4096);
    let mut next_token = 0usize;
    while out.len() < SIZE {
        out.push_str(&filler(&mut r));
        if tokens_per_mib > 0 && out.len() >= next_token {
            let id = ids[r.below(ids.len())];
            out.push_str(&format!("TOKEN = \"{}\"\n", generator(id).unwrap()(&mut r)));
            next_token = out.len() + 1024 * 1024 / tokens_per_mib;
        }
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let m = Matcher::new(RuleSet::builtin().unwrap());
    let mut g = c.benchmark_group("matcher");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(SIZE as u64));
    for (name, per_mib) in [("no-hit", 0usize), ("sparse", 1), ("dense", 200)] {
        let buf = corpus(per_mib, 42);
        g.bench_with_input(BenchmarkId::new("find", name), &buf, |b, buf| {
            let mut s = m.scratch();
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                for chunk in buf.chunks(CHUNK) {
                    m.find(chunk, &mut s, &mut out);
                }
                out.len()
            })
        });
    }
    // The literal-free legacy PAT pass alone, so its share of the time is visible.
    let buf = corpus(0, 43);
    g.bench_function("legacy-run-pass/no-hit", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            out.clear();
            patrol::matcher::run::find_runs(
                &buf,
                52,
                patrol::rules::RunCharset::Base32Lower,
                &mut out,
            );
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
