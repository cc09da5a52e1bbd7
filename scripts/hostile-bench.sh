#!/usr/bin/env bash
# Builds the large hostile inputs that are too big for the test suite and reports wall time,
# peak RSS and exit code of `patrol scan` on each. Not part of CI (takes several minutes).
#   scripts/hostile-bench.sh [WORKDIR]     (default /tmp/patrol-hostile)
#   CASES="blobs1m paths10m-hit blob2g" scripts/hostile-bench.sh WORKDIR   (only those cases)
# Cases: files1m (1,000,000 small files), blobs1m (a repository with ~1,000,000 unique blobs),
# commits100k, refs1m (1,000,000 refs), paths10m and paths10m-hit (10,000,000 paths, the
# second with the token at all of them), blob2g (one 2 GiB blob in history, token in its
# last line, no --max-file-size), longline (one 5.7 MB line holding the token 40,000 times),
# longline-nl (the same bytes with a newline after each token), repeat10m (10 MB of the token
# repeated, a space between, one line: 243,902 hits) and repeat10m-blob (that file as a git blob, in
# history). Each holds one fake token to find.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
w=${1:-/tmp/patrol-hostile}
bin=${PATROL:-$here/target/release/patrol}
[ -x "$bin" ] || (cd "$here" && cargo build --release)
mkdir -p "$w"
export GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.invalid
tok=$(python3 - <<'PY'
import random, string, zlib
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
r = random.Random(99)
body = "".join(r.choice(string.ascii_letters + string.digits) for _ in range(30))
n = zlib.crc32(body.encode()); s = ""
while n: n, d = divmod(n, 62); s = B62[d] + s
print("ghp_" + body + s.rjust(6, "0"))
PY
)
want() { [ -z "${CASES:-}" ] || [[ " $CASES " == *" $1 "* ]]; }
measure() { # name, args...
  local name=$1; shift
  want "$name" || return 0
  local out
  out=$( { /usr/bin/time -f "%e %M" "$bin" scan "$@" --format jsonl --show-secrets --no-progress > "$w/$name.jsonl" 2> "$w/$name.err"; } 2>&1 || true)
  local code; code=$(grep -c . "$w/$name.jsonl" || true)
  printf '%-16s %8s s  peak RSS %7s KiB  findings %s  found-token %s  stderr-lines %s\n' \
    "$name" "$(tail -1 "$w/$name.err" | awk '{print $1}')" "$(tail -1 "$w/$name.err" | awk '{print $2}')" \
    "$code" "$(grep -c "$tok" "$w/$name.jsonl" || true)" "$(($(wc -l < "$w/$name.err") - 1))"
}

if want files1m && [ ! -d "$w/files1m" ]; then
  python3 - "$w/files1m" "$tok" <<'PY'
import os, sys
root, tok = sys.argv[1], sys.argv[2]
for d in range(1000):
    p = os.path.join(root, f"d{d:03}"); os.makedirs(p)
    for f in range(1000):
        with open(os.path.join(p, f"f{f:03}.txt"), "w") as fh:
            fh.write(f"file {d}/{f}\n" if (d, f) != (999, 999) else f"TOKEN={tok}\n")
PY
fi
measure files1m "$w/files1m" --history none

# history REPO COMMITS FILES PATH: a fast-import history of COMMITS commits, each adding FILES
# blobs at PATH (a Python format string over c, the commit, and f, the file); the first blob
# of the first commit holds the token.
history() {
  git init -q -b main "$1"
  python3 - "$tok" "$2" "$3" "$4" <<'PY' | git -C "$1" fast-import --quiet
import sys
tok, commits, files, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
out = sys.stdout
for c in range(1, commits + 1):
    out.write(f"commit refs/heads/main\nmark :{c}\ncommitter T <t@example.invalid> {1700000000 + c} +0000\ndata 2\nc\n")
    if c > 1: out.write(f"from :{c - 1}\n")
    for f in range(files):
        body = f"blob {c}/{f}\n" if (c, f) != (1, 0) else f"TOKEN={tok}\n"
        out.write(f"M 100644 inline {path.format(c=c, f=f)}\ndata {len(body)}\n{body}\n")
PY
}

if want blobs1m && [ ! -d "$w/blobs1m" ]; then history "$w/blobs1m" 1000 1000 'd{c:04}/f{f:03}.txt'; fi
measure blobs1m "$w/blobs1m" --history all

if want commits100k && [ ! -d "$w/commits100k" ]; then history "$w/commits100k" 100000 1 'f.txt'; fi
measure commits100k "$w/commits100k" --history all

if want refs1m && [ ! -d "$w/refs1m" ]; then
  git init -q -b main "$w/refs1m"
  echo "TOKEN=$tok" > "$w/refs1m/a.txt"
  git -C "$w/refs1m" add a.txt && git -C "$w/refs1m" commit -q -m a
  head=$(git -C "$w/refs1m" rev-parse HEAD)
  python3 -c "import sys; [print(f'{sys.argv[1]} refs/tags/t{i}') for i in range(1000000)]" "$head" \
    >> "$w/refs1m/.git/packed-refs"
