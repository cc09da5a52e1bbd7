#!/usr/bin/env bash
# Dependency policy: licences, bans and sources with cargo-deny (deny.toml), and known
# vulnerabilities when the RustSec advisory database can be fetched.
#   cargo install cargo-deny --locked   (once)
set -euo pipefail
cd "$(dirname "$0")/.."
# `--offline` keeps cargo-deny from fetching its advisory database here; the crates of every
# target platform (not only those this machine builds) must be in the local registry first.
cargo fetch --locked
cargo deny --offline check licenses bans sources
if cargo deny fetch db >/dev/null 2>&1; then
  cargo deny check advisories
else
  echo "note: RustSec advisory database unreachable; advisories not checked" >&2
fi
