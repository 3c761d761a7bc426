"""How the server's modules depend on one another, and what making the server starts.

`server.py` registers every feature and hands each handler the services it needs; the
feature modules never see the server object, so none of them imports `server` (not even
for a type), and the server's modules import one another without a circle. Making the
server starts nothing: no thread, no task; the engine's thread starts when it serves.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import plansearch_lsp
import pytest
from plansearch_lsp.engine import EngineThread
from plansearch_lsp.logs import LOGGERS

PACKAGE = "plansearch_lsp"
FOLDER = Path(plansearch_lsp.__file__).parent
MODULES = sorted(path.stem for path in FOLDER.glob("*.py"))
ENTRY_POINTS = {"cli", "__main__"}
"""What builds the server and runs it: the only modules that may import `server`."""


def imports(module: str) -> set[str]:
    """The package's modules that `module` imports anywhere: at the top, in a function, or
    only for type checking."""
    tree = ast.parse((FOLDER / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                head, _, rest = alias.name.partition(".")
                if head == PACKAGE and rest:
                    found.add(rest.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = node.module
            elif node.level == 0 and node.module and node.module.split(".")[0] == PACKAGE:
                base = node.module.partition(".")[2] or None
            else:
                continue
            if base is None:  # `from . import apply`: the names are modules
                found.update(alias.name for alias in node.names if alias.name in MODULES)
            else:
                found.add(base.split(".")[0])
    found.discard(module)
    return found


def test_the_modules_are_found() -> None:
    assert {"server", "searches", "apply", "hover", "code_actions", "watcher"} <= set(MODULES)
    assert {"apply", "searches", "watcher"} <= imports("server")
    assert "engine" in imports("searches")


@pytest.mark.parametrize("module", sorted(set(MODULES) - ENTRY_POINTS - {"server"}))
def test_no_feature_module_imports_the_server(module: str) -> None:
    assert "server" not in imports(module), (
        f"{module}.py imports server.py: take the services it needs as parameters instead")
    text = (FOLDER / f"{module}.py").read_text(encoding="utf-8")
    assert "PlanSearchServer" not in text, f"{module}.py names PlanSearchServer"


def test_the_modules_import_one_another_without_a_circle() -> None:
    graph = {module: imports(module) for module in MODULES}
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for other in sorted(graph.get(module, ())):
            if state.get(other) == "open":
                circle = [*path[path.index(other):], other] if other in path else [other]
                raise AssertionError("the imports go round: " + " -> ".join(circle))
            if other not in state:
                visit(other, [*path, other])
        state[module] = "done"

    for module in MODULES:
        if module not in state:
            visit(module, [module])


def test_the_engine_thread_starts_only_when_asked() -> None:
    before = set(threading.enumerate())
    engine = EngineThread()
    assert set(threading.enumerate()) == before
    with pytest.raises(RuntimeError, match="not started"):
        engine.call(print)
    engine.stop()  # never started: nothing to wait for
    assert engine.loop.is_closed()

    engine = EngineThread()
    engine.start()
    engine.start()  # once only
    try:
        assert asyncio.run(engine.run(asyncio.sleep(0, result=7))) == 7
    finally:
        engine.stop()
    assert set(threading.enumerate()) == before
    engine.stop()


@pytest.fixture
def logging_kept() -> Iterator[None]:
    """Logging as it was before the test (building a server routes the log to a client)."""
    loggers = [logging.getLogger(name) for name in ("", *LOGGERS, "pygls")]
    saved = [(logger, logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    filters = {handler: handler.filters[:] for logger in loggers for handler in logger.handlers}
    yield
    for logger, handlers, level, propagate in saved:
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    for handler, kept in filters.items():
        handler.filters[:] = kept


async def test_building_the_server_starts_no_thread_and_no_task(
    tmp_path: Path, logging_kept: None
) -> None:
    from plansearch_lsp.server import build_server

    threads = set(threading.enumerate())
    tasks = asyncio.all_tasks()
    interval = sys.getswitchinterval()
    server = build_server(tmp_path / "lsp.log")
    assert set(threading.enumerate()) == threads
    assert asyncio.all_tasks() == tasks
    assert sys.getswitchinterval() == interval
    await server.close()  # safe before it ever served
    assert server.engine.loop.is_closed()