fi
measure refs1m "$w/refs1m" --history all

# paths REPO BLOB_IS_TOKEN: 10,000,000 paths in 10,001 trees: one tree of 1,000 entries of the
# same blob, at 10,000 directories of the root; one more file holds the token. With
# BLOB_IS_TOKEN=1 the repeated blob is the token (10,000,000 locations, capped by
# --max-locations).
paths() {
  git init -q -b main "$1"
  local plain tokb sub root
  plain=$(printf 'plain\n' | git -C "$1" hash-object -w --stdin)
  tokb=$(printf 'TOKEN=%s\n' "$tok" | git -C "$1" hash-object -w --stdin)
  local rep=$plain; [ "$2" = 1 ] && rep=$tokb
  sub=$(python3 -c "import sys; [print(f'100644 blob {sys.argv[1]}\tf{i:03}') for i in range(1000)]" "$rep" | git -C "$1" mktree)
  root=$( { python3 -c "import sys; [print(f'040000 tree {sys.argv[1]}\td{i:05}') for i in range(10000)]" "$sub"
            printf '100644 blob %s\ttoken.txt\n' "$tokb"; } | git -C "$1" mktree)
  git -C "$1" update-ref refs/heads/main "$(git -C "$1" commit-tree -m paths "$root")"
}
if want paths10m && [ ! -d "$w/paths10m" ]; then paths "$w/paths10m" 0; fi
measure paths10m "$w/paths10m" --history all
if want paths10m-hit && [ ! -d "$w/paths10m-hit" ]; then paths "$w/paths10m-hit" 1; fi
measure paths10m-hit "$w/paths10m-hit" --history all

# blob2g: one commit holding a 2 GiB text blob (a compressible line pattern, so the object
# itself is small on disk) with the token in its last line, and a small file. No
# --max-file-size: the blob must be streamed (bounded memory), not inflated whole.
if want blob2g && [ ! -d "$w/blob2g" ]; then
  git init -q -b main "$w/blob2g"
  big=$(python3 - "$tok" <<'PY' | git -C "$w/blob2g" hash-object -w --stdin
import sys
line = b"filler line of a very large generated file, nothing to see here 0123456789\n"
n = (2 * 1024**3) // len(line)
out = sys.stdout.buffer
chunk = line * 8192
for _ in range(n // 8192):
    out.write(chunk)
out.write(line * (n % 8192))
out.write(f"TOKEN={sys.argv[1]}\n".encode())
PY
)
  small=$(printf 'plain\n' | git -C "$w/blob2g" hash-object -w --stdin)
  root=$(printf '100644 blob %s\tbig.txt\n100644 blob %s\tsmall.txt\n' "$big" "$small" | git -C "$w/blob2g" mktree)
  git -C "$w/blob2g" update-ref refs/heads/main "$(git -C "$w/blob2g" commit-tree -m big "$root")"
fi
measure blob2g "$w/blob2g" --history all

# longline / longline-nl / repeat10m / repeat10m-blob: many hits on one line (issue #26, 3).
# Locating hits must stay linear in bytes plus hits, however long the line.
longline() { # dir, separator after each token
  mkdir -p "$1"
  python3 - "$1/line.txt" "$tok" "$2" <<'PY'
import sys
path, tok, sep = sys.argv[1], sys.argv[2], sys.argv[3].encode().decode("unicode_escape")
unit = f"TOKEN={tok} " + "x" * (142 - len(tok) - 8) + sep
with open(path, "w") as f:
    f.write(unit * 40000 + "\n")
PY
}
if want longline && [ ! -d "$w/longline" ]; then longline "$w/longline" " "; fi
measure longline "$w/longline" --history none
if want longline-nl && [ ! -d "$w/longline-nl" ]; then longline "$w/longline-nl" "\n"; fi
measure longline-nl "$w/longline-nl" --history none
if (want repeat10m || want repeat10m-blob) && [ ! -d "$w/repeat10m" ]; then
  mkdir -p "$w/repeat10m"
  python3 -c 'import sys; t=sys.argv[1]+" "; open(sys.argv[2],"w").write(t * (10_000_000 // len(t)))' \
    "$tok" "$w/repeat10m/repeat.txt"
fi
measure repeat10m "$w/repeat10m" --history none
if (want repeat10m || want repeat10m-blob) && [ ! -d "$w/repeat10m-blob" ]; then
  git init -q -b main "$w/repeat10m-blob"
  big=$(git -C "$w/repeat10m-blob" hash-object -w "$w/repeat10m/repeat.txt")
  root=$(printf '100644 blob %s\trepeat.txt\n' "$big" | git -C "$w/repeat10m-blob" mktree)
  git -C "$w/repeat10m-blob" update-ref refs/heads/main \
    "$(git -C "$w/repeat10m-blob" commit-tree -m repeat "$root")"
fi
measure repeat10m-blob "$w/repeat10m-blob" --history all
