"""A plan as a person reads it: prose without the code the model put in it.

A model's sketch, criticism or fix often carries a fenced code block (a first try at the
program, an example) and a preamble ("Here is the revised sketch:"). Neither is the idea, and
code in the plan that is not the candidate misleads: the plan view and the hover show the
prose alone, and the candidate's code where it belongs.
"""

from __future__ import annotations

import re

_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})")
_PREAMBLE = re.compile(
    r"^(?:here(?:'s| is| are)|sure|certainly|of course|okay|ok\b|let me|let's|below|"
    r"the following|i will|i'll|great|alright)",
    re.IGNORECASE,
)
_HEADING = re.compile(
    r"^(?:#+\s*)?(?:\*\*|__)?(?:revised |fixed |new |improved )?(?:natural[- ]language )?"
    r"(?:solution )?(?:sketch|plan|criticism|critique|fix|observations?|pseudocode)"
    r"(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?$",
    re.IGNORECASE,
)


def without_code(text: str) -> str:
    """`text` with every fenced code block removed (an unclosed fence runs to the end)."""
    kept: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        opened = _FENCE_OPEN.match(line)
        if opened:
            fence = opened["fence"]
            continue
        kept.append(line)
    return "\n".join(kept)


def prose(text: str | None) -> str | None:
    """The prose of a sketch, criticism or fix: code blocks, a leading preamble ("Here is the
    fixed sketch:") and a bare heading dropped, blank runs collapsed; None when nothing is
    left."""
    if not text:
        return None
    lines = [line.rstrip() for line in without_code(text).splitlines()]
    while lines and (not lines[0].strip() or _is_preamble(lines[0])):
        lines.pop(0)
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line)
    result = "\n".join(out).strip()
    return result or None


def _is_preamble(line: str) -> bool:
    stripped = line.strip()
    if _HEADING.match(stripped):
        return True
    return stripped.endswith(":") and bool(_PREAMBLE.match(stripped)) and len(stripped) < 100


def code_text(text: str | None) -> str | None:
    """Pseudocode as written: the inside of its fence when the model fenced it, else the
    text; None when empty."""
    if not text:
        return None
    lines = text.strip().splitlines()
    opened = _FENCE_OPEN.match(lines[0]) if lines else None
    if opened:
        fence = opened["fence"]
        inside: list[str] = []
        for line in lines[1:]:
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                break
            inside.append(line)
        lines = inside
    result = "\n".join(lines).strip("\n")
    return result if result.strip() else None
