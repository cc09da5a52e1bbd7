#!/usr/bin/env python3
"""History benchmark: a long synthetic git history, and patrol, Kingfisher and `git cat-file`
on it in one run.

    scripts/history-bench.py [--repo DIR] [--commits 100000] [--seed 7] [--rebuild]
                             [--patrol BIN] [--baseline BIN] [--tools patrol,kingfisher,git]
                             [--timeline]

Builds DIR (default /tmp/patrol-history-bench) once with `git fast-import`: COMMITS commits on
`main`, most of them small edits to one of a few large files (a few lines changed, the rest of
the file unchanged, as real source files evolve), others adding, editing, renaming and
deleting small files and renaming whole directories; every 400 commits a side branch of 12
commits is merged back. Fake, format-valid tokens (generators of ../shared/bench/
gen_synthetic.py) are planted in new files, in edits of small files, in lines of large files
(removed again a few edits later) and on side branches. The truth file goes OUTSIDE the
repository (DIR.truth.json): for each token its kind, the path it was planted at and the
commit that introduced it. The repository is repacked (`git repack -adf`), as a served
repository would be.

Then runs, one after another under GNU time (`/usr/bin/time -v`): `git cat-file
--batch-all-objects --batch` (the read floor), patrol `scan DIR --history all --threads 2`,
the optional baseline patrol build (`--baseline`, same command: before/after in one run) and
Kingfisher (`--git-history full -j 2`, validation off). Prints wall time, CPU% and peak RSS
of each, the ratios to `git cat-file`, and patrol's score: every planted token found, and
attributed to the commit that introduced it at the path it was planted at (the earliest
location of the finding). With `--baseline` the two patrol reports must be identical.

Not part of CI: building the default repository takes a few minutes on one core.
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KIT = os.environ.get("PATROL_BENCH_KIT") or next(
    (p for p in (os.path.join(HERE, "..", "..", "shared", "bench"), "/work/shared/bench")
     if os.path.exists(os.path.join(p, "gen_synthetic.py"))), None)
if KIT is None:
    sys.exit("history-bench: set PATROL_BENCH_KIT to the directory holding gen_synthetic.py")
sys.path.insert(0, KIT)
import gen_synthetic as gs  # noqa: E402  (token generators of the benchmark kit)

WORDS = ("account access buffer config return value handle request response self import "
         "export const function client server error stream window commit branch index "
         "parse render update delete create select insert table column record option "
         "result status thread worker queue cache entry header params context").split()


def line_pool(rng, n=20000):
    out = []
    for _ in range(n):
        k = rng.randrange(6)
        if k == 0:
            out.append("    sha = \"%040x\"" % rng.getrandbits(160))
        elif k == 1:
            out.append("")
        else:
            ws = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 11)))
            out.append("    " * rng.randrange(3) + f"{ws}({rng.randrange(1000)});")
    return out


class Gen:
    """Writes a fast-import stream; keeps the files of `main` (and of the open side branch)
    as lists of lines."""

    def __init__(self, a, out):
        self.a, self.out = a, out
        self.rng = random.Random(a.seed)
        self.pool = line_pool(self.rng)
        self.mark = 0
        self.time = 1_600_000_000
        self.truth = []
        self.files = {}  # path -> list of lines, on main
        self.large = []
        self.small = []
        self.dirs = [f"src/m{d:02}" for d in range(40)]
        self.pending = []  # (commits left, path, token) to remove from large files
        self.kinds = sorted(gs.GENERATORS)
        self.planted = 0

    def w(self, s):
        self.out.write(s.encode() if isinstance(s, str) else s)

    def body(self, path):
        return ("\n".join(self.files[path]) + "\n").encode()

    def token(self, kind=None):
        kind = kind or self.kinds[self.planted % len(self.kinds)]
        self.planted += 1
        tok = gs.GENERATORS[kind](self.rng)
        tmpl = self.rng.choice(gs.CONTEXTS[kind])[1]
        return kind, tok, tmpl.format(t=tok)

    def commit(self, ref, msg, ops, parent=None, merge=None):
        """ops: list of ("M", path) | ("D", path) | ("R", old, new); returns the mark."""
        self.mark += 1
        self.time += 60
        self.w(f"commit {ref}\nmark :{self.mark}\n"
               f"author Dev {self.mark % 17} <dev{self.mark % 17}@example.invalid> {self.time} +0000\n"
               f"committer Dev <dev@example.invalid> {self.time} +0000\n")
        m = msg.encode()
        self.w(f"data {len(m)}\n")
        self.w(m + b"\n")
        if parent:
            self.w(f"from :{parent}\n")
        if merge:
            self.w(f"merge :{merge}\n")
        for op in ops:
            if op[0] == "M":
                b = self.body(op[1])
                self.w(f"M 100644 inline {op[1]}\ndata {len(b)}\n")
                self.w(b + b"\n")
            elif op[0] == "D":
                self.w(f"D {op[1]}\n")
            else:
                self.w(f'R "{op[1]}" "{op[2]}"\n')
        self.w("\n")
        return self.mark

    def plant(self, path, lines, mark_next, where):
        kind, tok, line = self.token()
        i = self.rng.randrange(len(lines) + 1)
        lines.insert(i, line)
        self.truth.append({"kind": kind, "token": tok, "path": path, "mark": mark_next,
                           "where": where})
        return tok, line

    def new_small(self, path):
        self.files[path] = [self.rng.choice(self.pool) for _ in range(self.rng.randrange(10, 80))]
        self.small.append(path)

    def run(self):
        a, rng = self.a, self.rng
        ops = []
        for i in range(a.large_files):
            p = f"{rng.choice(self.dirs)}/gen/big{i:02}.rs"
            self.files[p] = [rng.choice(self.pool) for _ in range(a.large_kib * 1024 // 45)]
            self.large.append(p)
            ops.append(("M", p))
        for i in range(400):
            p = f"{rng.choice(self.dirs)}/f{i:04}.txt"
            self.new_small(p)
            ops.append(("M", p))
        head = self.commit("refs/heads/main", "initial import", ops)
        # Commits that plant a token: spread evenly, none in the first one.
        plant_at = set(rng.sample(range(2, a.commits), a.tokens))
        n, side = 1, 0
        while n < a.commits:
            n += 1
            if n % 400 == 0 and n + 14 < a.commits:
                head, n = self.side_branch(head, side, n, plant_at)
                side += 1
                continue
            ops = []
            planting = n in plant_at
            for p in [p for (k, p, t) in self.pending if k <= n]:
                self.files[p] = [ln for ln in self.files[p]
                                 if not any(t in ln for (_, q, t) in self.pending if q == p)]
                ops.append(("M", p))
            self.pending = [e for e in self.pending if e[1] not in {o[1] for o in ops}]
            r = rng.random()
            if r < 0.5 or (planting and r < 0.65):
                p = rng.choice(self.large)
                lines = self.files[p]
                for _ in range(rng.randrange(1, 4)):
                    j = rng.randrange(len(lines))
                    if rng.random() < 0.8:
                        lines[j] = rng.choice(self.pool)
                    else:
                        lines.insert(j, rng.choice(self.pool))
                if planting:
                    tok, _ = self.plant(p, lines, self.mark + 1, "large file line")
                    self.pending.append((n + rng.randrange(3, 40), p, tok))
                    planting = False
                ops.append(("M", p))
            r = rng.random()
            if r < 0.8 or planting:
                for _ in range(rng.randrange(1, 3)):
                    if rng.random() < 0.2 or planting:
                        p = f"{rng.choice(self.dirs)}/n{n:06}.txt"
                        if p in self.files:
                            continue
                        self.new_small(p)
                    else:
                        p = rng.choice(self.small)
                        if any(o[1] == p for o in ops):
                            continue
                        self.files[p][rng.randrange(len(self.files[p]))] = rng.choice(self.pool)
                    if planting:
                        self.plant(p, self.files[p], self.mark + 1, "small file")
                        planting = False
                    ops.append(("M", p))
            elif r < 0.92 and len(self.small) > 100:
                old = rng.choice(self.small)
                new = f"{rng.choice(self.dirs)}/r{n:06}.txt"
                self.files[new] = self.files.pop(old)
                self.small.remove(old)
                self.small.append(new)
                ops.append(("R", old, new))
            elif r < 0.995 and len(self.small) > 100:
                p = rng.choice(self.small)
                if not any(p == q for (_, q, _) in self.pending):
                    del self.files[p]
                    self.small.remove(p)
                    ops.append(("D", p))
            else:
                # A whole directory moves (large files in it move too), unless a file in it
                # is edited in this commit or waits for its token to be removed.
                old = rng.choice(self.dirs)
                new = f"src/m{len(self.dirs):02}x{n}"
                busy = {o[1] for o in ops} | {q for (_, q, _) in self.pending}
                if not any(p.startswith(old + "/") for p in busy):
                    self.dirs[self.dirs.index(old)] = new
                    moved = {p: new + p[len(old):] for p in self.files if p.startswith(old + "/")}
                    for p, q in moved.items():
                        self.files[q] = self.files.pop(p)
                    self.large = [moved.get(p, p) for p in self.large]
                    self.small = [moved.get(p, p) for p in self.small]
                    ops.append(("R", old, new))
            msg = f"{rng.choice(WORDS)}: {' '.join(rng.choice(WORDS) for _ in range(5))}"
            head = self.commit("refs/heads/main", msg, ops, parent=head)
        self.w("reset refs/tags/v1\nfrom :%d\n\n" % head)
        return head

    def side_branch(self, head, k, n, plant_at):
        """12 commits on a side branch under side/bK/, merged back into main."""
        rng, ref = self.rng, f"refs/heads/side{k}"
        base = f"side/b{k:03}"
        paths = [f"{base}/s{i}.txt" for i in range(4)]
        for p in paths:
            self.new_small(p)
        tip = head
        for i in range(12):
            n += 1
            p = paths[i % 4]
            self.files[p][rng.randrange(len(self.files[p]))] = rng.choice(self.pool)
            if n in plant_at:
                self.plant(p, self.files[p], self.mark + 1, "side branch")
            tip = self.commit(ref, f"side {k}: step {i}", [("M", p)], parent=tip)
        n += 1
        head = self.commit("refs/heads/main", f"Merge branch 'side{k}'",
                           [("M", p) for p in paths], parent=head, merge=tip)
        return head, n


def build(a):
    repo = a.repo
    if os.path.exists(repo):
        shutil.rmtree(repo)
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    marks = repo + ".marks"
    p = subprocess.Popen(["git", "-C", repo, "fast-import", "--quiet", f"--export-marks={marks}"],
                         stdin=subprocess.PIPE)
    g = Gen(a, p.stdin)
    g.run()
    p.stdin.close()
    if p.wait() != 0:
        sys.exit("fast-import failed")
    ids = {}
    for ln in open(marks):
        m, sha = ln.split()
        ids[int(m[1:])] = sha
    for t in g.truth:
        t["commit"] = ids[t.pop("mark")]
    os.remove(marks)
    print(f"repacking {repo} ...", file=sys.stderr)
    subprocess.run(["git", "-C", repo, "repack", "-adfq", "--window=10",
                    "--depth=50"], check=True)
    subprocess.run(["git", "-C", repo, "checkout", "-q", "main"], check=True)
    with open(repo + ".truth.json", "w") as fh:
        json.dump({"planted": g.truth, "commits": a.commits}, fh, indent=1)


def timed(cmd, out=None):
    """Runs cmd under /usr/bin/time -v; returns (wall s, CPU%, peak RSS MiB, exit code)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-v", "-o", tf.name] + cmd
        with open(out or os.devnull, "wb") as fo:
            rc = subprocess.run(full, stdout=fo, stderr=subprocess.DEVNULL).returncode
        t = tf.read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
    secs = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    cpu = re.search(r"Percent of CPU this job got: (\d+)%", t)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
    return secs, int(cpu.group(1)) if cpu else 0, int(rss.group(1)) / 1024, rc


