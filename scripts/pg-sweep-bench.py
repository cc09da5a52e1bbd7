#!/usr/bin/env python3
"""Benchmark for shared sweeps (not a test): 1, 2 and 4 `patrol sweep` workers sharing one
PostgreSQL datastore against the synthetic loopback organisation of scripts/sweep-bench.py
(N repositories, a fifth of them forks), plus the same sweep on SQLite by one process.

For each run: wall time until every worker has exited, and the datastore's work per
repository (transactions committed, from pg_stat_database). The coordination overhead per
repository is (wall of 1 PostgreSQL worker - wall of the SQLite sweep) / repositories, both
with the same --jobs: what claiming, leasing, heartbeats and the network round trips add.

  eval "$(scripts/pg-test-server.sh start)"        # or any PATROL_TEST_PG_URL
  nice -n 10 scripts/pg-sweep-bench.py [--repos 200] [--workers 1,2,4] [--jobs 2]
      [--patrol target/release/patrol]
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("sweep_bench", os.path.join(HERE, "sweep-bench.py"))
sb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sb)


def psql(url, sql):
    return subprocess.run(["psql", "-Atq", url, "-c", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def fresh_db(url, name):
    base = url.rsplit("/", 1)[0]
    psql(url, f"DROP DATABASE IF EXISTS {name}")
    psql(url, f"CREATE DATABASE {name}")
    return f"{base}/{name}"


def xacts(url, name):
    return int(psql(url, f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{name}'"))


def run_workers(cmd_for, n):
    t = time.monotonic()
    procs = [subprocess.Popen(cmd_for(i), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for i in range(n)]
    errs = [p.communicate()[1].decode(errors="replace") for p in procs]
    return time.monotonic() - t, [p.returncode for p in procs], errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=200)
    ap.add_argument("--patrol", default="target/release/patrol")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--jobs", type=int, default=2, help="repositories in flight per worker")
    ap.add_argument("--lease", type=int, default=60)
    a = ap.parse_args()
    url = os.environ.get("PATROL_TEST_PG_URL")
    if not url:
        sys.exit("PATROL_TEST_PG_URL is not set: eval \"$(scripts/pg-test-server.sh start)\"")
    patrol = os.path.abspath(a.patrol)
    work = tempfile.mkdtemp(prefix="pg-sweep-bench-")
    try:
        root = os.path.join(work, "srv")
        os.makedirs(root)
        n_forks = a.repos // 5
        originals = [f"repo{i:03d}" for i in range(a.repos - n_forks)]
        for i, n in enumerate(originals):
            sb.fast_import_repo(os.path.join(root, n + ".git"), i)
        for i in range(n_forks):
            parent = originals[i % len(originals)]
            sb.git("clone", "--bare", "-q", os.path.join(root, parent + ".git"),
                   os.path.join(root, f"fork{i:03d}.git"))
        names = originals + [f"fork{i:03d}" for i in range(n_forks)]
        sb.Handler.root = root
        sb.Handler.names = names
        srv = ThreadingHTTPServer(("127.0.0.1", 0), sb.Handler)
        sb.Handler.base = f"http://127.0.0.1:{srv.server_address[1]}"
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        base = sb.Handler.base
        env = {"PATH": os.environ["PATH"], "HOME": work, "GITHUB_TOKEN": sb.TOKEN}
        os.environ.update(env)
        print(f"{len(names)} repositories ({n_forks} forks); --jobs {a.jobs} per worker; "
              f"load average {os.getloadavg()[0]:.1f}")

        def cmd(datastore, cache, extra=()):
            return [patrol, "sweep", "github", "--org", "bench", "--api-url", base,
                    "--include-forks", "--no-progress", "--jobs", str(a.jobs),
                    "--datastore", datastore, "--cache", cache, *extra]

        sq = os.path.join(work, "sqlite")
        os.makedirs(sq)
        wall, codes, _ = run_workers(lambda i: cmd(os.path.join(sq, "s.db"), os.path.join(sq, "c")), 1)
        print(f"sqlite, 1 process: {wall:.2f} s wall, exit {codes}")
        base_wall = wall
        wall, codes, _ = run_workers(lambda i: cmd(os.path.join(sq, "s.db"), os.path.join(sq, "c")), 1)
        print(f"sqlite, 1 process, unchanged re-sweep: {wall:.2f} s wall, exit {codes}")
        base_again = wall
        walls = {}
        again = {}
        for w in [int(x) for x in a.workers.split(",")]:
            name = f"bench_w{w}"
            dsn = fresh_db(url, name)
            x0 = xacts(url, name)
            d = os.path.join(work, f"pg{w}")
            wall, codes, errs = run_workers(
                lambda i: cmd(dsn, os.path.join(d, f"c{i}"), ["--lease", str(a.lease)]), w)
            x1 = xacts(url, name)
            walls[w] = wall
            per_worker = psql(dsn, "SELECT string_agg(n::text, '/') FROM (SELECT count(*) AS n "
                                   "FROM plan GROUP BY finished_by ORDER BY 1 DESC) s")
            claims = psql(dsn, "SELECT sum(claims) FROM plan")
            sizes = psql(dsn, "SELECT string_agg(relname || '=' || pg_size_pretty(pg_total_relation_size(oid)), ' ') "
                              "FROM pg_class WHERE relname IN ('plan','objects','object_hits','locations','findings') ")
            print(f"postgres, {w} worker(s): {wall:.2f} s wall, exit {codes}; repositories per worker "
                  f"{per_worker}; claims {claims}; {(x1 - x0) / len(names):.1f} transactions per "
                  f"repository; {sizes}")
            for e in errs[:1]:
                if e.strip():
                    print("   last line:", e.strip().splitlines()[-1])
            # The same workers again: every repository unchanged, so nearly all that is left
            # is coordination (claim, watermark, finish) and one ref advertisement each.
            x0 = xacts(url, name)
            wall, codes, _ = run_workers(
                lambda i: cmd(dsn, os.path.join(d, f"c{i}"), ["--lease", str(a.lease)]), w)
            x1 = xacts(url, name)
            again[w] = wall
            print(f"postgres, {w} worker(s), unchanged re-sweep: {wall:.2f} s wall, exit {codes}; "
                  f"{(x1 - x0) / len(names):.1f} transactions per repository")
        if 1 in walls:
            print(f"coordination overhead per repository (1 PostgreSQL worker vs SQLite): "
                  f"{(walls[1] - base_wall) * 1000 / len(names):.1f} ms")
        if 1 in again:
            print(f"coordination overhead per repository, unchanged re-sweep (1 PostgreSQL worker vs "
                  f"SQLite): {(again[1] - base_again) * 1000 / len(names):.1f} ms")
        for w, t in walls.items():
            if 1 in walls and w > 1:
                print(f"speed-up with {w} workers: {walls[1] / t:.2f}x "
                      f"(all workers share this machine's {os.cpu_count()} cores)")
        print(f"load average at the end: {os.getloadavg()}")
        srv.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
