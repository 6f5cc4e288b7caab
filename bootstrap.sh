#!/usr/bin/env bash
# Set up everything consentkit needs on a Debian 12 machine, then run the demo or the tests.
#   ./bootstrap.sh demo     install, then run `consentkit demo` on the embedded defaults
#   ./bootstrap.sh test     install, then run the whole test suite
#   ./bootstrap.sh install  install only
# Safe to run any number of times: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")"

DEBIAN_PACKAGES=(
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0   # WeasyPrint; without harfbuzz-subset CJK PDFs take ~12 s
  fonts-noto-cjk                                          # Noto Sans/Serif CJK SC and TC, declared by the templates
  poppler-utils qpdf gettext                              # pdftotext, pdffonts, pdfsig, pdftoppm; qpdf --check; msgfmt
  openssl libnss3-tools xxd jq                            # independent verification: openssl cms/ts, certutil, xxd, jq
  softhsm2 opensc                                         # PKCS#11 token for tests (softhsm2-util, pkcs11-tool)
  postgresql                                              # a real, throwaway server for the audit-store tests
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to install Debian packages: $*"; exit 1; fi
}

install_debian_packages() {
  local missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then missing+=(python3-venv python3-pip); fi
  if [ "${#missing[@]}" -eq 0 ]; then return; fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    as_root apt-get update -qq
    as_root apt-get install -y --no-install-recommends "${missing[@]}"
  }
}

install_python_packages() {
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    log "consentkit needs Python 3.11 or newer; python3 is $(python3 --version)"; exit 1
  fi
  [ -x .venv/bin/python ] || { log "creating .venv"; python3 -m venv .venv; }
  local stamp=.venv/.consentkit-installed want
  want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python packages into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
    echo "$want" > "$stamp"
  fi
}

cmd=${1:-install}
shift || true
install_debian_packages
install_python_packages
case "$cmd" in
  install) log "installed; the CLI is .venv/bin/consentkit" ;;
  demo) exec .venv/bin/consentkit demo "$@" ;;
  # PostgreSQL was installed above, so its tests must run: fail rather than skip when the server is missing
  test) CONSENTKIT_REQUIRE_POSTGRES=1 exec .venv/bin/python -m pytest -n 2 "$@" ;;
  *) echo "usage: $0 demo|test|install" >&2; exit 2 ;;
esac
