"""Values as plain data: how a child sends back what a test's call returned.

The child (inside the sandbox) turns a value into tagged JSON with `encode`; the trusted side
rebuilds it with `decode` into objects of a few standard types only, and compares those. No
code of the candidate ever runs during a comparison: an object whose `__eq__` always answers
True, a patched `repr` or a forged report can change what the child sends, never how it is
judged. What is not plain data (an instance of the candidate's own class, a numpy array) is
described by its type and repr and compares equal only to the same description.

The encoding, one JSON value per Python value:

- ``null``, ``true``/``false``, numbers (NaN and infinities as JSON's extensions), strings;
- ``["l", ...]`` list, ``["t", ...]`` tuple (named tuples too), ``["s", ...]`` set,
  ``["fs", ...]`` frozenset, ``["d", k1, v1, ...]`` dict, ``["od", ...]`` OrderedDict,
  ``["ctr", ...]`` Counter, ``["dq", ...]`` deque, ``["i", hex]`` a large int,
  ``["b", hex]`` bytes, ``["ba", hex]`` bytearray, ``["c", re, im]`` complex,
  ``["dec", text]`` Decimal, ``["fr", hex, hex]`` Fraction, ``["r", start, stop, step]`` range,
  ``["dt" | "date" | "time", iso]``, ``["td", days, seconds, microseconds]``;
- ``["o", type, repr]`` anything else, ``["big", type, repr]`` a value too large to send.

This module runs on both sides of the sandbox; standard library only. The child's side tells
the standard types apart by name, so that a fork server need not load `decimal`, `fractions`
and `datetime` (each module loaded makes every fork dearer); the trusted side loads them.
"""

from __future__ import annotations

import collections
import json
import math
from collections.abc import Callable
from typing import Any

MAX_NODES = 100_000
"""Most elements one encoded value may hold; a larger one is sent as ``big``."""
MAX_DEPTH = 100
REPR_CHARS = 1000
_SMALL_INT = 1 << 62
_CONTAINERS: dict[type, str] = {list: "l", tuple: "t", set: "s", frozenset: "fs"}
_DECODED_CONTAINERS: dict[str, Any] = {"l": list, "t": tuple, "s": set, "fs": frozenset}
_MAPPINGS: dict[str, Any] = {
    "d": dict,
    "od": collections.OrderedDict,
    "ctr": collections.Counter,
}


class MalformedValue(ValueError):
    """What a child sent is not a well-formed encoded value."""


class Opaque:
    """A value that is not plain data, as the child described it: its type and its repr."""

    __slots__ = ("repr_text", "too_large", "type_name")

    def __init__(self, type_name: str, repr_text: str, too_large: bool = False) -> None:
        self.type_name = type_name
        self.repr_text = repr_text
        self.too_large = too_large

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Opaque)
            and not self.too_large
            and not other.too_large
            and (self.type_name, self.repr_text) == (other.type_name, other.repr_text)
        )

    def __hash__(self) -> int:
        return hash((self.type_name, self.repr_text))

    def __repr__(self) -> str:
        return self.repr_text


# The child's side ---------------------------------------------------------------------------


class _Budget:
    __slots__ = ("left",)

    def __init__(self, nodes: int) -> None:
        self.left = nodes


class _TooLarge(Exception):
    pass


def plain(value: object, max_nodes: int = MAX_NODES) -> Any:
    """`value` as the JSON-ready structure described above; never raises."""
    try:
        return _plain(value, _Budget(max_nodes), 0, set())
    except _TooLarge:
        return ["big", _type_name(value), _safe_repr(value)]
    except RecursionError:
        return ["big", _type_name(value), "<nested too deeply>"]


def encode(value: object, max_nodes: int = MAX_NODES) -> str:
    """`value` as tagged JSON text; never raises."""
    return json.dumps(plain(value, max_nodes), separators=(",", ":"))


