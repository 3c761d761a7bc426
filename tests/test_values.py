"""Values as plain data (plansearch.execution.values): what a child sends, what the trusted
side rebuilds, and what it refuses."""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import fractions
import json
from typing import Any, NamedTuple

import pytest

from plansearch.execution import values


class Point(NamedTuple):
    x: int
    y: int


class Color(enum.IntEnum):
    RED = 1


class Shouting(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


def round_trip(value: object) -> Any:
    return values.decode(json.loads(values.encode(value)))


@pytest.mark.parametrize(
    "value",
    [
        None, True, 0, -7, 2**70, -(2**100), 1.5, float("inf"), "é\n\x00", b"\x00\xff",
        bytearray(b"ab"), 3 + 4j, [1, [2, (3,)]], (1,), {1, 2}, frozenset({"a"}),
        {"a": [1], (1, 2): None}, collections.OrderedDict(a=1), collections.Counter("aab"),
        collections.deque([1, 2]), range(1, 10, 3), decimal.Decimal("1.10"),
        fractions.Fraction(1, 3), datetime.datetime(2024, 8, 1, 12, 30),
        datetime.date(2024, 8, 1), datetime.time(1, 2, 3), datetime.timedelta(days=1, seconds=5),
    ],
)  # fmt: skip
def test_plain_values_come_back_equal_and_of_the_same_type(value: object) -> None:
    back = round_trip(value)
    assert back == value and type(back) is type(value)


def test_nan_comes_back_as_nan() -> None:
    back = round_trip(float("nan"))
    assert isinstance(back, float) and back != back


def test_subclasses_of_plain_types_send_the_value_they_hold() -> None:
    assert round_trip(Point(1, 2)) == (1, 2) and type(round_trip(Point(1, 2))) is tuple
    assert round_trip(Color.RED) == 1 and type(round_trip(Color.RED)) is int
    # an always-equal str subclass arrives as the plain str it holds: its __eq__ stays behind
    back = round_trip(Shouting("no"))
    assert type(back) is str and back != "yes"
    assert round_trip(collections.defaultdict(int, a=1)) == {"a": 1}


def test_other_objects_are_described_by_type_and_repr() -> None:
    class Anything:
        def __eq__(self, other: object) -> bool:
            return True

        def __repr__(self) -> str:
            return "Anything()"

    back = round_trip(Anything())
    assert isinstance(back, values.Opaque)
    assert back.type_name.endswith("Anything") and repr(back) == "Anything()"
    assert back != 1 and back != "Anything()"  # it equals nothing but its own description
    assert back == round_trip(Anything())


def test_a_repr_that_raises_or_lies_is_survived() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert repr(round_trip(Broken())).endswith("Broken object>")


def test_cycles_and_huge_values_do_not_hang_the_child() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert repr(round_trip(loop)) == "[1, <recursive>]"
    big = round_trip(list(range(values.MAX_NODES + 10)))
    assert isinstance(big, values.Opaque) and big.too_large
    assert big != round_trip(list(range(values.MAX_NODES + 10)))  # never equal: unknown
    deep: list[Any] = []
    for _ in range(values.MAX_DEPTH + 5):
        deep = [deep]
    assert isinstance(round_trip(deep), values.Opaque)


@pytest.mark.parametrize(
    "data",
    [
        {"a": 1},  # a JSON object is never a value
        ["zz", 1],  # an unknown tag
        ["d", 1],  # a mapping with an odd number of items
        ["s", ["l", 1]],  # an unhashable set element
        ["i", "not hex"],
        ["o", 1, 2],
        [],
    ],
)
def test_malformed_data_is_refused(data: Any) -> None:
    with pytest.raises(values.MalformedValue):
        values.decode(data)


def test_canonical_text_ignores_dict_and_set_order() -> None:
    assert values.canonical({"b": 1, "a": 2}) == values.canonical({"a": 2, "b": 1})
    assert values.canonical({3, 1, 2}) == values.canonical({2, 3, 1})
    assert values.canonical([1, 2]) != values.canonical((1, 2))
    assert values.canonical((1,)) == "(1,)" != values.canonical(1)
