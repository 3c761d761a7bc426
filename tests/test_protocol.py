"""Length-prefixed frames between the executor, its fork servers and their children: JSON out
of a sandbox, marshalled data into one."""

from __future__ import annotations

import marshal

import pytest

from plansearch.execution.protocol import (
    HEADER,
    FrameDecoder,
    decode_trusted,
    encode,
    encode_trusted,
)


def frame(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body


def test_messages_fed_in_pieces_come_out_whole() -> None:
    stream = encode({"t": "run", "id": 1, "text": "é\n"}) + encode({"t": "cancel", "id": 1})
    decoder = FrameDecoder()
    received = []
    for index in range(len(stream)):  # one byte at a time
        received += decoder.feed(stream[index : index + 1])
    assert received == [{"t": "run", "id": 1, "text": "é\n"}, {"t": "cancel", "id": 1}]
    assert decoder.error is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"a": 1} {"b": 2}', "more than one JSON value"),
        (b'{"a": 1}  ', "more than one JSON value"),
    ],
)
def test_a_bad_frame_breaks_the_stream_after_the_good_ones(body: bytes, reason: str) -> None:
    decoder = FrameDecoder()
    good = {"t": "begin", "i": 0}
    assert decoder.feed(encode(good) + frame(body) + encode(good)) == [good]
    assert decoder.error is not None and reason in decoder.error
    assert decoder.feed(encode(good)) == []  # nothing more is decoded


def test_a_frame_longer_than_allowed_is_refused_before_it_arrives() -> None:
    decoder = FrameDecoder(max_frame=100)
    assert decoder.feed(HEADER.pack(101)) == []
    assert decoder.error is not None and "too long" in decoder.error


def test_requests_are_marshalled_with_their_code_objects() -> None:
    code = compile("x = 1 + 1\n", "<test t>", "exec")
    request = {"t": "run", "id": 7, "tests": [{"id": "t", "compiled": code}], "limits": {}}
    stream = encode_trusted(request) + encode_trusted({"t": "cancel", "id": 7})
    decoder = FrameDecoder(decode=decode_trusted)
    received = []
    for index in range(0, len(stream), 5):
        received += decoder.feed(stream[index : index + 5])
    assert [message["t"] for message in received] == ["run", "cancel"]
    namespace: dict[str, int] = {}
    exec(received[0]["tests"][0]["compiled"], namespace)
    assert namespace["x"] == 2


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\x00garbage", "not marshalled data"),
        (marshal.dumps([1, 2]), "not a marshalled dict"),
        (marshal.dumps({"t": "run"})[:-3], "not marshalled data"),
    ],
)
def test_a_bad_marshalled_frame_breaks_the_stream(body: bytes, reason: str) -> None:
    decoder = FrameDecoder(decode=decode_trusted)
    good = {"t": "cancel", "id": 1}
    assert decoder.feed(encode_trusted(good) + frame(body) + encode_trusted(good)) == [good]
    assert decoder.error is not None and reason in decoder.error