def _plain(value: object, budget: _Budget, depth: int, active: set[int]) -> Any:
    budget.left -= 1
    if budget.left < 0 or depth > MAX_DEPTH:
        raise _TooLarge
    if value is None or type(value) is bool or type(value) is str or type(value) is float:
        return value
    if type(value) is int:
        return value if -_SMALL_INT < value < _SMALL_INT else ["i", hex(value)]
    tag = _CONTAINERS.get(type(value))
    if tag is None and isinstance(value, tuple) and hasattr(type(value), "_fields"):
        tag = "t"  # a named tuple compares as a tuple
    if tag is not None:
        return _sequence(tag, value, budget, depth, active)
    if type(value) in (dict, collections.OrderedDict, collections.Counter):
        return _mapping(value, budget, depth, active)  # type: ignore[arg-type]
    if type(value) is collections.defaultdict:
        return _mapping(value, budget, depth, active, "d")
    if type(value) is collections.deque:
        return _sequence("dq", value, budget, depth, active)
    special = _special(value)
    if special is not None:
        return special
    return _subclass(value, budget, depth, active)


def _sequence(tag: str, value: Any, budget: _Budget, depth: int, active: set[int]) -> list[Any]:
    ident = id(value)
    if ident in active:
        return ["o", _type_name(value), "<recursive>"]
    active.add(ident)
    try:
        items = [_plain(item, budget, depth + 1, active) for item in value]
    finally:
        active.discard(ident)
    return [tag, *items]


def _mapping(
    value: dict[Any, Any], budget: _Budget, depth: int, active: set[int], tag: str | None = None
) -> list[Any]:
    ident = id(value)
    if ident in active:
        return ["o", _type_name(value), "<recursive>"]
    active.add(ident)
    if tag is None:
        kind = type(value)
        tag = (
            "od"
            if kind is collections.OrderedDict
            else "ctr"
            if kind is collections.Counter
            else "d"
        )
    try:
        out: list[Any] = [tag]
        for key, item in dict.items(value):
            out.append(_plain(key, budget, depth + 1, active))
            out.append(_plain(item, budget, depth + 1, active))
    finally:
        active.discard(ident)
    return out


_NAMED: dict[tuple[str, str], Callable[[Any], list[Any]]] = {
    ("decimal", "Decimal"): lambda value: ["dec", str(value)],
    ("fractions", "Fraction"): lambda value: ["fr", hex(value.numerator), hex(value.denominator)],
    ("datetime", "datetime"): lambda value: ["dt", value.isoformat()],
    ("datetime", "date"): lambda value: ["date", value.isoformat()],
    ("datetime", "time"): lambda value: ["time", value.isoformat()],
    ("datetime", "timedelta"): lambda value: ["td", value.days, value.seconds, value.microseconds],
}


def _special(value: object) -> list[Any] | None:
    if type(value) is bytes:
        return ["b", value.hex()]
    if type(value) is bytearray:
        return ["ba", value.hex()]
    if type(value) is complex:
        return ["c", value.real, value.imag]
    if type(value) is range:
        return ["r", value.start, value.stop, value.step]
    kind = type(value)
    named = _NAMED.get((getattr(kind, "__module__", ""), getattr(kind, "__qualname__", "")))
    return named(value) if named is not None else None


def _subclass(value: object, budget: _Budget, depth: int, active: set[int]) -> Any:
    """A subclass of a plain type (an IntEnum, a str subclass, a list subclass) as the plain
    value it holds; anything else as its type and repr."""
    try:
        if isinstance(value, bool):
            return bool(int.__int__(value))
        if isinstance(value, int):
            return _plain(int.__int__(value), budget, depth, active)
        if isinstance(value, float):
            return float.__float__(value)
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, list):
            return _sequence("l", list.__iter__(value), budget, depth, active)
        if isinstance(value, tuple):
            return _sequence("t", tuple.__iter__(value), budget, depth, active)
        if isinstance(value, dict):
            return _mapping(value, budget, depth, active, "d")
    except (_TooLarge, RecursionError):
        raise
    except Exception:
        pass
    return ["o", _type_name(value), _safe_repr(value)]


def _type_name(value: object) -> str:
    try:
        kind = type(value)
        module = kind.__module__
        name = kind.__qualname__
        return name if module in ("builtins", None) else f"{module}.{name}"
    except Exception:
        return "object"


def _safe_repr(value: object) -> str:
    try:
        text = repr(value)
        if type(text) is not str:
            raise TypeError
    except BaseException:
        return f"<{_type_name(value)} object>"
    return text if len(text) <= REPR_CHARS else text[:REPR_CHARS] + "..."


def truth(value: object) -> bool | None:
    """`bool(value)` as the child sees it (None if it raises)."""
    try:
        return bool(value)
    except Exception:
        return None


