#!/usr/bin/env bash
# Create .venv in the repo and install plansearch with its test tools. Safe to re-run.
# Says what it does as it goes; optional system packages never stop it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

# System packages: bubblewrap (the candidate sandbox) and neovim (an editor the tests drive).
# Both are optional: without them the sandbox falls back and those tests skip. apt may be busy
# (another install holds its lock): wait for it a while, then go on without them.
missing=""
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v nvim >/dev/null 2>&1 || missing="$missing neovim"
if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing$missing with apt (waits up to 2 minutes if apt is busy)"
    wait_lock=(-o DPkg::Lock::Timeout=120)
    if apt-get "${wait_lock[@]}" update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get "${wait_lock[@]}" install -y -qq \
            --no-install-recommends $missing >/dev/null; then
        say "installed$missing"
    else
        say "could not install$missing (apt failed or stayed busy): going on without;" \
            "candidates then run with a weaker sandbox, see 'plansearch doctor'"
    fi
elif [ -n "$missing" ]; then
    say "optional system packages missing:$missing (install them as root for the full sandbox)"
fi

if [ ! -x .venv/bin/python ]; then
    # the fastest Python 3.11 on the machine, or $PYTHON (see scripts/pick-python.sh)
    python="$(bash scripts/pick-python.sh)"
    say "creating .venv with $python"
    "$python" -m venv .venv
fi
say "installing pip and plansearch's Python packages into .venv (a minute or two the first time)"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
say "done. Run: .venv/bin/plansearch --help"
