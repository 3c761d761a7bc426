#!/usr/bin/env bash
# Set up (idempotent), then lint, type-check and run the whole test suite, then the VS Code
# extension's job (unit tests, .vsix, end to end in real VS Code through code-server).
# PLANSEARCH_SKIP_EXTENSION=1 skips the extension job (it installs Node 24 and code-server).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check plansearch server tests benchmarks
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest -q -p no:cacheprovider "$@"
if [ "${PLANSEARCH_SKIP_EXTENSION:-0}" != 1 ]; then
    echo "== VS Code extension"
    bash vscode-extension/scripts/e2e.sh
fi