def timeline(cmd, interval=2.0):
    """Runs cmd once more and prints each thread's share of a CPU every `interval` s, from
    /proc/PID/task/*/stat (Linux): shows which thread is the bottleneck in which phase."""
    import time
    hz = os.sysconf("SC_CLK_TCK")
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prev, t0 = {}, time.time()
    print(f"per-thread CPU of {os.path.basename(cmd[0])} (thread id relative to the process):")
    while p.poll() is None:
        time.sleep(interval)
        row = {}
        try:
            for tid in os.listdir(f"/proc/{p.pid}/task"):
                with open(f"/proc/{p.pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                row[int(tid)] = (int(fields[11]) + int(fields[12])) / hz
        except OSError:
            break
        cells = [f"{tid - p.pid:+d}:{100 * (row[tid] - prev.get(tid, 0)) / interval:3.0f}%"
                 for tid in sorted(row) if row[tid] - prev.get(tid, 0) > 0.02 or tid == p.pid]
        prev = row
        print(f"{time.time() - t0:6.1f}s " + " ".join(cells), flush=True)
    p.wait()


def score(report, truth):
    """Every planted token found; its earliest location is the planted path and commit."""
    by_secret = {}
    for ln in open(report):
        if ln.startswith("{"):
            f = json.loads(ln)
            by_secret.setdefault(f.get("secret"), []).extend(f.get("locations", []))
    found = attributed = 0
    wrong = []
    for t in truth["planted"]:
        locs = by_secret.get(t["token"])
        if not locs:
            continue
        found += 1
        if any(l.get("path") == t["path"] and l.get("commit") == t["commit"] for l in locs):
            attributed += 1
        else:
            wrong.append(t["token"][:8] + "...")
    n = len(truth["planted"])
    return f"found {found}/{n}, attributed {attributed}/{n}" + (
        f" (wrong: {', '.join(wrong[:5])})" if wrong else "")


def canonical(report):
    rows = [json.loads(ln) for ln in open(report) if ln.startswith("{")]
    for r in rows:
        r.pop("verification", None)
        for loc in r.get("locations", []):
            loc.pop("repository", None)  # a newer field; older builds do not print it
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", default="/tmp/patrol-history-bench")
    ap.add_argument("--commits", type=int, default=100_000)
    ap.add_argument("--large-files", type=int, default=24)
    ap.add_argument("--large-kib", type=int, default=24)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--patrol", default=os.path.join(HERE, "..", "target", "release", "patrol"))
    ap.add_argument("--baseline", help="a second patrol build to run on the same repository")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tools", default="git,patrol,baseline,kingfisher")
    ap.add_argument("--keep", default=tempfile.gettempdir())
    ap.add_argument("--timeline", action="store_true",
                    help="then run patrol once more, printing each thread's CPU share over time")
    a = ap.parse_args()
    if a.rebuild or not os.path.exists(a.repo + ".truth.json"):
        build(a)
    truth = json.load(open(a.repo + ".truth.json"))
    count = subprocess.run(["git", "-C", a.repo, "cat-file", "--batch-all-objects",
                            "--batch-check=%(objecttype) %(objectsize)"],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    blobs = [int(x.split()[1]) for x in count if x.startswith("blob ")]
    commits = sum(1 for x in count if x.startswith("commit "))
    print(f"repository {a.repo}: {commits} commits, {len(blobs)} blobs, "
          f"{sum(blobs) / 2**20:.0f} MiB of unique blob content, {len(truth['planted'])} planted tokens")
    kf = os.path.expanduser(os.environ.get("KINGFISHER", "~/.cache/patrol-bench/bin/kingfisher"))
    tools = a.tools.split(",")
    runs = []
    if "git" in tools:
        runs.append(("git cat-file", ["sh", "-c", f"git -C '{a.repo}' cat-file --batch-all-objects --batch >/dev/null"], None))
    pcmd = ["scan", a.repo, "--history", "all", "--threads", str(a.threads), "--format", "jsonl",
            "--show-secrets", "--no-progress"]
    if "patrol" in tools:
        runs.append(("patrol", [a.patrol] + pcmd, os.path.join(a.keep, "history-bench.patrol.jsonl")))
    if a.baseline and "baseline" in tools:
        runs.append(("patrol baseline", [a.baseline] + pcmd,
                     os.path.join(a.keep, "history-bench.baseline.jsonl")))
    if "kingfisher" in tools and os.path.exists(kf):
        runs.append(("kingfisher", [kf, "scan", a.repo, "--no-validate", "--no-update-check", "-j",
                                    str(a.threads), "-f", "jsonl", "--git-history", "full"],
                     os.path.join(a.keep, "history-bench.kingfisher.jsonl")))
    res = {}
    print(f"{'tool':<16} {'wall s':>8} {'CPU%':>6} {'RSS MiB':>8} {'exit':>5}  {'/ git':>6}  score")
    for name, cmd, out in runs:
        wall, cpu, rss, rc = timed(cmd, out)
        res[name] = (wall, out)
        ratio = f"{wall / res['git cat-file'][0]:.2f}" if "git cat-file" in res else "-"
        sc = score(out, truth) if name.startswith("patrol") else ""
        if name == "kingfisher":
            text = open(out, errors="replace").read()
            sc = f"found {sum(1 for t in truth['planted'] if t['token'] in text)}/{len(truth['planted'])}"
        print(f"{name:<16} {wall:8.2f} {cpu:6d} {rss:8.1f} {rc:5d}  {ratio:>6}  {sc}", flush=True)
    if "patrol" in res and "patrol baseline" in res:
        same = canonical(res["patrol"][1]) == canonical(res["patrol baseline"][1])
        print("patrol report identical to baseline's:", "yes" if same else "NO")
    if a.timeline:
        timeline([a.patrol] + pcmd)


if __name__ == "__main__":
    main()
