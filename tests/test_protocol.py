"""Length-prefixed JSON frames between the executor, its fork servers and their children."""

from __future__ import annotations

import pytest

from plansearch.execution.protocol import HEADER, FrameDecoder, encode


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
