#!/usr/bin/env bash
# Runs every test of the project. Installs the Debian packages the tests use when missing:
#   systemd     systemd-analyze (the unit's verification and exposure score)
#   prometheus  promtool (checks the /metrics page)
#   coreutils   mkfifo (readers fed through named pipes)
#   libclang-dev  bindgen, for libosdp-sys (the C libosdp the OSDP tests run as the reader)
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v promtool >/dev/null || missing+=(prometheus)
command -v mkfifo >/dev/null || missing+=(coreutils)
compgen -G "/usr/lib/llvm-*/lib/libclang.so*" >/dev/null || missing+=(libclang-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${missing[*]}"
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cargo test --workspace --locked "$@"
