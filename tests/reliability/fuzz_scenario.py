"""Malformed LSP traffic: a property-based fuzzer (hypothesis) against the real server.

``run_fuzz(inputs, seed, *, time_limit=35.0) -> ScenarioFigures`` starts one server process
(``python -m plansearch_lsp --stdio``) in a scratch workspace and runs `inputs` hypothesis
examples against it over raw stdio, with Content-Length framing written here so that anything
can be sent. An example opens a document (LF, CRLF or CR line ends, tabs, emoji and other
non-BMP characters, form feeds and separators that only `str.splitlines` takes for line
breaks), then sends a batch of inputs mixed with edits of that document: broken JSON, JSON
that is not an object, wrong types, missing fields, unknown methods (also ``$/`` ones),
out-of-range positions, huge ids, requests sent as notifications and notifications sent as
requests, junk for ``plansearch/generate``, ``plansearch/apply`` and ``plansearch/setApiKey``,
edits with stale versions, ranges past the end of a line (in UTF-16 units, after emoji) and
ranges that make no sense, and documents opened under odd URIs (``untitled:``, a NUL
byte, no scheme). Afterwards:

- every request with a valid id got exactly one answer: a result, or an error whose code the
  JSON-RPC and LSP specifications give for that input; broken JSON got ParseError and a
  message that is not a request InvalidRequest, both with id null; nothing else came back;
- the process is alive and reported no internal error;
- a code action and a hover on every function of the document land on the right function,
  as the client's own copy of the text says (the run store knows some of the functions).

``run_framing(root=None) -> list[FramingOutcome]`` sends damaged framing (Content-Length too
short, too long, missing, not a number, absurd; headers in other spellings) to one server,
each followed by ordinary requests, and reports which were answered.
"""

from __future__ import annotations

import ast
import bisect
import contextlib
import itertools
import json
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seeded
from hypothesis import strategies as st

from plansearch.extract import find_stubs, problem_from_source
from plansearch.result import Candidate, FinishReason, Plan, SearchResult, SearchStats
from plansearch.store import RunStore, default_store_path
from tests.lsp.conftest import server_env
from tests.reliability.figures import ScenarioFigures

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
REQUEST_CANCELLED = -32800
REQUEST_FAILED = -32803
REPLY_TIMEOUT = 8.0
"""Seconds the answers to one batch may take."""
P99_TARGET_MS = 250.0
"""What p99 of the answers should stay under, malformed and repeated requests included."""
STARTUP_TIMEOUT = 30.0
FUNCTIONS = 6
"""Functions f0..f5 a document may have; the run store knows code for each."""
MAX_STEPS = 8

Key = tuple[str, Any]


# -- the wire --------------------------------------------------------------------------------


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def encode(message: Any, *, ascii_only: bool = True) -> bytes:
    text = json.dumps(message, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")


def id_key(value: object) -> Key | None:
    """How an id is matched to its answer; None for a value LSP does not allow as an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, str):
        return ("str", value)
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def client_answer(method: str, params: Any) -> Any:
    """What an editor answers to the server's requests."""
    if method == "workspace/configuration":
        items = params.get("items", []) if isinstance(params, dict) else []
        return [None for _ in items]
    if method == "workspace/applyEdit":
        return {"applied": False, "failureReason": "the fuzzer applies nothing"}
    return None


class RawServer:
    """The server process, spoken to over raw stdio: whatever is written goes as it is."""

    def __init__(self, workspace: Path, log_file: Path, stderr_file: Path,
                 env: dict[str, str]) -> None:
        self.workspace = workspace
        self.log_file = log_file
        self.stderr_file = stderr_file
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._cond = threading.Condition()
        self._replies: dict[Key, tuple[dict[str, Any], float]] = {}
        self.null_replies: list[dict[str, Any]] = []
        self.internal_errors: list[str] = []
        self.wire_errors: list[str] = []
        self._out: queue.Queue[bytes | None] = queue.Queue()
        self._ids = itertools.count(1)

    def spawn(self) -> None:
        """Start the process, not yet initialised."""
        with self.stderr_file.open("ab") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "plansearch_lsp", "--stdio", "--log-file",
                 str(self.log_file)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                cwd=self.workspace, env=self.env)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def start(self, options: dict[str, Any]) -> None:
        """Start the process and initialise it with these initialization options."""
        self.spawn()
        reply, _ = self.call("initialize", {
            "processId": None, "rootUri": self.workspace.as_uri(),
            "capabilities": {"textDocument": {"hover": {"contentFormat": ["markdown"]}}},
            "initializationOptions": options}, timeout=STARTUP_TIMEOUT)
        if reply is None or "result" not in reply:
            raise RuntimeError(f"the server did not initialise: {reply}")
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    # -- sending ---------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self._out.put(data)

    def send(self, message: Any) -> None:
        self.write(frame(encode(message)))

    def close_input(self) -> None:
        """Close the server's stdin once everything queued is written."""
        self._out.put(None)

    def _write(self) -> None:
        assert self.process is not None and self.process.stdin is not None
        stdin = self.process.stdin
        while (data := self._out.get()) is not None:
            try:
                stdin.write(data)
                stdin.flush()
            except OSError:
                return
        with contextlib.suppress(OSError):
            stdin.close()

    # -- receiving -------------------------------------------------------------------------

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stream = self.process.stdout
        try:
            while True:
                length = None
                while (line := stream.readline()) != b"\r\n":
                    if not line:
                        return
                    name, colon, value = line.decode("ascii").partition(":")
                    if not colon or not line.endswith(b"\r\n"):
                        raise ValueError(f"a header line {line!r}")
                    if name.lower() == "content-length":
                        length = int(value)
                if length is None:
                    raise ValueError("a message without Content-Length")
                body = stream.read(length)
                if len(body) < length:
                    return
                self._dispatch(json.loads(body.decode("utf-8"),
                                          parse_constant=_reject_constant))
        except (ValueError, UnicodeDecodeError) as error:
            with self._cond:
                self.wire_errors.append(f"the server wrote a malformed message: {error}")
                self._cond.notify_all()

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            raise ValueError(f"a message that is not an object: {message!r:.80}")
        method = message.get("method")
        if method is not None and "id" in message:
            self.send({"jsonrpc": "2.0", "id": message["id"],
                       "result": client_answer(method, message.get("params"))})
            return
        if method is not None:
            params = message.get("params")
            params = params if isinstance(params, dict) else {}
            text = str(params.get("message", ""))
            if params.get("type") == 1 and (method == "window/logMessage"
                                            or "Error in server" in text):
                with self._cond:
                    self.internal_errors.append(f"{method}: {text.splitlines()[0][:160]}"
                                                if text else method)
            return
        with self._cond:
            if "id" not in message:
                self.wire_errors.append(f"an answer without an id: {message!r:.100}")
            elif message["id"] is None:
                self.null_replies.append(message)
            elif (key := id_key(message.get("id"))) is None:
                self.wire_errors.append(f"an answer with the id {message.get('id')!r:.60}")
            else:
                if key in self._replies:
                    self.wire_errors.append(f"a second answer to id {message['id']!r:.60}")
                self._replies[key] = (message, time.monotonic())
            self._cond.notify_all()

    def wait(self, key: Key, until: float) -> tuple[dict[str, Any], float] | None:
        """The answer with this id (and when it came), or None by `until`."""
        with self._cond:
            while key not in self._replies:
                left = until - time.monotonic()
                if left <= 0 or not self.alive():
                    return self._replies.pop(key, None)
                self._cond.wait(min(left, 0.5))
            return self._replies.pop(key)

    def call(self, method: str, params: Any,
             timeout: float = REPLY_TIMEOUT) -> tuple[dict[str, Any] | None, float]:
        """Send a request with a fresh id; its answer (None if none came) and the latency."""
        request_id = f"call:{next(self._ids)}"
        started = time.monotonic()
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        found = self.wait(("str", request_id), started + timeout)
        if found is None:
            return None, time.monotonic() - started
        return found[0], found[1] - started

    def take_nulls(self) -> list[dict[str, Any]]:
        with self._cond:
            taken, self.null_replies = self.null_replies, []
            return taken

    def take_unclaimed(self) -> list[Key]:
        with self._cond:
            keys = list(self._replies)
            self._replies.clear()
            return keys

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """Shut down and exit; killed when it does not go. Returns the exit code."""
        if self.process is None:
            return None
        if self.alive():
            self.call("shutdown", None, timeout=timeout)
            self.send({"jsonrpc": "2.0", "method": "exit"})
            self.close_input()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
            return None
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


