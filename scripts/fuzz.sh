#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 60 s each). Not part of CI.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
# Crashes land in tests/fuzz/artifacts/<target>/; turn each into a unit test beside the code.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(checksum decode rule_file matcher)
for t in "${targets[@]}"; do
  echo "==> fuzz $t for ${secs}s"
  cargo +nightly fuzz run --fuzz-dir tests/fuzz "$t" -- -max_total_time="$secs" -max_len=65536 2>&1 | tail -n 5
done
