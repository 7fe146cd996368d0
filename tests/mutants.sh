#!/usr/bin/env bash
# Mutation testing of the pure crates: the decision (selfgate-rules) and the money code
# (selfgate-money). Not part of CI nor of tests/run.sh: a full run takes hours on two cores.
# Run it before a release and copy its summary into TESTING.md.
#
#   tests/mutants.sh            both crates, one after the other
#   tests/mutants.sh rules      selfgate-rules only
#   tests/mutants.sh money      selfgate-money only
#   tests/mutants.sh money -- -f daemon/money/src/reports/cash.rs   extra cargo-mutants arguments
#
# What it runs, to reproduce by hand (from the workspace root):
#   cargo mutants -p selfgate-money --timeout-multiplier 3 -j 1 --gitignore true -o target/mutants/money
# cargo-mutants copies the tree to a scratch directory and mutates the copy: the working tree
# is never changed. `--gitignore true` leaves out what git ignores (tests/fuzz/target holds
# gigabytes, and a fuzz build writing there made the copy fail). Results: target/mutants/<crate>/mutants.out/{caught,missed,unviable,timeout}.txt
# (one mutant a line, `file:line:col: replace … with …`); the summary below is made from them.
# Installs cargo-mutants (crates.io, `cargo install --locked cargo-mutants`) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

which_="${1:-all}"
shift || true
[ "${1:-}" = "--" ] && shift
case "$which_" in
  rules) crates=(rules) ;;
  money) crates=(money) ;;
  all) crates=(rules money) ;;
  *) echo "usage: tests/mutants.sh [rules|money|all] [-- cargo-mutants arguments]" >&2; exit 2 ;;
esac

if ! cargo mutants --version >/dev/null 2>&1; then
  echo "tests/mutants.sh: installing cargo-mutants"
  cargo install --locked cargo-mutants
fi

count() { if [ -f "$1" ]; then grep -c . "$1" || true; else echo 0; fi; }

status=0
for crate in "${crates[@]}"; do
  out="target/mutants/$crate"
  mkdir -p "$out"
  echo "tests/mutants.sh: cargo mutants -p selfgate-$crate --timeout-multiplier 3 -j 1 --gitignore true -o $out $*"
  # cargo-mutants exits 2 when some mutants are missed, 3 on timeouts: a result, not a failure.
  rc=0
  cargo mutants -p "selfgate-$crate" --timeout-multiplier 3 -j 1 --gitignore true -o "$out" "$@" || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ] && [ "$rc" -ne 3 ]; then
    echo "tests/mutants.sh: cargo mutants failed for selfgate-$crate (exit $rc)" >&2
    status=$rc
    continue
  fi
  r="$out/mutants.out"
  echo
  echo "== selfgate-$crate: caught $(count "$r/caught.txt"), missed $(count "$r/missed.txt"), unviable $(count "$r/unviable.txt"), timeout $(count "$r/timeout.txt")"
  echo "   per file (caught / missed / unviable / timeout):"
  cat "$r"/caught.txt "$r"/missed.txt "$r"/unviable.txt "$r"/timeout.txt 2>/dev/null \
    | cut -d: -f1 | sort -u | while read -r file; do
      c=$(grep -c "^$file:" "$r/caught.txt" 2>/dev/null || true)
      m=$(grep -c "^$file:" "$r/missed.txt" 2>/dev/null || true)
      u=$(grep -c "^$file:" "$r/unviable.txt" 2>/dev/null || true)
      t=$(grep -c "^$file:" "$r/timeout.txt" 2>/dev/null || true)
      printf '   %-50s %5s %5s %5s %5s\n' "$file" "${c:-0}" "${m:-0}" "${u:-0}" "${t:-0}"
    done
  if [ -s "$r/missed.txt" ]; then
    echo "   missed (each one: a test to write, or a reason in TESTING.md):"
    sed 's/^/     /' "$r/missed.txt"
  fi
done
exit "$status"
