#!/usr/bin/env bash
# Fuzzes the expression engine for a bounded time (FUZZ_SECONDS, default 120) with cargo-fuzz and
# libFuzzer. cargo-fuzz needs nightly features; the machine has one stable toolchain, so they are
# switched on with RUSTC_BOOTSTRAP=1. Any crash is copied into fuzz/regressions/, which
# tests/expr_fuzz_regressions.rs replays on every `make test`: fix the bug, keep the file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${PROVISIO_TOOLS:-$HOME/.cache/provisio}
secs=${FUZZ_SECONDS:-120}
export PATH="$tools/bin:$HOME/.cargo/bin:$PATH"
if ! cargo-fuzz --version 2>/dev/null | grep -q "0.13.2"; then
  echo "==> cargo install cargo-fuzz 0.13.2 (once per machine)"
  cargo install cargo-fuzz --version 0.13.2 --locked --root "$tools"
fi
export RUSTC_BOOTSTRAP=1
cd "$root/fuzz"
status=0
for target in expr_parse; do
  mkdir -p "corpus/$target" "artifacts/$target"
  cp seeds/* "corpus/$target/"
  echo "==> fuzzing $target for ${secs}s"
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$secs" -max_len=4096 -timeout=10 || status=$?
  for crash in "artifacts/$target"/*; do
    [ -f "$crash" ] || continue
    name="$target-$(basename "$crash")"
    cp "$crash" "regressions/$name"
    echo "!! crash saved as fuzz/regressions/$name: it is now a failing regression test (cargo test --test expr_fuzz_regressions)"
    rm "$crash"
    status=1
  done
done
exit $status