# -- documents -------------------------------------------------------------------------------

_BREAK = re.compile(r"\r\n|\r|\n")
DECORATIONS = ("😀", "🎉🎉", "\U0001d4b3", "é", "e\u0301", "中文", "\t", "\u2028", "\u2029", "\x0c",
               "\x0b", "\x85", "\x1c", "\u200d", "👩\u200d👧", "\ufeff", " ", "ok")
"""Bits of text for comments and docstrings: non-BMP characters (two UTF-16 units), and
characters `str.splitlines` breaks lines at although neither LSP nor Python does."""
STATES = ("stub", "stored", "plain")


def units(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _BREAK.finditer(text))]


def line_text(text: str, starts: list[int], line: int) -> str:
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    return _BREAK.sub("", text[starts[line]:end])


def position(text: str, index: int) -> dict[str, int]:
    """The LSP position (UTF-16) of a code point index."""
    starts = line_starts(text)
    line = bisect.bisect_right(starts, index) - 1
    return {"line": line, "character": units(text[starts[line]:index])}


def body_for(k: int, state: str, stub_body: str = "...") -> str:
    if state == "stub":
        return stub_body
    return f"return x * {k + 2}" if state == "stored" else f"return x - {k}"


@dataclass
class Document:
    """The client's copy of the fuzzed document."""

    text: str
    states: dict[int, str]
    version: int = 1

    def functions(self) -> dict[int, ast.FunctionDef]:
        tree = ast.parse(self.text)
        return {int(node.name[1:]): node for node in tree.body
                if isinstance(node, ast.FunctionDef)}

    def stub_lines(self) -> set[int]:
        """0-based lines a cursor is in a documented stub on."""
        return {line - 1 for stub in find_stubs(self.text) if stub.docstring_start_line
                for line in range(stub.start_line, stub.end_line + 1)}

    def index(self, line: int, utf8_column: int) -> int:
        starts = line_starts(self.text)
        row = line_text(self.text, starts, line)
        return starts[line] + len(row.encode("utf-8", "surrogatepass")[:utf8_column].decode())

    def replace(self, start: int, end: int, new: str) -> dict[str, Any]:
        """Replace text[start:end]; the change event, in positions of the old text."""
        change = {"range": {"start": position(self.text, start),
                            "end": position(self.text, end)}, "text": new}
        self.text = self.text[:start] + new + self.text[end:]
        return change


@st.composite
def documents(draw: st.DrawFn) -> Document:
    """A module of functions f<k>: stubs, functions the run store knows, and others."""
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    deco = st.lists(st.sampled_from(DECORATIONS), max_size=4).map("".join)
    lines = [f'"""Fuzzed {draw(deco)}."""', ""]
    states: dict[int, str] = {}
    for k in draw(st.lists(st.integers(0, FUNCTIONS - 1), min_size=1, max_size=4,
                           unique=True)):
        indent = draw(st.sampled_from(["    ", "\t", "  "]))
        state = states[k] = draw(st.sampled_from(STATES))
        body = body_for(k, state, draw(st.sampled_from(["...", "pass",
                                                        "raise NotImplementedError"])))
        comment = draw(st.sampled_from(["", f"  # {draw(deco)}"]))
        doc = f"{draw(deco)} Return x times {k + 2}.{draw(deco)}"
        shape = draw(st.sampled_from(["lines", "one line", "long docstring"]))
        header = f"def f{k}(x: int) -> int:"
        if shape == "one line":
            lines.append(f'{header} """{doc}"""; {body}{comment}')
        elif shape == "lines":
            lines += [header + comment, f'{indent}"""{doc}"""', indent + body]
        else:
            lines += [header + comment, f'{indent}"""{draw(deco)}', f"{indent}{doc}",
                      f'{indent}"""', indent + body]
        lines += draw(st.lists(st.sampled_from(["", "\x0c", f"# {draw(deco)}", "  \t"]),
                               min_size=1, max_size=3))
    text = newline.join(lines)
    return Document(text=text if draw(st.booleans()) else text + newline, states=states)


# -- inputs ----------------------------------------------------------------------------------

