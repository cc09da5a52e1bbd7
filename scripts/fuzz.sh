#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 600 s each). Not part of CI.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# SECONDS may also come from FUZZ_SECONDS. Each target prints libFuzzer's last lines (runs,
# corpus size) and its wall time; the corpus grows in tests/fuzz/corpus/<target>/.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
# Crashes land in tests/fuzz/artifacts/<target>/; turn each into a unit test beside the code.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-${FUZZ_SECONDS:-600}}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] ||
  targets=(checksum decode rule_file matcher archive base64_block utf16 escape)
for t in "${targets[@]}"; do
  echo "==> fuzz $t for ${secs}s"
  mkdir -p "tests/fuzz/corpus/$t"
  start=$(date +%s)
  cargo +nightly fuzz run --fuzz-dir tests/fuzz "$t" "tests/fuzz/corpus/$t" -- \
    -max_total_time="$secs" -max_len=65536 2>&1 | tail -n 5
  echo "==> $t: $(($(date +%s) - start)) s wall"
done
