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
  [initial_cycle_100k_users_s]="provisio-server:provisioning"
  [initial_cycle_vs_bare_ratio]="provisio-server:provisioning"
  [initial_cycle_peak_rss_mib]="provisio-server:provisioning"
  [scim2_server_throughput_ratio]="provisio-server:provisioning"
  [incremental_100_changes_1m_users_s]="provisio-server:provisioning"
  [incremental_scaling_ratio_1m_vs_10k]="provisio-server:provisioning"
  [on_demand_p50_ms]="provisio-server:provisioning"
  [continuous_latency_s]="provisio-server:provisioning"
  [page_ttfb_p50_ms]="provisio-server:pages"
  [wasm_raw_kib]="provisio-server:pages"
  [wasm_brotli_kib]="provisio-server:pages"
)
# The pages bench measures the release hydrate bundle: build the site in release first.
if [ -z "$want" ] || [[ "$want" == wasm_* ]]; then
  cargo leptos build --release --frontend-only
fi
# The provisioning bench provisions into the in-memory SCIM target as a separate release-built process.
cargo build --release -q -p provisio-testkit --bin provisio-scim-target
export BENCH_ONLY="$want"
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
