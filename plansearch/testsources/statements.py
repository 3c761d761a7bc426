"""The sample cases of a competition statement, as stdin/stdout tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from plansearch.types import TestCase


def stdio_cases(statement: str) -> list[TestCase]:
    """Sample input/output pairs of a competition statement, as stdin/stdout tests.

    Recognises ``Sample Input 1`` / ``Sample Output 1``, ``Example Input``, and plain
    ``Input`` / ``Output`` headings (alone on a line, or ``Input: 3 4``), in plain text or
    Markdown (``##`` headings, bold, code fences). A block is what follows its heading up to
    the next heading; explanation paragraphs after it are dropped, and a block that reads
    as prose (an input format description) is not a sample.
    """
    cases: list[TestCase] = []
    pending: _Section | None = None
    for section in _sections(statement.split("\n")):
        if section.which == "input":
            pending = section
            continue
        if pending is None or section.number not in (None, pending.number):
            continue
        given, wanted = pending.sample_text(), section.sample_text()
        if given is not None and wanted is not None:
            cases.append(
                TestCase(
                    trusted=True,
                    id=f"sample{pending.number or len(cases) + 1}",
                    kind="stdio",
                    source="statement",
                    stdin=given,
                    expected_stdout=wanted,
                    line=pending.line,
                )
            )
        pending = None
    return cases


_HEADING = re.compile(
    r"^(?P<kind>sample|example)?s?\s*(?P<which>input|output)s?(?:\s*#?\s*(?P<number>\d+))?"
    r"\s*(?::\s*(?P<rest>.*))?$",
    re.IGNORECASE,
)
_OTHER_HEADING = re.compile(
    r"^(?:notes?|explanation|constraints|examples?|samples?|sample tests?|example \d+|"
    r"sample \d+|test cases?)\s*:?$",
    re.IGNORECASE,
)
_FUNCTION_WORDS = frozenset(
    {"the", "a", "an", "of", "is", "are", "to", "in", "and", "we", "this", "that", "for"}
    | {"each", "contains", "print", "output", "input", "line", "lines", "integer", "integers"}
)


@dataclass
class _Section:
    which: Literal["input", "output"]
    number: str | None
    line: int
    sample: bool
    lines: list[str] = field(default_factory=list)

    def sample_text(self) -> str | None:
        """The block as program text, or None when it is empty or a format description."""
        fenced = _fenced(self.lines)
        if fenced is not None:
            body = fenced
        else:
            paragraphs = _paragraphs(self.lines)
            if not paragraphs or (not self.sample and _is_prose(paragraphs[0])):
                return None
            body = paragraphs[0]
            for paragraph in paragraphs[1:]:
                if _is_prose(paragraph):
                    break
                body = [*body, "", *paragraph]
        text = "\n".join(line.rstrip() for line in _dedent(body)).strip("\n")
        return text + "\n" if text.strip() else None


def _sections(lines: list[str]) -> Iterator[_Section]:
    current: _Section | None = None
    for number, raw in enumerate(lines, start=1):
        heading = _heading_text(raw)
        match = _HEADING.match(heading)
        if match or _OTHER_HEADING.match(heading):
            if current is not None:
                yield current
            current = None
            if match:
                which: Literal["input", "output"] = (
                    "input" if match["which"].lower() == "input" else "output"
                )
                current = _Section(which, match["number"], number, match["kind"] is not None)
                if match["rest"]:
                    current.lines.append(match["rest"])
        elif current is not None:
            current.lines.append(raw.rstrip("\r"))
    if current is not None:
        yield current


def _heading_text(line: str) -> str:
    """A line without Markdown heading marks, emphasis and surrounding space."""
    return re.sub(r"[*_`]+", "", line.strip().lstrip("#")).strip()


def _fenced(lines: list[str]) -> list[str] | None:
    """The content of the first ``` fence in a block, if it has one."""
    starts = [i for i, line in enumerate(lines) if line.strip().startswith("```")]
    if len(starts) < 2:
        return None
    return lines[starts[0] + 1 : starts[1]]


def _paragraphs(lines: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    return paragraphs


def _is_prose(paragraph: list[str]) -> bool:
    """Whether a paragraph reads as English sentences rather than data."""
    for line in paragraph:
        words = line.split()
        alphabetic = [w for w in words if re.fullmatch(r"[A-Za-z][A-Za-z'\u2019,.;:()-]*", w)]
        function_words = [w for w in words if w.lower().strip(".,;:()") in _FUNCTION_WORDS]
        if (
            len(alphabetic) >= 3
            and len(function_words) >= 2
            and len(alphabetic) >= 0.4 * len(words)
        ):
            return True
    return False


def _dedent(lines: list[str]) -> list[str]:
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return [line[cut:] for line in lines]
