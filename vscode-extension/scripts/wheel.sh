#!/usr/bin/env bash
# Build the plansearch wheel into bundled/, so the .vsix can install the server into any
# interpreter that lacks it. Uses $PYTHON, else the repo's .venv, else python3.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
    if [ -x ../.venv/bin/python ]; then PYTHON=../.venv/bin/python; else PYTHON=python3; fi
fi
isolation=()
if "$PYTHON" -c 'import setuptools, wheel' 2>/dev/null; then isolation=(--no-build-isolation); fi
rm -rf bundled
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# Build from a copy of the sources, so the repo's own build/ folder is neither used nor touched.
cp -r ../pyproject.toml ../README.md ../plansearch ../server "$scratch/"
if ! "$PYTHON" -m pip wheel -q --no-deps "${isolation[@]}" -w bundled "$scratch" 2>"$scratch/pip.log"; then
    cat "$scratch/pip.log" >&2
    exit 1
fi
echo "bundled/$(ls bundled)"
