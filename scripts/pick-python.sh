#!/usr/bin/env bash
# Print the Python 3.11 interpreter to build .venv from.
#
# $PYTHON wins when set. Otherwise each Python 3.11 found (python3.11 on the PATH first, then
# the system's) that can create a virtual environment runs the same pure-Python workload, and
# the fastest is chosen if it beats the PATH's by 5% or more. Builds differ a lot: a build
# without profile-guided optimization (pyenv's default) runs Python code about 15% slower,
# and the candidates' tests, the fork servers and the engine are all Python code.
# What was measured goes to standard error; only the chosen path to standard output.
# PICK_PYTHON_CANDIDATES (names or paths, space-separated) replaces the list looked at.
set -euo pipefail

if [ -n "${PYTHON:-}" ]; then
    echo "$PYTHON"
    exit 0
fi

# A mix of what the executor and the tests do: calls, attributes, dicts, lists, strings.
WORKLOAD='
import time
class Node:
    def __init__(self, key, value):
        self.key, self.value = key, value
def work():
    table = {}
    for i in range(6000):
        node = Node(f"k{i % 500}", [i, i * 2])
        table[node.key] = node.value + [len(table)]
    return sorted(table.items(), key=lambda item: item[1][0])[:5]
best = float("inf")
for _ in range(7):
    started = time.process_time()
    for _ in range(4):
        work()
    best = min(best, time.process_time() - started)
print(f"{best:.6f}")
'

usable() {  # $1: interpreter; prints its real path if it is Python 3.11 and can make a venv
    "$1" -c 'import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 11); print(sys.executable)' 2>/dev/null
}

found=()
for name in ${PICK_PYTHON_CANDIDATES:-python3.11 /usr/bin/python3.11 /usr/local/bin/python3.11}; do
    command -v "$name" >/dev/null 2>&1 || continue
    path="$(usable "$name")" || continue
    real="$(readlink -f "$path")"
    duplicate=""
    for seen in "${found[@]+"${found[@]}"}"; do
        [ "$(readlink -f "$seen")" = "$real" ] && duplicate=1
    done
    [ -z "$duplicate" ] && found+=("$path")
done

if [ "${#found[@]}" -eq 0 ]; then
    command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3
    exit 0
fi
chosen="${found[0]}"
if [ "${#found[@]}" -gt 1 ]; then
    first=""
    best=""
    for path in "${found[@]}"; do
        seconds="$("$path" -I -c "$WORKLOAD")"
        echo "setup: $path ($("$path" -c 'import platform; print(platform.python_version())')) runs the workload in ${seconds} s" >&2
        [ -z "$first" ] && first="$seconds" && best="$seconds"
        if awk -v s="$seconds" -v f="$first" -v b="$best" 'BEGIN { exit !(s < f * 0.95 && s < b) }'; then
            chosen="$path"
            best="$seconds"
        fi
    done
fi
echo "setup: building .venv from $chosen (set PYTHON to choose another)" >&2
echo "$chosen"
