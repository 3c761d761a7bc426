"""Tolerant parsers for model replies: observation lists, code, plain text blocks.

Nothing here evaluates model output: a list literal is read with `ast.literal_eval` (or
`json`) only after `ast` has confirmed it is a list display, and code is only parsed.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import re
import textwrap
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

from plansearch.source import DEF_HEADER, FunctionNode, definition_start, matching_bracket

_PYTHON_LANGUAGES = frozenset({"", "python", "py", "python3", "py3"})
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
_CODE_START = re.compile(
    r"^(?:def |async def |class |import |from \S+ import |@|if __name__|[A-Za-z_]\w*\s*=[^=])"
)
# Straight, curly (\u201c \u201d \u2018 \u2019) and angle quotes, and what may close each.
_CLOSING_QUOTES = {
    '"': '"\u201d', "'": "'\u2019", "\u201c": '\u201d"', "\u2018": "\u2019'", "\u00ab": "\u00bb"
}
_ITEM_START = re.compile("\\s*([\"'\u201c\u2018\u00ab])")
_AFTER_ITEM = re.compile(r"[ \t]*(?:,|\n|$)")
_PROSE_LIST = re.compile(r"^[ \t]*(?:[A-Za-z_][\w ]{0,40}[ \t]*[=:][ \t]*)?\[", re.MULTILINE)
_MARKDOWN_ITEM = re.compile(
    r"""^(?P<indent>[ \t]*)(?:\#{1,6}[ \t]*)?(?:
        (?P<heading>(?:\*\*|__)?(?:observation|hint|insight)[ \t]*\#?[ \t]*\d+[ \t]*
            (?:\*\*|__)?[ \t]*[:.)\-\u2013\u2014]?[ \t]*(?:\*\*|__)?)(?P<heading_text>.*)
      | (?P<number>\d{1,3}[.)]|\(\d{1,3}\))[ \t]+(?P<number_text>\S.*)
      | (?P<bullet>[-*•+●▪◦‣])[ \t]+(?P<bullet_text>\S.*)
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_LABEL = re.compile(
    r"^(?:observation|hint|insight)\s*#?\s*\d+\s*[:.)\-\u2013\u2014]\s*", re.IGNORECASE
)
_MAX_PROSE_STARTS = 20
_MAX_PROSE_ENDS = 200


@dataclass(frozen=True)
class _Block:
    language: str
    text: str
    closed: bool


@dataclass
class _Item:
    """A markdown list item being collected, line by line."""

    lines: list[str]
    complete: bool = False

    def text(self) -> str:
        text = " ".join(line for line in self.lines if line)
        text = _LABEL.sub("", text.replace("**", "").strip())
        return _unquote(text.rstrip(",").strip())


def parse_observation_list(text: str) -> list[str] | None:
    """The observations in a reply, stripped and deduplicated; None if nothing list-like.

    Tried in order: list literals in fenced blocks (all such blocks together, or one list
    split over several fences), a list literal on its own line in the prose, then markdown
    lists (numbered, bulleted, or "Observation 1:" headings; the last list wins). Items
    that are not strings become their `str`. An explicit empty list gives [].
    """
    text = _normalize(text)
    blocks = _fenced_blocks(text)
    items = _list_in_fences(blocks) if blocks else None
    if items is None:
        items = _list_in_prose(text)
    if items is None:
        items = _markdown_list(text)
    return None if items is None else _unique(items)


