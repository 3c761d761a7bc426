"""The SQLite response cache: keys, persistence, threads, processes and a corrupt file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from plansearch.models.base import Message, ModelReply, ModelRequest, StopReason, Usage
from plansearch.models.cache import CacheError, ResponseCache

REQUEST = ModelRequest(system="s", messages=(Message(role="user", content="q"),), max_tokens=99)
REPLY = ModelReply(
    text="answer",
    stop_reason=StopReason.MAX_TOKENS,
    usage=Usage(input_tokens=3, output_tokens=4, cached_input_tokens=5),
)


@pytest.fixture
def cache(tmp_path: Path) -> ResponseCache:
    return ResponseCache(tmp_path / "deep" / "dir" / "cache.sqlite3")


def test_miss_then_hit(cache: ResponseCache) -> None:
    assert cache.get("id", REQUEST, 0) is None
    cache.put("id", REQUEST, 0, REPLY)
    hit = cache.get("id", REQUEST, 0)
    assert hit is not None
    assert hit.from_cache
    assert hit.model_copy(update={"from_cache": False}) == REPLY
    assert cache.path.parent.is_dir()


def test_key_covers_identity_sample_and_request(cache: ResponseCache) -> None:
    cache.put("anthropic|url|m", REQUEST, 0, REPLY)
    assert cache.get("anthropic|url|m", REQUEST, 1) is None
    assert cache.get("openai|url|m", REQUEST, 0) is None
    assert cache.get("anthropic|url|m", REQUEST.model_copy(update={"temperature": 0.5}), 0) is None
    marked = ModelRequest(
        system="s", messages=(Message(role="user", content="q", cache_prefix=True),), max_tokens=99
    )
    assert cache.get("anthropic|url|m", marked, 0) is None


def test_put_replaces(cache: ResponseCache) -> None:
    cache.put("id", REQUEST, 0, REPLY)
    cache.put("id", REQUEST, 0, REPLY.model_copy(update={"text": "newer"}))
    hit = cache.get("id", REQUEST, 0)
    assert hit is not None and hit.text == "newer"
    assert cache.info()[0] == 1


def test_clear_and_info(cache: ResponseCache) -> None:
    for index in range(3):
        cache.put("id", REQUEST, index, REPLY)
    entries, size, path = cache.info()
    assert (entries, path) == (3, cache.path)
    assert size > 0
    assert cache.clear() == 3
    assert cache.info()[0] == 0
    assert cache.get("id", REQUEST, 0) is None


def test_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with ResponseCache(path) as first:
        first.put("id", REQUEST, 7, REPLY)
    with ResponseCache(path) as second:
        assert second.get("id", REQUEST, 7) is not None


def test_threads_share_one_instance(cache: ResponseCache) -> None:
    def write(thread: int) -> None:
        for index in range(50):
            cache.put(f"t{thread}", REQUEST, index, REPLY)
            assert cache.get(f"t{thread}", REQUEST, index) is not None

    workers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert cache.info()[0] == 400


_WRITER = textwrap.dedent(
    """
    import sys
    from plansearch.models.base import Message, ModelReply, ModelRequest
    from plansearch.models.cache import ResponseCache

    path, name = sys.argv[1], sys.argv[2]
    request = ModelRequest(messages=(Message(role="user", content="q"),))
    cache = ResponseCache(path)
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    for index in range(300):
        cache.put(name, request, index, ModelReply(text=f"{name}-{index}"))
    cache.close()
    """
)


def test_two_processes_write_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stderr is not None
        line = writer.stdout.readline()
        assert line == "ready\n", writer.stderr.read()  # stdout closed: the writer died
    for writer in writers:
        _, err = writer.communicate("go\n", timeout=60)
        assert (writer.returncode, err) == (0, "")
    with ResponseCache(path) as cache:
        assert cache.info()[0] == 600
        request = ModelRequest(messages=(Message(role="user", content="q"),))
        for name in ("a", "b"):
            for index in (0, 150, 299):
                hit = cache.get(name, request, index)
                assert hit is not None and hit.text == f"{name}-{index}"


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError) as caught:
        ResponseCache(path)
    message = str(caught.value)
    assert str(path) in message
    assert "not a database" in message
    assert "PLANSEARCH_CACHE_PATH" in message


def test_unusable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CacheError) as caught:
        ResponseCache(blocker / "cache.sqlite3")
    assert str(blocker) in str(caught.value)