HOVER = "textDocument/hover"
CODE_ACTION = "textDocument/codeAction"
GENERATE = "plansearch/generate"
APPLY = "plansearch/apply"
SET_API_KEY = "plansearch/setApiKey"
KNOWN = {
    "initialize", "initialized", "shutdown", "exit", "$/cancelRequest", "$/setTrace",
    "$/progress", "$/logTrace", HOVER, CODE_ACTION, GENERATE, APPLY, SET_API_KEY,
    "textDocument/didOpen", "textDocument/didChange", "textDocument/didClose",
    "textDocument/didSave", "workspace/didChangeConfiguration", "workspace/executeCommand",
    "window/workDoneProgress/cancel", "workspace/didChangeWatchedFiles",
    "workspace/didChangeWorkspaceFolders",
}
NOTIFICATIONS = ("textDocument/didOpen", "textDocument/didChange", "textDocument/didClose",
                 "textDocument/didSave", "initialized", "exit", SET_API_KEY,
                 "$/cancelRequest", "$/setTrace", "workspace/didChangeConfiguration",
                 "window/workDoneProgress/cancel", "workspace/didChangeWatchedFiles")
REQUESTS = (HOVER, CODE_ACTION, GENERATE, APPLY, "shutdown", "initialize",
            "workspace/executeCommand", "textDocument/completion")


@dataclass
class Input:
    """One message to send; its id is fixed when it is sent (`IdShape`)."""

    label: str
    message: dict[str, Any] | None = None
    body: bytes | None = None
    """Exact bytes of the body, instead of `message`."""
    id_shape: tuple[str, Any] | None = None
    expect: str = "silence"
    """"answer" (the request's id), "null" (an error with id null) or "silence"."""
    codes: frozenset[int] = frozenset()
    """Error codes the answer may have."""
    result_ok: bool = False
    null_code: int | None = None
    cancel: bool = False
    """Send `$/cancelRequest` for it right after."""
    ascii_only: bool = True


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
               | st.floats(allow_nan=False, allow_infinity=False) | strings())
    keys = st.sampled_from(["textDocument", "uri", "position", "line", "character", "range",
                            "start", "end", "context", "searchId", "candidateId", "text",
                            "version", "id", "jsonrpc", "method", "params", "provider",
                            "key", "contentChanges", "command", "arguments"]) | strings()
    return st.recursive(scalars, lambda kids: st.lists(kids, max_size=3)
                        | st.dictionaries(keys, kids, max_size=3), max_leaves=max_leaves)


def strings() -> st.SearchStrategy[str]:
    return (st.text(max_size=12) | st.sampled_from(["", "😀", "\ud800", "a\x00b", "\u2028",
                                                     "file:///", "x" * 300]))


def id_shapes() -> st.SearchStrategy[tuple[str, Any]]:
    """Valid ids: small, negative, huge integers; short, long, odd strings."""
    return st.one_of(
        st.just(("small", None)), st.just(("negative", None)),
        st.sampled_from([2**31, 2**53 + 1, 2**63, 2**64 + 7, 10**30, -(2**63) - 1,
                         10**300]).map(lambda n: ("big", n)),
        strings().map(lambda s: ("text", s)),
        st.integers(1000, 20000).map(lambda n: ("text", "i" * n)))


BAD_IDS = (True, False, 1.5, 2.0, None, [], {}, [1], {"id": 1})


def _valid_params(method: str, uri: str, line: int, character: int) -> Any:
    spot = {"line": line, "character": character}
    document = {"uri": uri}
    return {
        HOVER: {"textDocument": document, "position": spot},
        CODE_ACTION: {"textDocument": document, "range": {"start": spot, "end": spot},
                      "context": {"diagnostics": []}},
        GENERATE: {"textDocument": document, "position": spot},
        APPLY: {"searchId": "s1", "candidateId": "c1"},
        "workspace/executeCommand": {"command": "plansearch.generate",
                                     "arguments": [{"textDocument": document,
                                                    "position": spot}]},
        "textDocument/completion": {"textDocument": document, "position": spot},
        "initialize": {"processId": None, "rootUri": None, "capabilities": {}},
        "shutdown": None,
        "textDocument/didOpen": {"textDocument": {**document, "languageId": "python",
                                                  "version": 1, "text": "x = 1\n"}},
        "textDocument/didChange": {"textDocument": {**document, "version": 9},
                                   "contentChanges": [{"text": "y = 2\n"}]},
        "textDocument/didClose": {"textDocument": document},
        "textDocument/didSave": {"textDocument": document},
        SET_API_KEY: {"provider": "anthropic", "key": "sk-ant-fuzz-0000000000"},
        "$/cancelRequest": {"id": 424242},
        "$/setTrace": {"value": "off"},
        "workspace/didChangeConfiguration": {"settings": {"plansearch": {"budget": "quick"}}},
        "window/workDoneProgress/cancel": {"token": "nothing"},
        "workspace/didChangeWatchedFiles": {"changes": []},
        "initialized": {},
        "exit": None,
    }[method]


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """`value` with one part dropped, or given a wrong type or an out-of-range number."""
    if not isinstance(value, dict | list) or not value or draw(st.booleans()):
        return draw(st.sampled_from([-1, 2**31, 10**20, "0", 1.5, None, [], {}, "😀"])
                    | json_values())
    keys = list(value) if isinstance(value, dict) else list(range(len(value)))
    key = draw(st.sampled_from(keys))
    copy = dict(value) if isinstance(value, dict) else list(value)
    if isinstance(copy, dict) and draw(st.booleans()):
        del copy[key]
    else:
        copy[key] = draw(mutated(value[key]))
    return copy


URIS = ("scratch.py", "notes.md", "binary.py", "missing.py", "", "untitled:Untitled-1",
        "not a uri", "file:///", "file:///nonexistent/deep/x.py", "sub/", "%00x.py")


