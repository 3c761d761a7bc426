"""A loopback HTTP server that speaks the Anthropic Messages and OpenAI chat-completions formats.

Tests drive the real SDKs against it. It answers through a `responder`, waits a fixed
`latency`, records every request, and injects faults either from a script (`inject`) or at
a seeded random rate (drawn in order of arrival, or with `stable_faults` from each request's
body, so the same calls fail whatever order they arrive in). It listens on 127.0.0.1 only,
never logs, and never echoes a key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

Api = Literal["anthropic", "openai"]

_ROUTES: dict[str, Api] = {"/v1/messages": "anthropic", "/v1/chat/completions": "openai"}
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})


class Fault(StrEnum):
    """A way a request can go wrong."""

    RATE_LIMIT = "rate_limit"  # 429 with retry-after
    OVERLOADED = "overloaded"  # 529 (Anthropic) / 503 (OpenAI)
    SERVER_ERROR = "server_error"  # 500
    HANG = "hang"  # no answer until `hang_seconds` pass (or the server stops), then close
    TRUNCATED = "truncated"  # 200 whose body is cut short of its Content-Length, then close
    EMPTY = "empty"  # 200 with no content
    MALFORMED = "malformed"  # 200 whose body is not JSON
    AUTH = "auth"  # 401
    NOT_FOUND = "not_found"  # 404: model not found
    QUOTA = "quota"  # out of credit: Anthropic 400 "credit balance", OpenAI 429 insufficient_quota


@dataclass(frozen=True)
class FakeCall:
    """One request as the server saw it. Secret header values are replaced by "<redacted>";
    `authorized` says whether they carried the server's `api_key` (always True without one)."""

    api: Api
    model: str
    system: str
    messages: list[tuple[str, str]]
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    headers: dict[str, str]
    body: dict[str, Any]
    fault: Fault | None = None
    authorized: bool = True


@dataclass(frozen=True)
class FakeReply:
    """What to answer. `stop_reason` is the wire value (default "end_turn" / "stop");
    token counts default to word counts."""

    text: str
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


Responder = Callable[[FakeCall], "str | FakeReply"]


def echo_responder(call: FakeCall) -> str:
    """The default answer: names the model and repeats the last message."""
    last = call.messages[-1][1] if call.messages else ""
    return f"{call.model} says: {last}"


@dataclass
class _Script:
    fault: Fault
    retry_after: float


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[FakeCall] = field(default_factory=list)
    requests: int = 0
    script: deque[_Script] = field(default_factory=deque)
    seen: dict[str, int] = field(default_factory=dict)
    connections: set[socket.socket] = field(default_factory=set)


