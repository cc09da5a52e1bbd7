#!/usr/bin/env python3
"""Files-mode and pre-commit benchmark: patrol against ripgrep counting the same keywords, and
`patrol scan --staged` against `git diff --cached --stat`, each pair interleaved in one run.

    scripts/files-bench.py [--corpus DIR] [--truth FILE] [--staged-repo DIR] [--runs 5]
                           [--staged-runs 30] [--patrol BIN] [--baseline BIN]
                           [--skip-files] [--skip-staged] [--keep DIR]

Files mode (issue #13, "speed must hold"): writes `keywords.txt`, every built-in rule's
prefilter keyword from `patrol rules list --format json`, then runs, interleaved RUNS times
each under GNU time (`/usr/bin/time -v`):

    rg -j2 -c -F -f keywords.txt CORPUS
    patrol scan CORPUS --history none --threads 2 --format jsonl --output /dev/null
    (and the --baseline patrol build, same command: before/after in one run)

and prints, per tool, the fastest and median wall time, MiB/s of the corpus's file bytes at
the fastest and the median run, CPU%, CPU seconds (user + system, median) and peak RSS, and
patrol's ratio to rg (1.0 = as fast as rg): of the fastest runs, the median of each round's
ratio, and of CPU seconds (the steadiest figure on a shared machine). rg finds
keyword lines only, patrol also confirms, validates checksums, decodes and runs the
literal-free legacy-PAT pass: rg is the floor a keyword prefilter is held to. With `--truth`
one more patrol run writes a report and `score_truth.py` of the benchmark kit scores it
(recall must be 1.0, no decoy reported).

Pre-commit (issue #14): in STAGED_REPO (from the kit's `make-staged-repo.sh`), hyperfine
(`-w 3 -r STAGED_RUNS`, JSON export) runs `git diff --cached --stat`, `patrol scan --staged`
(and the baseline's) in one invocation; prints p50 and p95 of each.

Default corpus /work/bench/c256 (`gen_synthetic.py OUT --size-mb 256 --seed 21`) and
/work/bench/staged10k. Not part of CI: a files round takes about a minute on 2 cores.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KIT = os.environ.get("PATROL_BENCH_KIT") or next(
    (p for p in (os.path.join(ROOT, "..", "shared", "bench"),
                 os.path.join(ROOT, "..", "..", "shared", "bench"), "/work/shared/bench")
     if os.path.exists(os.path.join(p, "score_truth.py"))), None)
GNU_TIME = "/usr/bin/time"


def keywords(patrol):
    """Every distinct keyword of the built-in rules, as patrol's prefilter sees them."""
    out = subprocess.run([patrol, "rules", "list", "--format", "json"], check=True,
                         capture_output=True, text=True).stdout
    kws = sorted({k for r in json.loads(out) for k in r["keywords"]})
    if any("\n" in k for k in kws):
        sys.exit("files-bench: a keyword holds a newline; rg -f cannot take it")
    return kws