# The trusted side ---------------------------------------------------------------------------


def decode(data: Any) -> Any:
    """The value an encoded one stands for, made of standard types and `Opaque` only.

    Raises `MalformedValue` when `data` is not well formed (the child interfered)."""
    import decimal

    try:
        return _decode(data, 0)
    except (
        TypeError,
        ValueError,
        OverflowError,
        decimal.InvalidOperation,
        ZeroDivisionError,
    ) as exc:
        if isinstance(exc, MalformedValue):
            raise
        raise MalformedValue(f"malformed value: {exc}") from None
    except RecursionError:
        raise MalformedValue("malformed value: nested too deeply") from None


def _decode(data: Any, depth: int) -> Any:
    if depth > MAX_DEPTH + 2:
        raise MalformedValue("malformed value: nested too deeply")
    if data is None or isinstance(data, bool | str):
        return data
    if isinstance(data, int | float):
        return data
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise MalformedValue(f"malformed value: {type(data).__name__}")
    tag, rest = data[0], data[1:]
    maker = _DECODED_CONTAINERS.get(tag)
    if maker is not None:
        return maker(_decode(item, depth + 1) for item in rest)
    if tag == "dq":
        return collections.deque(_decode(item, depth + 1) for item in rest)
    mapping = _MAPPINGS.get(tag)
    if mapping is not None:
        if len(rest) % 2:
            raise MalformedValue("malformed value: a mapping with an odd number of items")
        pairs = [
            (_decode(rest[i], depth + 1), _decode(rest[i + 1], depth + 1))
            for i in range(0, len(rest), 2)
        ]
        return mapping(dict(pairs))
    return _decode_scalar(tag, rest)


def _decode_scalar(tag: str, rest: list[Any]) -> Any:
    import datetime
    import decimal
    import fractions

    if tag == "o" and _texts(rest, 2):
        return Opaque(rest[0], rest[1])
    if tag == "big" and _texts(rest, 2):
        return Opaque(rest[0], rest[1], too_large=True)
    if tag == "i" and _texts(rest, 1):
        return int(rest[0], 16)
    if tag in ("b", "ba") and _texts(rest, 1):
        raw = bytes.fromhex(rest[0])
        return raw if tag == "b" else bytearray(raw)
    if tag == "c" and len(rest) == 2 and all(_number(part) for part in rest):
        return complex(rest[0], rest[1])
    if tag == "dec" and _texts(rest, 1):
        return decimal.Decimal(rest[0])
    if tag == "fr" and _texts(rest, 2):
        return fractions.Fraction(int(rest[0], 16), int(rest[1], 16))
    if tag == "r" and len(rest) == 3 and all(type(part) is int for part in rest):
        return range(*rest)
    if tag == "dt" and _texts(rest, 1):
        return datetime.datetime.fromisoformat(rest[0])
    if tag == "date" and _texts(rest, 1):
        return datetime.date.fromisoformat(rest[0])
    if tag == "time" and _texts(rest, 1):
        return datetime.time.fromisoformat(rest[0])
    if tag == "td" and len(rest) == 3 and all(type(part) is int for part in rest):
        return datetime.timedelta(days=rest[0], seconds=rest[1], microseconds=rest[2])
    raise MalformedValue(f"malformed value: unknown tag {tag!r}")


def _texts(parts: list[Any], count: int) -> bool:
    return len(parts) == count and all(isinstance(part, str) for part in parts)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def show(value: Any, limit: int = REPR_CHARS) -> str:
    """A decoded value as Python would print it, cut to `limit` characters."""
    text = repr(value)
    return (
        text if len(text) <= limit else f"{text[:limit]}... [{len(text) - limit} more characters]"
    )


def canonical(value: Any) -> str:
    """Text that is the same for values that are equal (dicts and sets in any order): what
    behaviour clusters compare."""
    if isinstance(value, dict):
        items = sorted(f"{canonical(key)}: {canonical(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, set | frozenset):
        return f"{type(value).__name__}({{{', '.join(sorted(canonical(item) for item in value))}}})"
    if isinstance(value, list | tuple):
        inner = ", ".join(canonical(item) for item in value)
        if isinstance(value, list):
            return f"[{inner}]"
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return repr(value)
