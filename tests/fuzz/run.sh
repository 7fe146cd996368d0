#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30): tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# cargo-fuzz needs nightly compiler flags; on the stable toolchain RUSTC_BOOTSTRAP=1 lets
# stable rustc accept them (address sanitizer included: rust-std ships its runtime). The build
# (release, debug assertions and overflow checks on, as cargo fuzz does by default) goes to
# tests/fuzz/target/. Seeds are read from tests/fuzz/corpus/TARGET/; inputs libFuzzer finds
# go to tests/fuzz/target/corpus/TARGET/, a crash to tests/fuzz/artifacts/TARGET/ (then the
# script exits 1 and prints how to replay it).
#
# Needs cargo-fuzz: `cargo install cargo-fuzz --locked`. Environment:
#   FUZZ_SANITIZER   address (default) or none (faster build and runs, no memory checks)
#   FUZZ_JOBS        cargo build jobs (cargo's default: all cores)
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(em4100 osdp wiegand wedge roster_csv config reads_csv decision siecle sync pronote billing_aids charlemagne_payments charlemagne_html charlemagne_mapping)
sanitizer="${FUZZ_SANITIZER:-address}"

export RUSTC_BOOTSTRAP=1
fuzz=(cargo fuzz)
build_opts=(--fuzz-dir "$dir" --sanitizer "$sanitizer" --codegen-units 16)
[ -z "${FUZZ_JOBS:-}" ] || build_opts+=(--jobs "$FUZZ_JOBS")

start=$(date +%s)
"${fuzz[@]}" build "${build_opts[@]}"
echo "fuzz: built in $(($(date +%s) - start)) s; ${#targets[@]} targets, ${seconds} s each"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "$dir/target/corpus/$t"
  log="$dir/target/fuzz-$t.log"
  if "${fuzz[@]}" run "${build_opts[@]}" "$t" "$dir/target/corpus/$t" "$dir/corpus/$t" -- \
      -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    printf 'fuzz: %-11s ok  %10s runs  %7s exec/s\n' "$t" "${runs:-?}" "${rate:-?}"
  else
    echo "fuzz: $t FAILED (log: $log)"
    grep -E "panicked|ERROR|Test unit written|artifact_prefix" "$log" | head -5 || true
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; replay one with"
  echo "  RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir $dir TARGET $dir/artifacts/TARGET/crash-…"
  exit 1
fi
