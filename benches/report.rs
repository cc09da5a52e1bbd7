//! Report writers' throughput: findings (rows) per second for the CSV writer, on generated
//! findings with history locations and awkward paths (commas, quotes, formula starts).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use patrol::finding::{
    ChecksumStatus, CommitMeta, Finding, Fingerprint, Location, ScanSummary, Secret,
};
use patrol::report::{self, Format, ReportOptions};
use patrol::rules::sample::{sample, Rng};

const FINDINGS: usize = 2_000;
const LOCATIONS: usize = 5;

fn findings() -> Vec<Finding> {
    let mut r = Rng::new(7);
    (0..FINDINGS)
        .map(|i| {
            let secret = Secret::new(sample("github.pat_classic", i as u64).unwrap());
            let locations = (0..LOCATIONS)
                .map(|j| Location {
                    path: match j % 3 {
                        0 => format!("src/module_{i}/file_{j}.rs"),
                        1 => format!("docs/notes, \"draft\" {i}.md"),
                        _ => format!("=cmd|{}", r.string(b"abcdef", 8)),
                    },
                    path_raw: None,
                    line: (j * 10 + 1) as u64,
                    column: 5,
                    commit: Some(CommitMeta {
                        id: r.string(b"0123456789abcdef", 40),
                        author_name: "Alice Example".into(),
                        author_email: "alice@example.com".into(),
                        author_date: "2024-05-01T10:00:00Z".into(),
                    }),
                    encoding: None,
                    repository: None,
                })
                .collect();
            Finding {
                rule: "github.pat_classic".into(),
                name: "GitHub personal access token (classic)".into(),
                provider: "github".into(),
                fingerprint: Fingerprint::of("github.pat_classic", &secret),
                secret,
                checksum: ChecksumStatus::Valid,
                locations,
                locations_omitted: 0,
                verification: None,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let fs = findings();
    let mut g = c.benchmark_group("report");
    g.throughput(Throughput::Elements((FINDINGS * LOCATIONS) as u64));
    g.bench_function("csv", |b| {
        b.iter(|| {
            let mut buf = Vec::with_capacity(4 << 20);
            {
                let mut w = report::sink(Format::Csv, Box::new(&mut buf), ReportOptions::default());
                w.begin("bench").unwrap();
                for f in &fs {
                    w.finding(f).unwrap();
                }
                w.finish(&ScanSummary::default()).unwrap();
            }
            buf.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