class FakeLLMServer:
    """The server. Use as a context manager, or call `start()` and `stop()`.

    With `stable_faults`, whether a request fails (and how) is drawn from `seed`, a digest of
    its body and how many times that body came before, not from the order of arrival: a
    search whose requests race each other meets the same faults on every run.
    """

    def __init__(
        self,
        responder: Responder = echo_responder,
        *,
        latency: float = 0.0,
        api_key: str | None = None,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[Fault] = (Fault.RATE_LIMIT, Fault.OVERLOADED, Fault.SERVER_ERROR),
        seed: int = 0,
        retry_after: float = 0.05,
        hang_seconds: float = 5.0,
        stable_faults: bool = False,
    ) -> None:
        self.responder = responder
        self.latency = latency
        self.api_key = api_key
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.stable_faults = stable_faults
        self._seed = seed
        self._rng = random.Random(seed)
        self._state = _State()
        self._stopping = threading.Event()
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url_anthropic(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url_openai(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections; returns within about a second."""
        self._stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        with self._state.lock:
            connections = list(self._state.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=1.0)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- faults and records ----------------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1, retry_after: float | None = None) -> None:
        """Serve `fault` to the next `times` requests (after any already scripted)."""
        wait = self.retry_after if retry_after is None else retry_after
        with self._state.lock:
            self._state.script.extend(_Script(fault, wait) for _ in range(times))

    @property
    def calls(self) -> list[FakeCall]:
        """Every request recorded so far (a copy)."""
        with self._state.lock:
            return list(self._state.calls)

    @property
    def request_count(self) -> int:
        """HTTP requests received, including ones answered with a fault."""
        with self._state.lock:
            return self._state.requests

    def _next_fault(self, body: bytes) -> _Script | None:
        with self._state.lock:
            self._state.requests += 1
            if self._state.script:
                return self._state.script.popleft()
            rng = self._rng
            if self.stable_faults:
                digest = hashlib.sha256(body).hexdigest()
                seen = self._state.seen.get(digest, 0)
                self._state.seen[digest] = seen + 1
                rng = random.Random(f"{self._seed}:{digest}:{seen}")
            if self.fault_kinds and rng.random() < self.fault_rate:
                return _Script(rng.choice(self.fault_kinds), self.retry_after)
            return None

    def _record(self, call: FakeCall) -> None:
        with self._state.lock:
            self._state.calls.append(call)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, owner: FakeLLMServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (e.g. after its timeout) is expected; anything else is not."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30.0
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle adds ~40 ms a reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.owner._state.lock:
            self.server.owner._state.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.owner._state.lock:
            self.server.owner._state.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Never log: a request line or header could carry a key."""

    def do_POST(self) -> None:
        owner = self.server.owner
        api = _ROUTES.get(self.path.split("?")[0])
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if api is None:
            self._json(404, {"error": {"type": "not_found_error", "message": "no such path"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._json(400, _error_body(api, 400, "invalid_request_error", "body is not JSON"))
            return
        script = owner._next_fault(raw)
        authorized = self._authorized(api)
        call = _parse_call(api, body, self.headers.items(), script.fault if script else None,
                           authorized)
        owner._record(call)
        if owner.latency and owner._stopping.wait(owner.latency):
            self.close_connection = True
            return
        if not authorized:
            self._fault(call, _Script(Fault.AUTH, 0.0))
        elif script is not None:
            self._fault(call, script)
        elif api == "anthropic" and {"temperature", "top_p", "top_k"} & body.keys():
            message = "temperature, top_p and top_k are not supported on this API version"
            self._json(400, _error_body(api, 400, "invalid_request_error", message))
        else:
            try:
                answer = owner.responder(call)
            except Exception as exc:  # a test's responder is broken: say so in the reply
                self._json(500, _error_body(api, 500, "api_error", f"responder failed: {exc!r}"))
                return
            reply = FakeReply(answer) if isinstance(answer, str) else answer
            self._json(200, _success_body(call, reply))

    def _authorized(self, api: Api) -> bool:
        key = self.server.owner.api_key
        if key is None:
            return True
        if self.headers.get("Authorization") == f"Bearer {key}":
            return True
        return api == "anthropic" and self.headers.get("x-api-key") == key

    def _json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, call: FakeCall, script: _Script) -> None:
        api, fault = call.api, script.fault
        if fault is Fault.HANG:
            self.server.owner._stopping.wait(self.server.owner.hang_seconds)
            self.close_connection = True
        elif fault is Fault.TRUNCATED:
            data = json.dumps(_success_body(call, FakeReply("this reply is cut off"))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif fault is Fault.MALFORMED:
            data = b'{"id": "msg_1", "content": [{"type": "text", "te'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif fault is Fault.EMPTY:
            body = _success_body(call, FakeReply("", output_tokens=0))
            if api == "anthropic":
                body["content"] = []
            else:
                body["choices"][0]["message"]["content"] = None
            self._json(200, body)
        elif fault is Fault.RATE_LIMIT:
            headers = {"retry-after": f"{script.retry_after:g}"}
            if api == "openai":
                headers["retry-after-ms"] = f"{script.retry_after * 1000:g}"
            self._json(429, _error_body(api, 429, "rate_limit_error", "rate limited"), headers)
        else:
            status, kind, message = _ERRORS[api, fault]
            self._json(status, _error_body(api, status, kind, message.format(model=call.model)))


_ERRORS: dict[tuple[Api, Fault], tuple[int, str, str]] = {
    ("anthropic", Fault.OVERLOADED): (529, "overloaded_error", "Overloaded"),
    ("openai", Fault.OVERLOADED): (503, "server_overloaded", "The server is overloaded"),
    ("anthropic", Fault.SERVER_ERROR): (500, "api_error", "Internal server error"),
    ("openai", Fault.SERVER_ERROR): (500, "server_error", "Internal server error"),
    ("anthropic", Fault.AUTH): (401, "authentication_error", "invalid x-api-key"),
    ("openai", Fault.AUTH): (401, "invalid_api_key", "Incorrect API key provided"),
    ("anthropic", Fault.NOT_FOUND): (404, "not_found_error", "model: {model}"),
    ("openai", Fault.NOT_FOUND): (404, "model_not_found", "The model `{model}` does not exist"),
    ("anthropic", Fault.QUOTA): (
        400,
        "invalid_request_error",
        "Your credit balance is too low to access the Anthropic API. "
        "Please go to Plans & Billing to upgrade or purchase credits.",
    ),
    ("openai", Fault.QUOTA): (429, "insufficient_quota", "You exceeded your current quota"),
}


def _error_body(api: Api, status: int, kind: str, message: str) -> dict[str, Any]:
    if api == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": kind, "param": None}}


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _parse_call(
    api: Api, body: dict[str, Any], headers: Iterable[tuple[str, str]], fault: Fault | None,
    authorized: bool,
) -> FakeCall:
    turns = [(str(m.get("role")), _text(m.get("content"))) for m in body.get("messages", [])]
    if api == "anthropic":
        system = _text(body.get("system", ""))
    else:
        system = "".join(text for role, text in turns if role == "system")
        turns = [turn for turn in turns if turn[0] != "system"]
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    return FakeCall(
        api=api,
        model=str(body.get("model", "")),
        system=system,
        messages=turns,
        max_tokens=max_tokens if isinstance(max_tokens, int) else None,
        temperature=_number(body.get("temperature")),
        top_p=_number(body.get("top_p")),
        headers={
            name.lower(): "<redacted>" if name.lower() in _SECRET_HEADERS else value
            for name, value in headers
        },
        body=body,
        fault=fault,
        authorized=authorized,
    )


def _success_body(call: FakeCall, reply: FakeReply) -> dict[str, Any]:
    words_in = len(call.system.split()) + sum(len(text.split()) for _, text in call.messages)
    input_tokens = words_in if reply.input_tokens is None else reply.input_tokens
    output_tokens = len(reply.text.split()) if reply.output_tokens is None else reply.output_tokens
    if call.api == "anthropic":
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": [{"type": "text", "text": reply.text}],
            "stop_reason": reply.stop_reason or "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cache_read_input_tokens": reply.cache_read_input_tokens,
                "cache_creation_input_tokens": reply.cache_creation_input_tokens,
            },
        }
    prompt_tokens = input_tokens + reply.cache_read_input_tokens
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": call.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": reply.stop_reason or "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": prompt_tokens + output_tokens,
            "prompt_tokens_details": {"cached_tokens": reply.cache_read_input_tokens},
        },
    }
