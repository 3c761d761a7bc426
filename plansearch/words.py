"""Counts in words, the same in the terminal, the editor and the reports."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """`count` and `noun` for that many: "1 candidate", "3 branches", "2 empty replies",
    "1,234 tokens" (the last word of `noun` is the one that changes)."""
    return f"{count:,} {noun if count == 1 else _many(noun)}"


def _many(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "o", "u"):
        return noun[:-1] + "ies"
    if noun.endswith(("ch", "sh", "s", "x")):
        return noun + "es"
    return noun + "s"
