#!/usr/bin/env bash
# Installs what building and testing Provisio needs, skipping whatever is already present at the
# right version. Slow installs are cached under $PROVISIO_TOOLS (default ~/.cache/provisio), outside
# the checkout, so fresh clones on the same machine reuse them.
#   scripts/tools.sh build   -> wasm32 target, cargo-leptos, wasm-bindgen-cli, binaryen
#   scripts/tools.sh test    -> build tools + chromium + end2end npm packages + PostgreSQL running
set -euo pipefail
what=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${PROVISIO_TOOLS:-$HOME/.cache/provisio}
mkdir -p "$tools/bin"
export PATH="$tools/bin:$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  if [ $apt_updated -eq 0 ]; then $sudo apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# wasm32 target for the hydrate bundle and the engine's wasm check.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos 0.3.7 (newer ones need a newer rustc), offline flavour.
if ! cargo-leptos --version 2>/dev/null | grep -q "0.3.7"; then
  say "cargo install cargo-leptos 0.3.7 (about 20 minutes, once per machine)"
  cargo install --locked --features no_downloads cargo-leptos --version 0.3.7 --root "$tools"
fi

# wasm-bindgen-cli at exactly the version in Cargo.lock (without --locked: its own lock pins a crate
# version the registry mirror may not have).
wb=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$root/Cargo.lock")
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb\$"; then
  say "cargo install wasm-bindgen-cli $wb"
  cargo install wasm-bindgen-cli --version "$wb" --root "$tools"
fi

# wasm-opt for release builds.
command -v wasm-opt >/dev/null || apt_install binaryen

if [ "$what" = test ]; then
  command -v chromium >/dev/null || apt_install chromium
  # End-to-end test packages (no browser download: Debian's chromium is used).
  if [ ! -d "$root/end2end/node_modules/@playwright/test" ]; then
    say "npm ci (end2end)"
    (cd "$root/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --cache "$tools/npm-cache" >/dev/null)
  fi
  # scim2-server (a real SCIM 2.0 server, PyPI) for the provisioning tests, in a venv in the tool cache,
  # with its dependencies pinned (scripts/scim2-server.requirements.txt) so that benchmark figures
  # against it compare between rounds; reinstalled when the venv holds other versions.
  pins="$root/scripts/scim2-server.requirements.txt"
  want=$(grep -v '^#' "$pins" | tr 'A-Z_' 'a-z-' | sort)
  have=$("$tools/venv/bin/pip" freeze --disable-pip-version-check 2>/dev/null | tr 'A-Z_' 'a-z-' | sort || true)
  if ! "$tools/venv/bin/scim2-server" --help >/dev/null 2>&1 || [ -n "$(comm -23 <(echo "$want") <(echo "$have"))" ]; then
    say "pip install scim2-server (pinned, venv in $tools/venv)"
    [ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install -q --disable-pip-version-check -r "$pins" \
      || "$tools/venv/bin/pip" install -q --disable-pip-version-check "scim2-server==${SCIM2_SERVER_VERSION:-0.8.3}"
  fi
  # aiosmtpd (a real SMTP server, PyPI) receives the alert emails in the tests, in the same venv.
  if ! "$tools/venv/bin/python" -c "import aiosmtpd" >/dev/null 2>&1; then
    say "pip install aiosmtpd (venv in $tools/venv)"
    [ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install -q --disable-pip-version-check "aiosmtpd==${AIOSMTPD_VERSION:-1.4.6}" \
      || "$tools/venv/bin/pip" install -q --disable-pip-version-check aiosmtpd
  fi
  # PostgreSQL for the store tests: start the local cluster if it is not answering.
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null; then
      say "starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    fi
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
fi