def extract_code(text: str, entry_point: str | None) -> str | None:
    """The code of a reply: the block defining `entry_point`, or for a program the largest.

    Python (or unlabelled) fenced blocks are considered, an unterminated last fence too
    (a reply cut short, trimmed back to its last complete top-level statement); without
    fences, the part of the reply that parses as code. Of several blocks defining the
    function (a top-level ``def``/``async def``, or a method of a top-level class) the last
    wins; imports and helpers it
    needs from the other blocks are prepended; demo code (prints, asserts, calls of the
    function, a ``__main__`` block) is removed, imports, helpers and constants are kept.
    A program keeps everything. Blocks that do not parse are used only when no block
    parses, as they are (the failure then shows when the code runs). None when no block
    defines `entry_point`.
    """
    text = _normalize(text)
    blocks = [b for b in _fenced_blocks(text) if b.language in _PYTHON_LANGUAGES]
    parsed = [p for b in blocks if (p := _parse_block(b.text, truncated=not b.closed))]
    if not blocks and (found := _code_in_prose(text)):
        parsed = [found]
    if entry_point is None:
        if parsed:
            return max(parsed, key=lambda p: len(p[0]))[0]
        return max((b.text.strip() for b in blocks), key=len, default=None) or None
    defining = [p for p in parsed if _defines(p[1], entry_point)]
    if not defining:
        broken = [
            b.text.strip() for b in blocks
            if any(header["name"] == entry_point for header in DEF_HEADER.finditer(b.text))
        ]
        return broken[-1] if broken and not parsed else None
    chosen = defining[-1]
    others = [p for p in parsed if p is not chosen]
    source, tree = _with_needed_definitions(*chosen, others)
    return _without_demo_code(source, tree, entry_point)


def extract_text_block(text: str) -> str:
    """The contents of the reply's only fenced block, or the whole reply, stripped."""
    text = _normalize(text)
    blocks = _fenced_blocks(text)
    if len(blocks) == 1 and blocks[0].text.strip():
        return blocks[0].text.strip()
    return text.strip()


# --------------------------------------------------------------------------- shared


