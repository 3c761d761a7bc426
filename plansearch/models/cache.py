"""The response cache: model replies in SQLite, keyed by backend, full request and sample index.

WAL mode and a busy timeout let several processes share one file; a lock around the one
connection makes an instance safe to use from several threads. Requests hold no keys, so
neither does the cache.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from pydantic import ValidationError

from plansearch.models.base import ModelReply, ModelRequest
from plansearch.sqlite_wal import enable_wal

_BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    reply TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class CacheError(Exception):
    """The cache file cannot be opened, read or written."""


def cache_key(identity: str, request: ModelRequest, sample_index: int) -> str:
    """sha256 of the canonical JSON of everything that determines a reply."""
    payload = {
        "identity": identity,
        "request": request.model_dump(mode="json"),
        "sample": sample_index,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    """A SQLite file of replies. Every method raises `CacheError` if the file is unusable."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from None
        try:
            with self._guard():
                self._conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
                enable_wal(self._conn, _BUSY_TIMEOUT_S)
                self._conn.execute(_SCHEMA)
        except CacheError:
            self._conn.close()
            raise

    def get(self, identity: str, request: ModelRequest, sample_index: int) -> ModelReply | None:
        """The stored reply (marked `from_cache`), or None."""
        key = cache_key(identity, request, sample_index)
        with self._guard():
            row = self._conn.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            reply = ModelReply.model_validate_json(row[0])
        except ValidationError:
            return None  # written by an incompatible version: a miss, overwritten on put
        return reply.model_copy(update={"from_cache": True})

    def put(
        self, identity: str, request: ModelRequest, sample_index: int, reply: ModelReply
    ) -> None:
        """Store `reply`, replacing any earlier one for the same key."""
        key = cache_key(identity, request, sample_index)
        data = reply.model_dump_json(exclude={"from_cache"})
        with self._guard():
            self._conn.execute(
                "INSERT OR REPLACE INTO replies (key, reply, created) VALUES (?, ?, ?)",
                (key, data, time.time()),
            )

    def clear(self) -> int:
        """Remove every entry; return how many there were."""
        with self._guard():
            removed = self._conn.execute("DELETE FROM replies").rowcount
            self._conn.execute("VACUUM")
        return removed

    def info(self) -> tuple[int, int, Path]:
        """(entries, bytes on disk including the WAL, path)."""
        with self._guard():
            (entries,) = self._conn.execute("SELECT COUNT(*) FROM replies").fetchone()
        files = (self.path, self.path.with_name(self.path.name + "-wal"))
        size = sum(f.stat().st_size for f in files if f.exists())
        return int(entries), size, self.path

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def _error(self, exc: BaseException) -> CacheError:
        return CacheError(
            f"The response cache at {self.path} cannot be used ({exc}). Delete the file, "
            "point PLANSEARCH_CACHE_PATH elsewhere, or turn caching off (PLANSEARCH_CACHE=false)."
        )
