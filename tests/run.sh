#!/usr/bin/env bash
# Runs every test of the project. Installs the Debian packages the tests use when missing:
#   systemd     systemd-analyze (the unit's verification and exposure score)
#   prometheus  promtool (checks the /metrics page)
#   coreutils   mkfifo (readers fed through named pipes)
#   libclang-dev  bindgen, for libosdp-sys (the C libosdp the OSDP tests run as the reader)
#   chromium    the headless browser of the kiosk's browser test (tests/tests/kiosk_browser.rs)
#   poppler-utils  pdftotext and pdftoppm (the PDFs' text and a rendered page)
#   python3-openpyxl  an independent reader of the bordereau's XLSX (tests/tests/billing.rs)
# and cargo-fuzz (crates.io) for the fuzzing smoke at the end. Before the tests: `cargo fmt
# --check` and `cargo clippy -D warnings` (rustup's rustfmt and clippy, added when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v promtool >/dev/null || missing+=(prometheus)
command -v mkfifo >/dev/null || missing+=(coreutils)
compgen -G "/usr/lib/llvm-*/lib/libclang.so*" >/dev/null || missing+=(libclang-dev)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null || missing+=(poppler-utils)
/usr/bin/python3 -c 'import openpyxl' 2>/dev/null || missing+=(python3-openpyxl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${missing[*]}"
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The lint policy (Cargo.toml's [workspace.lints]): formatting and clippy, warnings as errors.
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
# The totals of every test binary, as one closing line.
read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } } END { print p + 0, f + 0 }' "$log")
if [ "$status" -ne 0 ]; then
  echo "tests: $passed passed, $failed failed"
  exit "$status"
fi

# Fuzzing smoke: every parser's fuzz target (tests/fuzz/) for 5 s each; SELFGATE_FUZZ=0 skips it,
# SELFGATE_FUZZ=N runs N s each. Longer runs: tests/fuzz/run.sh 60 (see tests/fuzz/run.sh).
if [ "${SELFGATE_FUZZ:-5}" != 0 ]; then
  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
  tests/fuzz/run.sh "${SELFGATE_FUZZ:-5}"
fi
echo "tests: $passed passed, $failed failed"