@st.composite
def inputs(draw: st.DrawFn, workspace: Path, uri: str, lines: int) -> Input:
    """One malformed, odd or unexpected message (never one to the fuzzed document that
    would change it, and never a search that could start)."""
    def other_uri() -> str:
        name = draw(st.sampled_from(URIS))
        return name if ":" in name or not name else (workspace / name).as_uri()

    kind = draw(st.sampled_from([
        "broken json", "not an object", "no jsonrpc", "bad id", "bad method", "no method",
        "unknown method", "junk params", "position", "request as notification",
        "notification as request", "client answer", "cancel", "set key",
        "configuration", "deep params"]))
    shape = draw(id_shapes())
    if kind == "broken json":
        valid = encode({"jsonrpc": "2.0", "id": 1, "method": HOVER,
                        "params": _valid_params(HOVER, uri, 0, 0)})
        body = draw(st.one_of(
            st.integers(1, len(valid) - 1).map(lambda n: valid[:n]),
            st.sampled_from([b"", b" ", b"{", b"{,}", b"[1,]", b"{}x", b"{'a': 1}",
                             b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": NaN}',
                             b'\xef\xbb\xbf{"jsonrpc": "2.0", "method": "x"}',
                             b'{"jsonrpc": "2.0", "method": "\xff\xfe"}',
                             b'{"jsonrpc": "2.0", "id": 1, "method": "x"} {}',
                             b"[" * 100_000 + b"]" * 100_000,
                             b'{"jsonrpc": "2.0", "id": ' + b"9" * 5000
                             + b', "method": "textDocument/hover", "params": {}}']),
            st.binary(max_size=40)).filter(_broken))
        return Input(kind, body=body, expect="null", null_code=PARSE_ERROR)
    if kind == "not an object":
        value = draw(st.lists(json_values(4), max_size=3) | st.integers() | strings()
                     | st.none() | st.booleans()
                     | st.just([{"jsonrpc": "2.0", "id": 1, "method": "shutdown"}]))
        return Input(kind, body=encode(value), expect="null", null_code=INVALID_REQUEST)
    method = draw(st.sampled_from([HOVER, CODE_ACTION]))
    params = _valid_params(method, uri, 0, 0)
    if kind == "no jsonrpc":
        message = {"method": method, "params": params}
        version = draw(st.sampled_from(["missing", "1.0", 2, None]))
        if version != "missing":
            message["jsonrpc"] = version
        if draw(st.booleans()):
            return Input(kind, message, id_shape=shape, expect="answer",
                         codes=frozenset({INVALID_REQUEST}))
        return Input(kind, message, expect="null", null_code=INVALID_REQUEST)
    if kind == "bad id":
        bad = draw(st.sampled_from(BAD_IDS))
        return Input(kind, {"jsonrpc": "2.0", "id": bad, "method": method, "params": params},
                     expect="null", null_code=INVALID_REQUEST)
    if kind == "bad method":
        message = {"jsonrpc": "2.0", "method": draw(st.sampled_from([5, None, [], {}, True])),
                   "params": params}
        if draw(st.booleans()):
            return Input(kind, message, id_shape=shape, expect="answer",
                         codes=frozenset({INVALID_REQUEST}))
        return Input(kind, message, expect="null", null_code=INVALID_REQUEST)
    if kind == "no method":
        extra = draw(st.dictionaries(st.sampled_from(["params", "foo", "jsonrpc"]),
                                     json_values(3), max_size=2))
        message = {**extra, "jsonrpc": "2.0"}
        if draw(st.booleans()):
            return Input(kind, message, id_shape=shape, expect="answer",
                         codes=frozenset({INVALID_REQUEST}))
        return Input(kind, message, expect="null", null_code=INVALID_REQUEST)
    if kind == "unknown method":
        name = draw(st.one_of(strings(), strings().map(lambda s: "$/" + s),
                              strings().map(lambda s: "plansearch/" + s),
                              strings().map(lambda s: "textDocument/x" + s)).filter(
                                  lambda m: m not in KNOWN))
        message = {"jsonrpc": "2.0", "method": name, "params": draw(json_values(4))}
        if draw(st.booleans()):
            return Input(kind, message, id_shape=shape, expect="answer",
                         codes=frozenset({METHOD_NOT_FOUND}))
        return Input(kind, message)
    if kind == "junk params":
        method = draw(st.sampled_from([m for m in REQUESTS if m != "shutdown"]))
        at = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
        valid = _valid_params(method, other_uri(), *at)
        params = draw(mutated(valid) | json_values())
        codes = {INVALID_PARAMS, REQUEST_FAILED}
        if method == "initialize":
            codes = {INVALID_REQUEST, INVALID_PARAMS}
        elif method == "textDocument/completion":
            codes = {METHOD_NOT_FOUND}
        return Input(f"{kind} for {method}", {"jsonrpc": "2.0", "method": method,
                                               "params": params},
                     id_shape=shape, expect="answer", codes=frozenset(codes),
                     result_ok=method in (HOVER, CODE_ACTION))
    if kind == "position":
        number = st.sampled_from([0, 1, lines - 1, lines, lines + 7, 2**31 - 1, 2**31, -1,
                                  10**12])
        line, character = draw(number), draw(number | st.integers(0, 200))
        valid = all(0 <= n < 2**31 for n in (line, character))
        return Input(f"{kind} {line}:{character}", {"jsonrpc": "2.0", "method": method,
                                                    "params": _valid_params(method, uri, line,
                                                                            character)},
                     id_shape=shape, expect="answer",
                     codes=frozenset() if valid else frozenset({INVALID_PARAMS}),
                     result_ok=valid, cancel=draw(st.booleans()) and valid)
    if kind == "request as notification":
        method = draw(st.sampled_from(REQUESTS))
        target = uri if method in (HOVER, CODE_ACTION) else other_uri()
        params = _valid_params(method, target, draw(st.integers(0, lines)), 0)
        return Input(f"{method} without an id", {"jsonrpc": "2.0", "method": method,
                                                 "params": params})
    if kind == "notification as request":
        method = draw(st.sampled_from(NOTIFICATIONS))
        params = _valid_params(method, other_uri(), 0, 0)
        return Input(f"{method} with an id", {"jsonrpc": "2.0", "method": method,
                                              "params": params},
                     id_shape=shape, expect="answer", codes=frozenset({INVALID_REQUEST}))
    if kind == "client answer":
        answer = draw(st.sampled_from(["result", "error"]))
        value = draw(json_values(4))
        return Input(kind, {"jsonrpc": "2.0", answer: value}, id_shape=shape)
    if kind == "cancel":
        return Input(kind, {"jsonrpc": "2.0", "method": "$/cancelRequest",
                            "params": draw(mutated({"id": 77}) | json_values(3))})
    if kind == "set key":
        params = draw(mutated(_valid_params(SET_API_KEY, uri, 0, 0)) | json_values(3))
        return Input(kind, {"jsonrpc": "2.0", "method": SET_API_KEY, "params": params})
    if kind == "configuration":
        section = draw(st.dictionaries(st.sampled_from(["budget", "maxCalls", "provider",
                                                        "codeActionCommand", "timeout",
                                                        "apiKey", "strategy", "x"]),
                                       json_values(3), max_size=3)
                       | json_values(3))
        return Input(kind, {"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration",
                            "params": draw(st.sampled_from([{"settings": {"plansearch":
                                                                          section}},
                                                            {"settings": section}]))})
    depth = draw(st.integers(100, 500))
    return Input(kind, {"jsonrpc": "2.0", "method": method,
                        "params": {**params, "context": json.loads("[" * depth + "]" * depth)}},
                 id_shape=shape, expect="answer", codes=frozenset({INVALID_PARAMS}),
                 result_ok=method == HOVER, ascii_only=draw(st.booleans()))


