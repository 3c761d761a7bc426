#!/usr/bin/env bash
# Create .venv in the repo and install plansearch with its test tools. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: bubblewrap (the candidate sandbox) and neovim (an editor the tests drive).
# Only when we may install them; without them the sandbox falls back and those tests skip.
missing=""
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v nvim >/dev/null 2>&1 || missing="$missing neovim"
if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    # the fastest Python 3.11 on the machine, or $PYTHON (see scripts/pick-python.sh)
    "$(bash scripts/pick-python.sh)" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
echo "setup: done. Run: .venv/bin/plansearch --help"