def _normalize(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")


def _fenced_blocks(text: str) -> list[_Block]:
    """Fenced blocks in order; the last may be unterminated (a truncated reply)."""
    lines = text.split("\n")
    blocks = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence = opening.group("fence")
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        info = opening.group("info").strip().split()
        language = info[0].lower().lstrip("{.").rstrip("}") if info else ""
        end = i + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        indent = len(opening.group("indent"))
        body = [line[min(indent, len(line) - len(line.lstrip())) :] for line in lines[i + 1 : end]]
        blocks.append(_Block(language, "\n".join(body), closed=end < len(lines)))
        i = end + 1
    return blocks


# --------------------------------------------------------------------------- lists


def _list_in_fences(blocks: list[_Block]) -> list[str] | None:
    strict = [items for b in blocks if (items := _literal_list(b.text)) is not None]
    if strict:
        return [item for items in strict for item in items]
    joined = "\n".join(b.text for b in blocks)
    for parse in (_literal_list, _tolerant_list, _markdown_list):
        items = parse(joined)
        if items is not None:
            return items
    return None


def _list_in_prose(text: str) -> list[str] | None:
    """The last list literal that starts a line (``[``, ``name = [``, ``Label: [``)."""
    for match in reversed(list(_PROSE_LIST.finditer(text))):
        region = text[match.end() - 1 :]
        items = _literal_list(region, need_strings=True) or _tolerant_list(region)
        if items:
            return items
    return None


def _list_span(region: str) -> tuple[str, bool] | None:
    """From the first ``[`` of `region` to its ``]``, and whether that bracket was found."""
    start = region.find("[")
    if start < 0:
        return None
    end = matching_bracket(region, start, tolerant=True)
    if end is None:
        last = region.rfind("]")
        if last <= start:
            return region[start:], False
        end = last + 1
    return region[start:end], True


def _literal_list(region: str, *, need_strings: bool = False) -> list[str] | None:
    """A Python or JSON list literal (after any prefix), read without evaluation."""
    span = _list_span(region)
    if span is None or not span[1]:
        return None
    literal = span[0]
    values: list[object]
    try:
        tree = ast.parse(literal, mode="eval")
        if not isinstance(tree.body, ast.List) or _has_implicit_concatenation(literal, tree.body):
            return None
        values = list(ast.literal_eval(tree.body))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        try:
            loaded = json.loads(literal)
        except ValueError:
            return None
        if not isinstance(loaded, list):
            return None
        values = loaded
    if need_strings and not any(isinstance(v, str) for v in values):
        return None
    return [v if isinstance(v, str) else str(v) for v in values]


def _has_implicit_concatenation(source: str, node: ast.List) -> bool:
    """An element made of adjacent string literals on separate lines: a missing comma."""
    for element in node.elts:
        segment = ast.get_source_segment(source, element) or ""
        if not segment.startswith(("'", '"')) or "\n" not in segment:
            continue
        reader = io.StringIO(segment).readline
        strings = [t for t in tokenize.generate_tokens(reader) if t.type == tokenize.STRING]
        if len(strings) > 1:
            return True
    return False


def _tolerant_list(region: str) -> list[str] | None:
    """Quoted items of a list that is not valid Python (curly or unescaped inner quotes,
    missing commas, a truncated end); unquoted items one per line or comma-separated."""
    span = _list_span(region)
    if span is None:
        return None
    literal, closed = span
    body = literal[1:-1] if closed else literal[1:]
    items: list[str] = []
    position = 0
    while opening := _ITEM_START.match(body, position):
        closers = _CLOSING_QUOTES[opening.group(1)]
        end = next(
            (
                k for k in range(opening.end(), len(body))
                if body[k] in closers and _AFTER_ITEM.match(body, k + 1)
            ),
            None,
        )
        if end is None:
            break  # the last item was cut off
        items.append(body[opening.end() : end])
        after = _AFTER_ITEM.match(body, end + 1)
        assert after is not None
        position = after.end()
    if items:
        return items
    if not closed or not body.strip():
        return [] if closed else None
    pieces = body.split("\n") if "\n" in body.strip() else body.split(",")
    return [_unquote(piece.strip().rstrip(",").strip()) for piece in pieces]


def _markdown_list(text: str) -> list[str] | None:
    """Items of the last markdown list: "Observation N" headings if any, else numbered
    items if any, else bullets. Indented lines, deeper sub-items and lines that follow an
    item directly continue it; a blank line then an unindented non-item ends the list."""
    lines = text.split("\n")
    matches = [_MARKDOWN_ITEM.match(line) for line in lines]
    kinds = {_item_kind(m) for m in matches if m is not None}
    if not kinds:
        return None
    wanted = next(kind for kind in ("heading", "number", "bullet") if kind in kinds)
    runs: list[list[_Item]] = []
    run: list[_Item] | None = None
    run_indent = 0
    after_blank = False
    for line, match in zip(lines, matches, strict=True):
        indent = len(line) - len(line.lstrip())
        if match is not None and _item_kind(match) == wanted and (
            run is None or indent <= run_indent + 1
        ):
            if run is None:
                run, run_indent = [], indent
                runs.append(run)
            run.append(_Item([match.group(f"{wanted}_text").strip()]))
        elif not line.strip():
            after_blank = True
            continue
        elif run is not None:
            item = run[-1]
            if wanted == "heading":
                # A heading's item is its first paragraph; later ones are commentary.
                item.complete = item.complete or (after_blank and any(item.lines))
                if not item.complete:
                    item.lines.append(line.strip())
            elif after_blank and indent <= run_indent:
                run = None
            else:
                item.lines.append(line.strip())
        after_blank = False
    for items in reversed(runs):
        texts = [item.text() for item in items]
        if any(texts):
            return texts
    return None


def _item_kind(match: re.Match[str]) -> str:
    return next(kind for kind in ("heading", "number", "bullet") if match.group(kind))




def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] in _CLOSING_QUOTES and text[-1] in _CLOSING_QUOTES[text[0]]:
        return text[1:-1].strip()
    return text


def _unique(items: Iterable[str]) -> list[str]:
    kept: list[str] = []
    seen: set[str] = set()
    for item in items:
        text = item.strip()
        key = " ".join(text.split()).casefold()
        if text and key not in seen:
            seen.add(key)
            kept.append(text)
    return kept


# --------------------------------------------------------------------------- code


def _parse_block(source: str, *, truncated: bool) -> tuple[str, ast.Module] | None:
    """The block's code and tree; a truncated block loses its unfinished last statement."""
    source = textwrap.dedent(source).strip("\n")
    tree = _parse(source)
    if tree is not None:
        return (source, tree) if source.strip() else None
    if not truncated:
        return None
    lines = source.split("\n")
    for cut in range(len(lines) - 1, 0, -1):
        if lines[cut][:1].strip() and not lines[cut].startswith(("#", ")", "]", "}")):
            shorter = "\n".join(lines[:cut]).rstrip()
            tree = _parse(shorter)
            if tree is not None and shorter.strip():
                return shorter, tree
    return None


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _code_in_prose(text: str) -> tuple[str, ast.Module] | None:
    """The first span of an unfenced reply that parses as code (prose around it dropped)."""
    whole = _parse(text)
    if whole is not None and _looks_like_code(whole):
        return text.strip("\n"), whole
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    for start in starts[:_MAX_PROSE_STARTS]:
        ends = [
            end for end in range(len(lines), start, -1)
            if end == len(lines) or (lines[end][:1].strip() and not lines[end].startswith("#"))
        ]
        for end in ends[:_MAX_PROSE_ENDS]:
            source = "\n".join(lines[start:end]).strip("\n")
            tree = _parse(source)
            if tree is not None and _looks_like_code(tree):
                return source, tree
    return None