def _broken(body: bytes) -> bool:
    """Not a JSON text as LSP sends it (UTF-8, no NaN) that Python can read."""
    try:
        json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return True
    return False


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Expected:
    label: str
    key: Key
    codes: frozenset[int]
    result_ok: bool
    shown: str


@dataclass
class _Batch:
    """What an example sends, and what must come back. Everything is drawn before anything
    is sent: hypothesis may abort an example inside a draw."""

    out: list[bytes] = field(default_factory=list)
    answers: list[Expected] = field(default_factory=list)
    nulls: list[int] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    columns: dict[int, int] = field(default_factory=dict)
    """Where in its header line each function is asked about."""

    def send(self, message: Any) -> None:
        self.out.append(frame(encode(message)))


def prepare_workspace(root: Path) -> Path:
    """A project with a run store that knows `return x * (k + 2)` as f<k>'s candidate."""
    workspace = root / "ws"
    workspace.mkdir(parents=True)
    (workspace / "pyproject.toml").write_text("[project]\nname = 'fuzz'\n", encoding="utf-8")
    (workspace / "scratch.py").write_text("def g():\n    pass\n", encoding="utf-8")
    (workspace / "binary.py").write_bytes(b"def f():\n    return '\xff\xfe'\n")
    (workspace / "sub").mkdir()
    with RunStore(default_store_path(workspace)) as store:
        for k in range(FUNCTIONS):
            source = f'def f{k}(x: int) -> int:\n    """Return x times {k + 2}."""\n    ...\n'
            code = f"def f{k}(x: int) -> int:\n    return x * {k + 2}\n"
            candidate = Candidate(id=f"c{k}", index=1, strategy="plansearch", code=code,
                                  plan=Plan(sketch=f"Multiply x by {k + 2}."))
            result = SearchResult(problem=f"f{k}", strategy="plansearch", provider="anthropic",
                                  model="fuzz", finish_reason=FinishReason.COMPLETED,
                                  stats=SearchStats(calls=1), candidates=[candidate])
            store.save_run(result, problem_from_source(source, f"f{k}"),
                           workspace=str(workspace))
    return workspace


