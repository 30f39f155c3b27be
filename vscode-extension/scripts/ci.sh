#!/usr/bin/env bash
# Everything CI runs for the VS Code extension, on a fresh Debian machine with Node 20:
# Debian packages (only those missing), npm ci, type check, unit tests, build, .vsix, and
# the end-to-end test in code-server + Chromium (code-server is cached between runs in
# ${CODESEARCH_E2E_CACHE:-${XDG_CACHE_HOME:-~/.cache}/codesearch-e2e}).
#
#   bash vscode-extension/scripts/ci.sh            all steps
#   SKIP_E2E=1 bash vscode-extension/scripts/ci.sh  without the end-to-end test
#
# The e2e test starts the real language server with CODESEARCH_E2E_PYTHON, by default the
# repository's .venv/bin/python (created here with `pip install -e .` when it is missing).
# Exits non-zero at the first failing step and prints a summary either way.
set -uo pipefail

EXT_DIR="$(cd "$(dirname "$0")/.." && pwd)"
REPO_ROOT="$(cd "$EXT_DIR/.." && pwd)"
cd "$EXT_DIR"
export CI="${CI:-true}" DEBIAN_FRONTEND=noninteractive npm_config_yes=true npm_config_fund=false \
  npm_config_audit=false npm_config_update_notifier=false

SUMMARY=()
START=$SECONDS

summary() {
  echo
  echo "== vscode-extension CI summary ($((SECONDS - START)) s) =="
  for line in "${SUMMARY[@]}"; do echo "  $line"; done
}

step() {
  local name="$1"
  shift
  echo
  echo "== $name"
  local t0=$SECONDS
  if "$@"; then
    SUMMARY+=("ok    $(printf '%-12s' "$name") $((SECONDS - t0)) s")
  else
    local rc=$?
    SUMMARY+=("FAIL  $(printf '%-12s' "$name") $((SECONDS - t0)) s (exit $rc)")
    summary
    exit "$rc"
  fi
}

apt_packages() {
  # chromium drives the e2e test; libkrb5-dev, g++, make and python3 build code-server's
  # native modules the first time it is installed into the cache.
  local wanted=(chromium libkrb5-dev g++ make python3 python3-venv ca-certificates)
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "all present: ${wanted[*]}"
    return 0
  fi
  local sudo=""
  [[ "$(id -u)" -eq 0 ]] || sudo="sudo -n"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

e2e_python() {
  local python="${CODESEARCH_E2E_PYTHON:-$REPO_ROOT/.venv/bin/python}"
  if [[ ! -x "$python" ]]; then
    echo "creating $REPO_ROOT/.venv"
    python3 -m venv "$REPO_ROOT/.venv" || return 1
    python="$REPO_ROOT/.venv/bin/python"
  fi
  if ! "$python" -c 'import codesearch_lsp.server' 2>/dev/null; then
    echo "installing the repository into $python"
    "$python" -m pip install -q -e "$REPO_ROOT" || return 1
  fi
  "$python" -c 'import codesearch_lsp.server' && echo "language server: $python"
  export CODESEARCH_E2E_PYTHON="$python"
}

step apt apt_packages
step "npm ci" npm ci --no-audit --no-fund
step typecheck npm run --silent typecheck
step "unit tests" npm test --silent
step build npm run --silent build
step package npm run --silent package
if [[ -z "${SKIP_E2E:-}" ]]; then
  step "e2e python" e2e_python
  step e2e node e2e/run.mjs
else
  SUMMARY+=("skip  e2e (SKIP_E2E is set)")
fi
summary
