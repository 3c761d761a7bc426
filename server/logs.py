"""Where the server's log goes: the client (`window/logMessage`) and a file, never stdout."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import platformdirs
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from plansearch.models.registry import key_env_vars

from .secrets import KeyStore, Redactor
from .wire import RequestFailed

LOGGERS = ("plansearch_lsp", "plansearch")
"""Loggers whose records reach the client; pygls's own stay in the file."""
LEVEL_ENV = "PLANSEARCH_LOG_LEVEL"
"""`debug` also logs pygls, the model SDKs and HTTP to the file; default `info`."""

_LEVELS = {
    logging.ERROR: types.MessageType.Error,
    logging.WARNING: types.MessageType.Warning,
    logging.INFO: types.MessageType.Info,
}


def default_log_path() -> Path:
    """``lsp.log`` in the user log directory."""
    return Path(platformdirs.user_log_dir("plansearch")) / "lsp.log"


class _AnsweredErrors(logging.Filter):
    """Drops pygls's tracebacks of errors a request answered on purpose (bad params, a
    search that cannot run): the client got the message, the log needs no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, RequestFailed | JsonRpcInvalidParams)


class ClientLogHandler(logging.Handler):
    """Sends records to the client as `window/logMessage`, from any thread."""

    def __init__(self, send: Callable[[types.LogMessageParams], None]) -> None:
        super().__init__(logging.INFO)
        self._send = send
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.get_ident()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the connection runs on; records from other threads are handed to it."""
        self._loop = loop
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        kind = _LEVELS.get(record.levelno, types.MessageType.Log)
        params = types.LogMessageParams(type=kind, message=self.format(record))
        try:
            if threading.get_ident() == self._thread or self._loop is None:
                self._send(params)
            else:
                self._loop.call_soon_threadsafe(self._send, params)
        except Exception:  # the client went away; the file still has the record
            self.handleError(record)


def log_level() -> int:
    """The level `PLANSEARCH_LOG_LEVEL` names (debug, info, warning, error); info if unset
    or unknown."""
    level = logging.getLevelNamesMapping().get(os.environ.get(LEVEL_ENV, "").upper())
    return level if level in (logging.DEBUG, logging.WARNING, logging.ERROR) else logging.INFO


def configure(
    send: Callable[[types.LogMessageParams], None], keys: KeyStore, log_file: Path | None
) -> ClientLogHandler:
    """Route PlanSearch's records to the client and to `log_file`, everything else (pygls,
    warnings and up; everything at debug level) to the file; every key is scrubbed, also
    from handlers already there."""
    env_keys = [os.environ.get(name, "")
                for name in (*key_env_vars(), "PLANSEARCH_API_KEY")]
    redactor = Redactor(keys, env_keys)
    level = log_level()
    libraries = logging.DEBUG if level == logging.DEBUG else logging.WARNING
    client = ClientLogHandler(send)
    client.setFormatter(logging.Formatter("%(message)s"))
    handlers: list[logging.Handler] = [client]
    path = log_file or default_log_path()
    problem = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
        file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        file.addFilter(_AnsweredErrors())
        handlers.append(file)
        root = logging.getLogger()
        root.setLevel(libraries)
        root.addHandler(file)
    except OSError as error:
        problem = error.strerror or str(error)
    for handler in [*handlers, *logging.getLogger().handlers]:
        handler.addFilter(redactor)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = False  # a terminal handler (from `plansearch serve`) gets nothing
        for handler in handlers:
            logger.addHandler(handler)
    logging.getLogger("pygls").setLevel(libraries)
    if problem is not None:
        logging.getLogger("plansearch_lsp").warning("cannot write the log file %s: %s",
                                                    path, problem)
    return client