class Fuzzer:
    """One server, and the examples hypothesis runs against it."""

    def __init__(self, root: Path, figures: ScenarioFigures, stop_at: float,
                 shrink: bool) -> None:
        self.root = root
        self.shrink = shrink
        self.workspace = prepare_workspace(root)
        self.uri = (self.workspace / "fuzz.py").as_uri()
        self.figures = figures
        self.stop_at = stop_at
        self.examples = 0
        self.restarts = 0
        self.problems: dict[str, str] = {}
        self.server = self._start()

    def _start(self) -> RawServer:
        server = RawServer(self.workspace, self.root / "lsp.log", self.root / "stderr.txt",
                           server_env(self.root))
        server.start({"baseUrl": "http://127.0.0.1:9", "maxRetries": 0, "timeout": 2,
                      "budget": "quick", "isolation": "rlimits"})
        return server

    def example(self, data: st.DataObject) -> None:
        """Open a document, send a batch, check the answers and the document's features."""
        if time.monotonic() > self.stop_at:
            return
        if not self.server.alive():
            self.restarts += 1
            self.server = self._start()
        self.examples += 1
        counter = itertools.count(1)
        document = data.draw(documents(), label="document")
        batch = _Batch()
        self._open(document, batch)
        for _ in range(data.draw(st.integers(1, MAX_STEPS), label="steps")):
            step = data.draw(st.sampled_from(["input", "input", "input", "edit", "edit",
                                              "bad edit", "other document", "odd document"]))
            if step == "input":
                lines = len(line_starts(document.text))
                self._send(data.draw(inputs(self.workspace, self.uri, lines)), batch, counter)
            elif step == "edit":
                self._edit(data, document, batch)
            elif step == "bad edit":
                self._bad_edit(data, document, batch)
            elif step == "other document":
                self._other_document(data, batch)
            else:
                self._odd_document(data, batch, counter)
        starts = line_starts(document.text)
        for k, node in sorted(document.functions().items()):
            width = units(line_text(document.text, starts, node.lineno - 1))
            batch.columns[k] = data.draw(st.integers(0, width + 3), label=f"column in f{k}")
        for data_out in batch.out:
            self.server.write(data_out)
        problems = self._check(batch, document)
        self.figures.inputs_tried = (self.figures.inputs_tried or 0) + len(batch.sent)
        if problems:
            sent = " | ".join(batch.sent)
            for problem in problems:
                self.problems.setdefault(problem.split(":")[0], f"{problem} [sent: {sent}]")
            if self.shrink:
                raise AssertionError("; ".join(problems) + "\nsent: " + sent)

    # -- sending -----------------------------------------------------------------------------

    def _send(self, item: Input, batch: _Batch, counter: Iterator[int]) -> None:
        message = item.message
        if item.id_shape is not None and message is not None:
            request_id = _realise(item.id_shape, next(counter))
            message = {**message, "id": request_id}
            key = id_key(request_id)
            assert key is not None
            shown = repr(request_id) if len(repr(request_id)) < 40 else repr(request_id)[:37]
            if item.expect == "answer":
                batch.answers.append(Expected(item.label, key, item.codes, item.result_ok,
                                              shown))
        body = item.body if item.body is not None else encode(message,
                                                              ascii_only=item.ascii_only)
        batch.out.append(frame(body))
        if item.cancel and message is not None:
            batch.send({"jsonrpc": "2.0", "method": "$/cancelRequest",
                        "params": {"id": message["id"]}})
            batch.answers[-1].codes = batch.answers[-1].codes | {REQUEST_CANCELLED}
        if item.expect == "null" and item.null_code is not None:
            batch.nulls.append(item.null_code)
        batch.sent.append(f"{item.label}: {body[:100]!r}")

    def _notify(self, method: str, params: Any, batch: _Batch, label: str) -> None:
        batch.send({"jsonrpc": "2.0", "method": method, "params": params})
        batch.sent.append(label)

    def _open(self, document: Document, batch: _Batch) -> None:
        batch.send({"jsonrpc": "2.0", "method": "textDocument/didClose",
                    "params": {"textDocument": {"uri": self.uri}}})
        batch.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": self.uri, "languageId": "python",
                             "version": document.version, "text": document.text}}})

    def _edit(self, data: st.DataObject, document: Document, batch: _Batch) -> None:
        """Valid edits the client's copy follows; the version may be stale or jump."""
        changes = []
        for _ in range(data.draw(st.integers(1, 3))):
            changes.append(self._change(data, document))
        version = data.draw(st.sampled_from(["next", "next", "same", "lower", "jump"]))
        document.version = {"next": document.version + 1, "same": document.version,
                            "lower": max(0, document.version - 2),
                            "jump": document.version + 1000}[version]
        self._notify("textDocument/didChange", {
            "textDocument": {"uri": self.uri, "version": document.version},
            "contentChanges": changes}, batch, f"edit ({version} version): {changes!r:.200}")

    def _change(self, data: st.DataObject, document: Document) -> dict[str, Any]:
        kind = data.draw(st.sampled_from(["toggle", "toggle", "insert line", "append",
                                          "delete line", "past the end", "whole text"]))
        starts = line_starts(document.text)
        if kind == "toggle":
            functions = document.functions()
            k = data.draw(st.sampled_from(sorted(functions)))
            node = functions[k].body[-1]
            state = data.draw(st.sampled_from([s for s in STATES if s != document.states[k]]))
            document.states[k] = state
            assert node.end_lineno is not None and node.end_col_offset is not None
            change = document.replace(document.index(node.lineno - 1, node.col_offset),
                                      document.index(node.end_lineno - 1, node.end_col_offset),
                                      body_for(k, state))
            if data.draw(st.booleans()):  # a range from its end to its start
                where = change["range"]
                where["start"], where["end"] = where["end"], where["start"]
            return change
        if kind == "insert line":
            line = data.draw(st.integers(0, len(starts) - 1))
            newline = _BREAK.search(document.text)
            content = data.draw(st.sampled_from(["", "\x0c", "# 😀 note\t", "#\u2028\U0001d4b3"]))
            return document.replace(starts[line], starts[line],
                                    content + (newline.group() if newline else "\n"))
        if kind == "append":
            line = data.draw(st.integers(0, len(starts) - 1))
            row = line_text(document.text, starts, line)
            past = data.draw(st.sampled_from([0, 1, 2, 5, 1000]))
            spot = {"line": line, "character": units(row) + past}
            comment = data.draw(st.sampled_from(["  # 😀 tail", "  # \t", " #\U0001d4b3"]))
            end = starts[line] + len(row)
            document.text = document.text[:end] + comment + document.text[end:]
            return {"range": {"start": spot, "end": spot}, "text": comment}
        if kind == "past the end":  # a line past the end is the end of the text
            spot = {"line": len(starts) + data.draw(st.sampled_from([0, 1, 10**6])),
                    "character": data.draw(st.sampled_from([0, 3, 2**31 - 1]))}
            comment = "  # end \U0001f600"
            document.text += comment
            return {"range": {"start": spot, "end": spot}, "text": comment}
        if kind == "delete line":
            rows = [i for i in range(len(starts) - 1)
                    if line_text(document.text, starts, i).strip(" \t\x0c").startswith("#")
                    or not line_text(document.text, starts, i).strip(" \t\x0c")]
            if rows:
                line = data.draw(st.sampled_from(rows))
                return document.replace(starts[line], starts[line + 1], "")
        return {"text": document.text}

    def _bad_edit(self, data: st.DataObject, document: Document, batch: _Batch) -> None:
        """An edit the specification gives no meaning to; the client then reopens."""
        lines = len(line_starts(document.text))
        spot = st.fixed_dictionaries({
            "line": st.sampled_from([lines, lines + 3, 10**6, 2**31 - 1, -1, 2**31, "1"]),
            "character": st.sampled_from([0, 5, 2**31 - 1, -3, None])})
        good = {"line": 0, "character": 0}
        change = data.draw(st.one_of(
            st.builds(lambda a: {"range": {"start": a, "end": a}, "text": "x"}, spot),
            st.just({"range": {"start": {"line": 1, "character": 0}, "end": good},
                     "text": "reversed"}),
            st.just({"range": {"start": good, "end": good}}),
            st.just({"range": {"start": good, "end": good}, "text": 5}),
            st.just({"range": {"start": good, "end": good}, "rangeLength": -4, "text": ""})))
        version = data.draw(st.sampled_from([document.version + 1, "7", None, 1.5, 2**31,
                                             -(2**31) - 1]))
        self._notify("textDocument/didChange", {
            "textDocument": {"uri": self.uri, "version": version},
            "contentChanges": [change]}, batch, f"bad edit {change!r:.120} v={version!r}")
        document.version += 1
        self._open(document, batch)

    def _other_document(self, data: st.DataObject, batch: _Batch) -> None:
        """Notifications about documents that are not open, or a second open."""
        uri = (self.workspace / data.draw(st.sampled_from(["scratch.py", "ghost.py"]))).as_uri()
        method = data.draw(st.sampled_from(["textDocument/didChange", "textDocument/didClose",
                                            "textDocument/didSave", "textDocument/didOpen"]))
        params = _valid_params(method, uri, 0, 0)
        if method == "textDocument/didOpen" and data.draw(st.booleans()):
            params = {"textDocument": {**params["textDocument"], "version": -5,
                                       "languageId": "", "text": "def 😀(:\r\n\x00"}}
        self._notify(method, params, batch, f"{method} of {uri.rsplit('/', 1)[-1]}")

    def _odd_document(self, data: st.DataObject, batch: _Batch, counter: Iterator[int]) -> None:
        """Open a document under an odd URI, then ask for a hover and a code action there:
        both must answer with a result."""
        # (never a file outside the workspace: a server that wrongly created a run store
        # there, as one did for file:/// and file://host/share/x.py, would litter the disk;
        # tests/lsp/test_bad_input.py covers those)
        folder = self.workspace.as_uri()
        uri = data.draw(st.sampled_from([
            "untitled:Untitled-1", "untitled:odd.py", f"{folder}/%00null.py", "odd.py",
            f"{folder}/sub/",
            "vscode-notebook-cell:/x.ipynb#1", f"{folder}/sp%20ace%20%C3%A9.py",
            f"{folder}/%2e%2e",
        ]), label="odd uri")
        text = data.draw(st.sampled_from([
            'def f0(x: int) -> int:\n    """Return x times 2."""\n    return x * 2\n',
            'def f1(x: int) -> int:\n    """Return x times 3."""\n    ...\n']))
        language = data.draw(st.sampled_from(["python", "", "plaintext"]))
        batch.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}})
        batch.sent.append(f"didOpen of {uri!r} ({language!r})")
        for method in (HOVER, CODE_ACTION):
            request_id = next(counter)
            batch.send({"jsonrpc": "2.0", "id": request_id, "method": method,
                        "params": _valid_params(method, uri, 0, 4)})
            batch.answers.append(Expected(f"{method} on {uri!r}", ("int", request_id),
                                          frozenset(), True, str(request_id)))

    # -- checking ----------------------------------------------------------------------------

    def _check(self, batch: _Batch, document: Document) -> list[str]:
        problems: list[str] = []
        until = time.monotonic() + REPLY_TIMEOUT
        for expected in batch.answers:
            found = self.server.wait(expected.key, until)
            if found is None:
                problems.append(f"no answer: {expected.label} (id {expected.shown})")
                self.figures.lost += 1
                continue
            self.figures.requests_served += 1
            problem = judge(found[0], expected)
            if problem:
                problems.append(problem)
        problems += self._features(document, batch.columns)
        nulls = self.server.take_nulls()
        errors = [reply.get("error") if isinstance(reply.get("error"), dict) else {}
                  for reply in nulls]
        codes = sorted(error.get("code", 0) for error in errors)
        if codes != sorted(batch.nulls):
            problems.append(f"id-null errors: expected codes {sorted(batch.nulls)}, got "
                            f"{codes}: {[str(e.get('message'))[:80] for e in errors]}")
        self.figures.requests_served += min(len(nulls), len(batch.nulls))
        stray = self.server.take_unclaimed()
        if stray:
            problems.append(f"answers nobody asked for: {stray[:3]!r:.120}")
        if not self.server.alive():
            problems.append(f"the server died: exit code {self.server.process.returncode}"
                            if self.server.process else "the server died")
        for error in (self.server.wire_errors, self.server.internal_errors):
            if error:
                problems.append(f"server reported: {error[0]}")
                error.clear()
        return problems

    def _features(self, document: Document, columns: dict[int, int]) -> list[str]:
        """Code actions and hovers on each function, against the client's copy."""
        problems = []
        stubs = document.stub_lines()
        for k, node in sorted(document.functions().items()):
            line, character = node.lineno - 1, columns[k]
            spot = {"line": line, "character": character}
            params = {"textDocument": {"uri": self.uri}, "range": {"start": spot, "end": spot},
                      "context": {"diagnostics": []}}
            reply = self._timed(CODE_ACTION, params)
            if reply is None:
                return [f"no answer: the code action on f{k}"]
            titles = [a.get("title") for a in reply.get("result") or []]
            want = ["Generate via PlanSearch"] if line in stubs else []
            if titles != want:
                problems.append(f"wrong code action: f{k} ({document.states[k]}) at "
                                f"{line}:{character} gave {titles} "
                                f"{reply.get('error', '')!r:.120}")
            reply = self._timed(HOVER, {"textDocument": {"uri": self.uri}, "position": spot})
            if reply is None:
                return [f"no answer: the hover on f{k}"]
            hover = reply.get("result")
            stored = document.states[k] == "stored"
            text = hover["contents"]["value"] if isinstance(hover, dict) else ""
            if stored and (f"PlanSearch candidate c{k}" not in text
                           or hover["range"]["start"]["line"] != line):
                problems.append(f"wrong hover: f{k} at {line}:{character} gave "
                                f"{hover or reply.get('error')!r:.160}")
            elif not stored and hover is not None:
                problems.append(f"wrong hover: f{k} ({document.states[k]}) has one")
        return problems

    def _timed(self, method: str, params: Any) -> dict[str, Any] | None:
        reply, seconds = self.server.call(method, params)
        if reply is not None:
            self.figures.requests_served += 1
            self.figures.latencies_ms.append(seconds * 1000)
        else:
            self.figures.lost += 1
        return reply


