#!/usr/bin/env bash
# Runs the benchmarks; each prints a readable table, then one JSON line per figure:
#   {"bench": "<name>", "value": <number>, "unit": "..."}
# scripts/bench.sh [NAME] runs only the bench that reports NAME.
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-}
declare -A benches=(
  [users_page_ms_100k]="provisio:users_page"
  [users_search_ms_100k]="provisio:users_page"
  [users_filter_ms_100k]="provisio:users_page"
  [expr_evals_per_sec]="provisio:expressions"
  [expr_parse_10k_chars_ms]="provisio:expressions"
)
targets=()
if [ -n "$want" ]; then
  [ -n "${benches[$want]:-}" ] || { echo "unknown bench '$want'; known: ${!benches[*]}" >&2; exit 2; }
  targets=("${benches[$want]}")
else
  targets=($(printf '%s\n' "${benches[@]}" | sort -u))
fi
for t in "${targets[@]}"; do
  cargo bench -p "${t%%:*}" --bench "${t##*:}"
done
