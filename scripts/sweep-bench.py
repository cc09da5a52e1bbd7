#!/usr/bin/env python3
"""Benchmark for `patrol sweep` (not a test): a synthetic organisation of N repositories (a
fifth of them forks sharing their parent's history) served on loopback by a GitHub-style
listing stand-in and `git http-backend` (smart HTTP, Basic auth), then:

  1. baseline: `git clone --mirror` + `patrol scan` of every repository, one after another;
  2. first sweep (`patrol sweep github --include-forks`);
  3. re-sweep with nothing changed (target: under 2 s for 200 repositories);
  4. re-sweep after one push to one repository.

Prints wall time and peak RSS (GNU time) of each. Usage:
  scripts/sweep-bench.py [--repos 200] [--patrol target/release/patrol] [--jobs 8]
                         [--datastore postgres://USER@HOST:PORT/DB] [--report FILE]
--report writes `patrol report --format json --show-secrets` after the sweeps (the same
organisation is generated from fixed seeds every time, so two builds' reports can be compared
with cmp); --datastore sweeps into that datastore instead of a SQLite file (it must be empty).
Run it under `nice -n 10` on a shared machine.
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "bench-loopback-token"
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(*args, cwd=None, stdin=None):
    env = dict(os.environ, **GIT_ENV)
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, env=env, check=True,
                          capture_output=True).stdout


def fake_slack(seed):
    import random
    r = random.Random(seed)
    digits = lambda n: "".join(r.choice("0123456789") for _ in range(n))
    alnum = "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(24))
    return f"xoxb-{digits(11)}-{digits(12)}-{alnum}"


def fast_import_repo(path, seed, commits=20, files=40):
    """A bare repository with `commits` commits over `files` files, via git fast-import."""
    git("init", "--bare", "-q", "-b", "main", path)
    out = []
    mark = 0
    for c in range(commits):
        out.append("commit refs/heads/main\n")
        mark += 1
        out.append(f"mark :{mark}\n")
        ts = 1_700_000_000 + seed * 1000 + c
        out.append(f"author Bench <bench@example.com> {ts} +0000\n")
        out.append(f"committer Bench <bench@example.com> {ts} +0000\n")
        msg = f"commit {c} of repo {seed}\n"
        out.append(f"data {len(msg)}\n{msg}")
        if c > 0:
            out.append(f"from :{mark - 1}\n")
        for f in range(files if c == 0 else 3):
            n = f if c == 0 else (c * 7 + f) % files
            body = "".join(f"line {i} of file {n} in repo {seed} commit {c}\n" for i in range(60))
            if f == 0 and c == commits - 1 and seed % 10 == 0:
                # One FAKE Slack-shaped token per tenth repository (generated, never real).
                body += "slack = " + fake_slack(seed) + "\n"
            data = body.encode()
            out.append(f"M 100644 inline src/file{n}.txt\n")
            out.append(f"data {len(data)}\n")
            out.append(body)
        out.append("\n")
    git("fast-import", "--quiet", cwd=path, stdin="".join(out).encode())


class Handler(BaseHTTPRequestHandler):
    root = ""
    names = []
    base = ""

    def log_message(self, *a):
        pass

    def authorized(self):
        h = self.headers.get("Authorization", "")
        if h.startswith("Bearer "):
            return h[7:] == TOKEN
        if h.startswith("Basic "):
            try:
                return base64.b64decode(h[6:]).decode().split(":", 1)[1] == TOKEN
            except Exception:
                return False
        return False

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def handle_any(self, method):
        path, _, query = self.path.partition("?")
        if not self.authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="bench"')
            self.end_headers()
            return
        if path.startswith("/git/"):
            return self.cgi(method, path[4:], query)
        if path.startswith("/orgs/") and path.endswith("/repos"):
            q = dict(kv.split("=", 1) for kv in query.split("&") if "=" in kv)
            page = int(q.get("page", "1"))
            per = 100
            chunk = self.names[(page - 1) * per: page * per]
            body = json.dumps([{
                "name": n, "full_name": f"bench/{n}", "clone_url": f"{self.base}/git/{n}.git",
                "fork": n.startswith("fork"), "archived": False, "disabled": False, "size": 100,
            } for n in chunk]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if page * per < len(self.names):
                self.send_header("Link", f'<{self.base}{path}?per_page=100&page={page + 1}>; rel="next"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(404)
        self.end_headers()

    def cgi(self, method, path_info, query):
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": self.root, "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
            "PATH_INFO": path_info, "REQUEST_METHOD": method, "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1", "REMOTE_USER": "bench",
        }
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, rest = out.partition(b"\r\n\r\n")
        if not rest and b"\n\n" in out:
            head, _, rest = out.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)


def timed(cmd, env=None, cwd=None):
    """Runs cmd under GNU time; returns (seconds, peak RSS KiB, exit code)."""
    tf = tempfile.NamedTemporaryFile(delete=False)
    tf.close()
    t = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", tf.name, *cmd], env=env, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.monotonic() - t
    with open(tf.name) as f:
        user, sys_, rss = f.read().strip().splitlines()[-1].split()
    os.unlink(tf.name)
    timed.cpu = float(user) + float(sys_)
    return dt, int(rss), p.returncode, p.stderr.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=200)
    ap.add_argument("--patrol", default="target/release/patrol")
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--datastore", help="sweep into this datastore (default: a SQLite file)")
    ap.add_argument("--report", help="write the sweep's JSON report here")
    a = ap.parse_args()
    patrol = os.path.abspath(a.patrol)
    work = tempfile.mkdtemp(prefix="sweep-bench-")
    try:
        root = os.path.join(work, "srv")
        os.makedirs(root)
        n_forks = a.repos // 5
        originals = [f"repo{i:03d}" for i in range(a.repos - n_forks)]
        t = time.monotonic()
        for i, n in enumerate(originals):
            fast_import_repo(os.path.join(root, n + ".git"), i)
        forks = []
        for i in range(n_forks):
            parent = originals[i % len(originals)]
            n = f"fork{i:03d}"
            git("clone", "--bare", "-q", os.path.join(root, parent + ".git"), os.path.join(root, n + ".git"))
            forks.append(n)
        names = originals + forks
        print(f"generated {len(names)} repositories ({n_forks} forks) in {time.monotonic() - t:.1f} s")

        Handler.root = root
        Handler.names = names
        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        Handler.base = f"http://127.0.0.1:{srv.server_address[1]}"
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        base = Handler.base
        env = {"PATH": os.environ["PATH"], "HOME": work, "GITHUB_TOKEN": TOKEN}

        if not a.skip_baseline:
            # Baseline: clone --mirror + patrol scan, each repository in turn.
            bdir = os.path.join(work, "baseline")
            os.makedirs(bdir)
            hdr = "Authorization: Basic " + base64.b64encode(f"x:{TOKEN}".encode()).decode()
            genv = dict(env, GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.extraHeader", GIT_CONFIG_VALUE_0=hdr,
                        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
            total = 0.0
            peak = 0
            for n in names:
                dt, rss, _, _ = timed(["git", "clone", "--mirror", "-q", f"{base}/git/{n}.git", os.path.join(bdir, n)], env=genv)
                total += dt
                dt, rss2, _, _ = timed([patrol, "scan", "--no-progress", "-f", "json", os.path.join(bdir, n)], env=env)
                total += dt
                peak = max(peak, rss2)
            print(f"baseline clone --mirror + scan of each: {total:.1f} s, peak RSS of one scan {peak / 1024:.0f} MiB")

        sdir = os.path.join(work, "sweep")
        os.makedirs(sdir)
        cmd = [patrol, "sweep", "github", "--org", "bench", "--api-url", base, "--include-forks",
               "--no-progress", "--jobs", str(a.jobs), "--store-secrets"]
        store_args = ["--datastore", a.datastore] if a.datastore else []
        cmd += store_args
        for label in ["first sweep", "unchanged re-sweep"]:
            dt, rss, code, err = timed(cmd, env=env, cwd=sdir)
            print(f"{label}: {dt:.2f} s wall, {timed.cpu:.2f} s CPU (patrol and its git children), peak RSS {rss / 1024:.0f} MiB, exit {code}; {err.strip().splitlines()[-1]}")
        # One push to one repository.
        wt = os.path.join(work, "push")
        git("clone", "-q", os.path.join(root, originals[1] + ".git"), wt)
        with open(os.path.join(wt, "new.txt"), "w") as f:
            f.write("pushed line\n")
        git("add", "-A", cwd=wt)
        git("commit", "-q", "-m", "push", cwd=wt)
        git("push", "-q", "origin", "HEAD:main", cwd=wt)
        dt, rss, code, err = timed(cmd, env=env, cwd=sdir)
        print(f"re-sweep after one push: {dt:.2f} s wall, {timed.cpu:.2f} s CPU, peak RSS {rss / 1024:.0f} MiB, exit {code}; {err.strip().splitlines()[-1]}")
        print(f"load average during the run: {os.getloadavg()}")
        st = subprocess.run([patrol, "sweep", "status", "--format", "json", *store_args], cwd=sdir, capture_output=True, env=env)
        if a.report:
            rep = subprocess.run([patrol, "report", "--format", "json", "--show-secrets", *store_args],
                                 cwd=sdir, capture_output=True, env=env)
            with open(a.report, "wb") as f:
                f.write(rep.stdout)
            print(f"report: {a.report} ({len(rep.stdout)} bytes, exit {rep.returncode})")
        print("status:", st.stdout.decode().strip())
        srv.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