def _realise(shape: tuple[str, Any], n: int) -> int | str:
    """A concrete id, unique within its batch."""
    kind, value = shape
    if kind == "small":
        return n
    if kind == "negative":
        return -n
    if kind == "big":
        return int(value) + n if value > 0 else int(value) - n
    return f"{value}#{n}"


def judge(reply: dict[str, Any], expected: Expected) -> str | None:
    """What is wrong with an answer, or None."""
    what = f"{expected.label} (id {expected.shown})"
    if reply.get("jsonrpc") != "2.0" or ("result" in reply) == ("error" in reply):
        return f"malformed answer: {what}: {reply!r:.160}"
    if "result" in reply:
        if not expected.result_ok:
            return f"a result where an error was due: {what}: {reply['result']!r:.120}"
        return None
    error = reply["error"]
    code = error.get("code") if isinstance(error, dict) else None
    if not isinstance(code, int) or not isinstance(error.get("message"), str):
        return f"malformed error: {what}: {error!r:.160}"
    if code not in expected.codes:
        return (f"wrong error code: {what}: {code} (expected {sorted(expected.codes)}"
                f"{' or a result' if expected.result_ok else ''}): {error['message']!r:.160}")
    return None


def run_fuzz(inputs: int, seed: int, *, time_limit: float = 35.0, shrink: bool = False,
             root: Path | None = None) -> ScenarioFigures:
    """Run `inputs` hypothesis examples (from `seed`) against one server, stopping new
    examples after `time_limit` seconds; in `root` (a new temporary folder by default).

    Each kind of problem found is a line of `errors` (its first instance, with what was
    sent). With `shrink`, the first problem ends the run and hypothesis shrinks it to a
    minimal example, which is a note; the notes also count examples and restarts."""
    figures = ScenarioFigures(scenario="fuzz", inputs_tried=0, p99_target_ms=P99_TARGET_MS)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if root is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fuzz-")))
        fuzzer = Fuzzer(root, figures, started + time_limit, shrink)

        @seeded(seed)
        @settings(max_examples=inputs, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate,
                                                                   Phase.shrink],
                  print_blob=False)
        @given(st.data())
        def fuzz(data: st.DataObject) -> None:
            fuzzer.example(data)

        try:
            fuzz()
        except Exception as error:
            notes = "\n".join(getattr(error, "__notes__", []))
            figures.notes.append(f"falsifying example: {str(error)[:1500]}\n{notes[:3000]}")
        finally:
            figures.errors += list(fuzzer.problems.values())
            stderr = (root / "stderr.txt").read_text(encoding="utf-8", errors="replace")
            if "Traceback" in stderr or "Logging error" in stderr:
                figures.errors.append(f"server stderr: {stderr.strip()[-600:]}")
            code = fuzzer.server.stop()
            if code is None:
                figures.errors.append("the server did not exit after shutdown and exit")
            figures.notes.append(f"{fuzzer.examples} examples, {fuzzer.restarts} restarts, "
                                 f"exit code {code}")
    figures.seconds = time.monotonic() - started
    return figures


