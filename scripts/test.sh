#!/usr/bin/env bash
# Set up (idempotent), then lint, type-check and run the whole test suite (its fast tier, then
# its slow tier), then the VS Code extension's job (unit tests, .vsix, end to end in real VS
# Code through code-server).
# PLANSEARCH_SKIP_EXTENSION=1 skips the extension job (it installs Node 24 and code-server).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check plansearch server tests benchmarks scripts vscode-extension/test
echo "== mypy"
.venv/bin/mypy
# Two tiers: the fast one (pytest's default, `-m "not slow"` in pyproject.toml), then the slow
# scenarios. Either failing fails the script; a tier with nothing selected (exit 5, e.g. when
# the arguments name only tests of the other tier) does not.
tier() {
    local status=0
    .venv/bin/pytest -q -p no:cacheprovider "$@" || status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
        exit "$status"
    fi
}
echo "== pytest: fast tier"
tier "$@"
echo "== pytest: slow tier (-m slow)"
tier -m slow "$@"
if [ "${PLANSEARCH_SKIP_EXTENSION:-0}" != 1 ]; then
    echo "== VS Code extension"
    bash vscode-extension/scripts/e2e.sh
fi