def corpus_bytes(d):
    total = 0
    for dirpath, dirnames, filenames in os.walk(d):
        dirnames[:] = [x for x in dirnames if x != ".git"]
        for f in filenames:
            p = os.path.join(dirpath, f)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def timed(cmd):
    """Wall seconds, CPU%, peak RSS (MiB), exit code and CPU seconds (user + system) of `cmd`
    under GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        p = subprocess.run([GNU_TIME, "-v", "-o", t.name] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        text = t.read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    h, m, s = wall.groups()
    secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
    cpu = re.search(r"Percent of CPU this job got: (\d+)%", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    return (secs, int(cpu.group(1)) if cpu else 0, int(rss.group(1)) / 1024, p.returncode,
            user + system)


def files_round(args, tmp):
    kw = os.path.join(tmp, "keywords.txt")
    kws = keywords(args.patrol)
    with open(kw, "w") as f:
        f.write("".join(k + "\n" for k in kws))
    size = corpus_bytes(args.corpus)
    mib = size / 2**20
    tools = [("rg", ["rg", "-j2", "-c", "-F", "-f", kw, args.corpus])]

    def scan(binary):
        return [binary, "scan", args.corpus, "--history", "none", "--threads", "2",
                "--format", "jsonl", "--output", "/dev/null", "--no-progress"]

    tools.append(("patrol", scan(args.patrol)))
    if args.baseline:
        tools.append(("baseline", scan(args.baseline)))
    print(f"files: {args.corpus}, {mib:.1f} MiB, {len(kws)} keywords, {args.runs} runs each, "
          "interleaved")
    # One warm-up each, so every tool reads from the page cache.
    for _, cmd in tools:
        timed(cmd)
    runs = {name: [] for name, _ in tools}
    for _ in range(args.runs):
        for name, cmd in tools:
            runs[name].append(timed(cmd))
    print(f"{'tool':<10} {'min s':>7} {'p50 s':>7} {'MiB/s':>8} {'p50 MiB/s':>10} "
          f"{'CPU%':>5} {'CPU s':>6} {'RSS MiB':>8} exit")
    best = {}
    for name, _ in tools:
        r = runs[name]
        walls = [x[0] for x in r]
        best[name] = min(walls)
        p50 = statistics.median(walls)
        cpu = statistics.median([x[1] for x in r])
        rss = max(x[2] for x in r)
        codes = sorted({x[3] for x in r})
        cpu_s = statistics.median([x[4] for x in r])
        print(f"{name:<10} {min(walls):7.3f} {p50:7.3f} {mib / min(walls):8.1f} "
              f"{mib / p50:10.1f} {cpu:5.0f} {cpu_s:6.2f} {rss:8.1f} {codes}")
    for name in runs:
        if name != "rg":
            ratios = [runs["rg"][i][0] / runs[name][i][0] for i in range(args.runs)]
            cpu = [runs["rg"][i][4] / runs[name][i][4] for i in range(args.runs)]
            print(f"{name}/rg throughput: {best['rg'] / best[name]:.3f} (fastest runs), "
                  f"{statistics.median(ratios):.3f} (median of per-round ratios), "
                  f"{statistics.median(cpu):.3f} (by CPU seconds)")
    if args.truth:
        score(args, tmp)


def score(args, tmp):
    report = os.path.join(args.keep or tmp, "patrol-files.jsonl")
    subprocess.run([args.patrol, "scan", args.corpus, "--history", "none", "--threads", "2",
                    "--format", "jsonl", "--show-secrets", "--no-progress", "--output", report],
                   stdout=subprocess.DEVNULL)
    if KIT is None:
        print("score: the benchmark kit (score_truth.py) was not found; set PATROL_BENCH_KIT")
        return
    subprocess.run([sys.executable, os.path.join(KIT, "score_truth.py"), report, args.truth])


def staged_round(args, tmp):
    out = os.path.join(tmp, "staged.json")
    cmds = [("git diff --cached --stat", "git diff --cached --stat"),
            ("patrol --staged", f"{args.patrol} scan --staged --no-progress --output /dev/null")]
    if args.baseline:
        cmds.append(("baseline --staged",
                     f"{args.baseline} scan --staged --no-progress --output /dev/null"))
    hf = ["hyperfine", "-N", "-i", "-w", "3", "-r", str(args.staged_runs), "--export-json", out]
    for name, c in cmds:
        hf += ["-n", name, c]
    subprocess.run(hf, cwd=args.staged_repo, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        results = json.load(f)["results"]
    print(f"staged: {args.staged_repo}, {args.staged_runs} runs each (hyperfine -w 3)")
    for r in results:
        t = sorted(r["times"])
        p95 = t[min(len(t) - 1, round(0.95 * (len(t) - 1)))]
        print(f"  {r['command']:<26} p50 {statistics.median(t) * 1000:7.1f} ms   "
              f"p95 {p95 * 1000:7.1f} ms   min {t[0] * 1000:7.1f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="/work/bench/c256")
    ap.add_argument("--truth", default=None)
    ap.add_argument("--staged-repo", default="/work/bench/staged10k")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--staged-runs", type=int, default=30)
    ap.add_argument("--patrol", default=os.path.join(ROOT, "target", "release", "patrol"))
    ap.add_argument("--baseline", default=None)
    ap.add_argument("--skip-files", action="store_true")
    ap.add_argument("--skip-staged", action="store_true")
    ap.add_argument("--keep", default=None, help="directory for keywords.txt and the report")
    args = ap.parse_args()
    for tool in (["rg"] if not args.skip_files else []) + \
            (["hyperfine"] if not args.skip_staged else []):
        if shutil.which(tool) is None:
            sys.exit(f"files-bench: {tool} is not installed")
    if not args.skip_files and not os.path.exists(GNU_TIME):
        sys.exit("files-bench: GNU time (/usr/bin/time) is not installed (apt-get install time)")
    args.patrol = os.path.abspath(args.patrol)
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or tmp
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
        if not args.skip_files:
            files_round(args, work)
        if not args.skip_staged:
            staged_round(args, work)


if __name__ == "__main__":
    main()