# -- damaged framing -------------------------------------------------------------------------


@dataclass(frozen=True)
class FramingCase:
    """Damaged framing of request 1, followed by intact requests 2 and 3."""

    name: str
    damage: str
    """How request 1 is framed (see `_damaged`)."""
    answered: tuple[int, ...]
    """Requests that must be answered."""
    parse_errors: int
    """ParseErrors (id null) the damage must cause."""


FRAMING_CASES = (
    FramingCase("Content-Length 5 bytes short", "short", (2, 3), 1),
    FramingCase("Content-Length 20 bytes long", "long", (3,), 1),
    FramingCase("no Content-Length", "missing", (2, 3), 0),
    FramingCase("Content-Length not a number", "word", (2, 3), 0),
    FramingCase("Content-Length negative", "negative", (2, 3), 0),
    FramingCase("Content-Length 0, no body", "zero", (2, 3), 1),
    FramingCase("Content-Length of 10^15 bytes", "absurd", (2, 3), 0),
    FramingCase("no blank line after the header", "no blank", (2, 3), 0),
    FramingCase("garbage bytes before the header", "garbage", (1, 2, 3), 0),
    FramingCase("lower-case header name", "lower", (1, 2, 3), 0),
    FramingCase("LF line ends in the header", "lf", (1, 2, 3), 0),
    FramingCase("spaces around the length", "spaces", (1, 2, 3), 0),
    FramingCase("Content-Type first", "type first", (1, 2, 3), 0),
    FramingCase("UTF-8 body, length in bytes", "utf8", (1, 2, 3), 0),
)


def _damaged(damage: str, body: bytes) -> bytes:
    n = len(body)
    return {
        "short": b"Content-Length: %d\r\n\r\n%s" % (n - 5, body),
        "long": b"Content-Length: %d\r\n\r\n%s" % (n + 20, body),
        "missing": b"Content-Type: application/vscode-jsonrpc\r\n\r\n" + body,
        "word": b"Content-Length: twelve\r\n\r\n" + body,
        "negative": b"Content-Length: -%d\r\n\r\n%s" % (n, body),
        "zero": b"Content-Length: 0\r\n\r\n",
        "absurd": b"Content-Length: 1000000000000000\r\n\r\n" + body,
        "no blank": b"Content-Length: %d\r\n%s" % (n, body),
        "garbage": b"\x00\xff garbage\r\nmore garbage\r\n" + frame(body),
        "lower": b"content-length: %d\r\n\r\n%s" % (n, body),
        "lf": b"Content-Length: %d\n\n%s" % (n, body),
        "spaces": b"Content-Length:   %d  \r\n\r\n%s" % (n, body),
        "type first": b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (n, body),
        "utf8": frame(body),
    }[damage]


@dataclass
class FramingOutcome:
    case: FramingCase
    answered: tuple[int, ...]
    parse_errors: int
    alive: bool

    @property
    def ok(self) -> bool:
        return (self.alive and self.answered == self.case.answered
                and self.parse_errors == self.case.parse_errors)


def _hover(request_id: str, *, ascii_only: bool) -> bytes:
    return encode({"jsonrpc": "2.0", "id": request_id, "method": HOVER,
                   "params": {"textDocument": {"uri": "untitled:\U0001f600"},
                              "position": {"line": 0, "character": 0}}}, ascii_only=ascii_only)


def run_framing(root: Path | None = None, cases: tuple[FramingCase, ...] = FRAMING_CASES,
                ) -> list[FramingOutcome]:
    """Send each case's damage and two intact requests to one server; what came back."""
    outcomes = []
    with contextlib.ExitStack() as stack:
        if root is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="framing-")))
        workspace = root / "ws"
        workspace.mkdir()
        server = RawServer(workspace, root / "lsp.log", root / "stderr.txt", server_env(root))
        server.start({})
        try:
            for number, case in enumerate(cases):
                ids = [f"case{number}-{i}" for i in (1, 2, 3)]
                first, second, third = (_hover(i, ascii_only=case.damage != "utf8")
                                        for i in ids)
                server.write(_damaged(case.damage, first))
                server.write(frame(second) + frame(third))
                last = server.wait(("str", ids[2]), time.monotonic() + 5.0)
                # answered in order: once the last one is, the others are or never will be
                got = tuple(i + 1 for i, request_id in enumerate(ids[:2])
                            if server.wait(("str", request_id), 0) is not None)
                got += (3,) if last is not None else ()
                if server.alive():
                    server.call(HOVER, {"textDocument": {"uri": "untitled:x"},
                                        "position": {"line": 0, "character": 0}}, timeout=3)
                errors = [r for r in server.take_nulls()
                          if r.get("error", {}).get("code") == PARSE_ERROR]
                server.take_unclaimed()
                outcomes.append(FramingOutcome(case, got, len(errors), server.alive()))
        finally:
            server.stop()
    return outcomes