def _looks_like_code(tree: ast.Module) -> bool:
    """More than bare names or constants (a one-word reply parses too)."""
    return any(
        not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Name | ast.Constant))
        for s in tree.body
    )


def _defines(tree: ast.Module, name: str) -> bool:
    """Whether the code defines function `name` at top level, or as a method of a top-level
    class (``class Solution: def name(self, ...)``, which the splice puts in place too)."""
    for statement in tree.body:
        if isinstance(statement, FunctionNode) and statement.name == name:
            return True
        if isinstance(statement, ast.ClassDef) and any(
            isinstance(member, FunctionNode) and member.name == name
            for member in statement.body
        ):
            return True
    return False


def _bound_names(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds."""
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Assign | ast.AnnAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _with_needed_definitions(
    source: str, tree: ast.Module, others: list[tuple[str, ast.Module]]
) -> tuple[str, ast.Module]:
    """`source` preceded by the definitions and imports it uses from other blocks."""
    available = [
        (statement, other_source)
        for other_source, other_tree in others
        for statement in other_tree.body
        if _bound_names(statement)
    ]
    taken: list[tuple[ast.stmt, str]] = []
    body = list(tree.body)
    while True:
        bound = set(dir(builtins)).union(*(_bound_names(s) for s in body))
        used = {
            n.id for s in body for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        missing = used - bound
        new = [
            (s, src) for s, src in available
            if _bound_names(s) & missing and (s, src) not in taken
        ]
        if not new:
            break
        taken += new
        body += [s for s, _src in new]
    if not taken:
        return source, tree
    taken.sort(key=lambda pair: not isinstance(pair[0], ast.Import | ast.ImportFrom))
    prefix = "\n\n".join(_statement_source(src, s) for s, src in taken)
    combined = f"{prefix}\n\n\n{source}"
    combined_tree = _parse(combined)
    return (combined, combined_tree) if combined_tree is not None else (source, tree)


def _statement_source(source: str, statement: ast.stmt) -> str:
    lines = source.split("\n")
    return "\n".join(lines[definition_start(statement) - 1 : statement.end_lineno])


def _without_demo_code(source: str, tree: ast.Module, entry_point: str) -> str:
    """`source` without top-level demo code around the function's definition."""
    definitions = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    last_definition = max(
        (i for i, s in enumerate(tree.body) if isinstance(s, definitions)), default=-1
    )
    dropped: set[int] = set()
    for index, statement in enumerate(tree.body):
        if isinstance(statement, definitions):
            continue
        keepable = isinstance(statement, ast.Import | ast.ImportFrom | ast.Assign | ast.AnnAssign)
        if _is_demo(statement, entry_point) or (index > last_definition and not keepable):
            end = statement.end_lineno or statement.lineno
            dropped.update(range(statement.lineno, end + 1))
    lines = [line for number, line in enumerate(source.split("\n"), 1) if number not in dropped]
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    return re.sub(r"\n{4,}", "\n\n\n", "\n".join(lines))


def _is_demo(statement: ast.stmt, entry_point: str) -> bool:
    """Top-level code that runs examples: a ``__main__`` guard, an assert, I/O, or any use
    of the function outside its definition."""
    if isinstance(statement, ast.Assert):
        return True
    if isinstance(statement, ast.If) and "__name__" in ast.unparse(statement.test):
        return True
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and node.id == entry_point:
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {
            "print", "input"
        }:
            return True
        if isinstance(node, ast.Attribute) and node.attr in {"stdin", "stdout"}:
            return True
    return False
