"""The LSP protocol: reading messages off the stream, and pygls 2.1.1 failures guarded.

`read_messages` replaces pygls's reading loop (`pygls.io_.run_async`):

- Framing. Header names are matched case-insensitively and LF line ends are accepted. A
  header block without a usable Content-Length (missing, not a number, over
  `MAX_CONTENT_LENGTH`) is skipped up to the next line that ends with a valid Content-Length
  header, even one glued to the end of other bytes, as happens after a wrong length: JSON
  text cannot end a line that way, so the reader is back in step at the next message. (pygls
  stayed out of step for good after one wrong length, and with a length of 10^15 its stdin
  reader failed with MemoryError.) When the stream ends inside a body, reading ends.
- Bodies that are not UTF-8 JSON get a ParseError, and JSON that is not a request, a
  notification or a response an InvalidRequest, with id null when no valid id can be read
  (pygls answered neither and showed the user "Error in server").
- Only the message itself is structured: pygls ran the structure hook on every nested
  object, so an object in params that looked like a message was read as one.
- A notification's method sent with an id gets InvalidRequest and is not run (pygls ran it
  and never answered; `exit` with an id made it exit); a request's method sent without an
  id is ignored (pygls ran `shutdown`, `initialize` or `plansearch/generate` with nobody to
  answer). An unknown method gets MethodNotFound before its params are looked at.
- A second `initialize` gets InvalidRequest (pygls built a new workspace, which dropped
  every open document); a request before `initialize` gets ServerNotInitialized and one
  after `shutdown` InvalidRequest, as the specification asks (pygls answered neither).

Guarded in pygls's handling:

- A reply from the client to a request the server no longer waits for (the request that
  asked was cancelled while it awaited, e.g., `window/workDoneProgress/create`) made pygls
  set a result on a cancelled future and report "Error in server"; it is now dropped.
- A request whose params do not match the LSP types got no response at all, leaving the
  client waiting; it now gets an InvalidParams error that says which field is wrong.
- `textDocument/didChange` is applied as LSP counts lines and columns (`documents.
  apply_change`): pygls split lines with `str.splitlines`, which also breaks at form feeds,
  U+2028 and other characters Python source may contain, so an edit below one landed on the
  wrong line; and a position past the end of a line could put text after its line break.

Every text the server sends a person (`window/showMessage`, `window/showMessageRequest`,
`window/logMessage`, progress messages, error responses) passes through `say`, which puts it
in the words of the client's user (see `wording.Audience`); the server sets it once it knows
its client.

`converter` also keeps the params of the server's own methods as plain JSON (pygls turns
them into namedtuples, renaming keys), for the handlers to validate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import unquote

import attrs
import cattrs
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    MsgId,
    RPCMessage,
)
from pygls.protocol.language_server import lsp_method

from .documents import apply_change, file_name
from .wire import APPLY, GENERATE, PREVIEW, SET_API_KEY
from .wording import editor_words

if TYPE_CHECKING:
    import threading

    from pygls.io_ import AsyncReader

logger = logging.getLogger("plansearch_lsp")
MAX_CONTENT_LENGTH = 256 * 2**20
"""Longer messages are refused (their header is skipped): far above any document an editor
sends a language server, and a wrong length must not allocate gigabytes."""
_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?\n\Z", re.IGNORECASE)
_NOTIFICATIONS = frozenset(
    {method for method, kinds in types.METHOD_TO_TYPES.items() if kinds[1] is None}
    | {SET_API_KEY})
_REQUESTS = frozenset(
    {method for method, kinds in types.METHOD_TO_TYPES.items() if kinds[1] is not None}
    | {GENERATE, APPLY, PREVIEW})


def converter() -> cattrs.Converter:
    """lsprotocol's converter; untyped params and results stay plain JSON (pygls's own
    converter turns them into namedtuples). Strings and integers are taken only as such:
    cattrs made `"text": null` of a change the text "None", and `"line": 1.5` line 1; and an
    id or a progress token that is a list made pygls fail (it is unhashable)."""
    result = get_converter()
    for message in (JsonRPCRequestMessage, JsonRPCNotification, JsonRPCResponseMessage):
        result.register_structure_hook(message, _as_is)
    result.register_structure_hook(str, _string)
    result.register_structure_hook(int, _integer)
    result.register_structure_hook(bool, _boolean)
    # ids and progress tokens: lsprotocol took any JSON value, and a list was unhashable
    result.register_structure_hook(Union[int, str], _integer_or_string)  # noqa: UP007
    result.register_structure_hook(Optional[Union[int, str]], _optional_id)  # noqa: UP007, UP045
    return result


def _as_is(data: dict[str, Any], cls: type[Any]) -> Any:
    return cls(**data)


def _string(value: object, cls: type[str]) -> str:
    """A string, or a member of an enumeration of strings (`cls`)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_kind(value)}")
    return cls(value)


def _integer(value: object, cls: type[int]) -> int:
    """An integer, or a member of an enumeration of integers (`cls`)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {_kind(value)}")
    return cls(value)


def _integer_or_string(value: object, _: object) -> int | str:
    if isinstance(value, str):
        return value
    return _integer(value, int)


def _optional_id(value: object, _: object) -> int | str | None:
    return None if value is None else _integer_or_string(value, None)


def _boolean(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_kind(value)}")
    return value


async def read_messages(
    reader: AsyncReader, protocol: LanguageServerProtocol, stop: threading.Event
) -> None:
    """Hand every message from `reader` to `protocol` (a `PlanSearchProtocol`) until the
    stream ends or `stop` is set."""
    assert isinstance(protocol, PlanSearchProtocol)
    while not stop.is_set():
        length = await _content_length(reader)
        if length is None:
            return
        try:
            body = await reader.readexactly(length)
        except asyncio.IncompleteReadError as error:
            body = error.partial
        if len(body) < length:
            logger.warning("the stream ended inside a message (%d of %d bytes)",
                           len(body), length)
            return
        protocol.receive(body)


async def _content_length(reader: AsyncReader) -> int | None:
    """The Content-Length of the next message, or None at the end of the stream; whatever
    cannot start a message is skipped."""
    length: int | None = None
    skipped = 0
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # longer than an asyncio stream's line limit: not a header
            skipped += 1
            length = None
            continue
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            if length is not None:
                if skipped:
                    logger.warning("skipped %d bytes that were not a message", skipped)
                return length
            skipped += len(line)
            continue
        match = _LENGTH.search(line)
        if match is None:
            if b":" not in line:
                skipped += len(line)  # not a header field; others (Content-Type) are ignored
            continue
        skipped += match.start()
        value = match.group(1)
        length = int(value) if value.isdigit() and len(value) < 13 else None
        if length is None or length > MAX_CONTENT_LENGTH:
            logger.warning("ignored a message header with Content-Length %r",
                           value[:40].decode("ascii", "replace"))
            length = None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _Answered:
    """Stands for a message already answered (with an error) while it was read."""

    jsonrpc = "answered"


class PlanSearchProtocol(LanguageServerProtocol):
    """`LanguageServerProtocol` with the checks and guards above."""

    say: Callable[[str], str] = staticmethod(editor_words)
    """Puts a text for a person in the words of the client's user (set per client)."""

    def notify(self, method: str, params: Any | None = None) -> None:
        """Send a notification; a message for a person in the client's words."""
        if method in (types.WINDOW_SHOW_MESSAGE, types.WINDOW_LOG_MESSAGE) and isinstance(
            params, types.ShowMessageParams | types.LogMessageParams
        ):
            params = attrs.evolve(params, message=self.say(params.message))
        elif method == types.PROGRESS and isinstance(params, types.ProgressParams):
            params = attrs.evolve(params, value=self._worded_progress(params.value))
        super().notify(method, params)

    def send_request(
        self, method: str, params: Any | None = None,
        callback: Callable[[Any], None] | None = None, msg_id: MsgId | None = None,
    ) -> Any:
        """Send a request; a question for a person in the client's words."""
        if method == types.WINDOW_SHOW_MESSAGE_REQUEST and isinstance(
            params, types.ShowMessageRequestParams
        ):
            params = attrs.evolve(params, message=self.say(params.message))
        return super().send_request(method, params, callback, msg_id)

    def _send_response(
        self, msg_id: MsgId, result: Any | None = None, error: Any | None = None
    ) -> None:
        """Send a response; an error's message in the client's words."""
        if isinstance(error, types.ResponseError):
            error = attrs.evolve(error, message=self.say(error.message))
        super()._send_response(msg_id, result, error)

    def _worded_progress(self, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("message"), str):
            return {**value, "message": self.say(value["message"])}
        message = getattr(value, "message", None)
        if isinstance(message, str) and attrs.has(type(value)):
            return attrs.evolve(value, message=self.say(message))
        return value

    def receive(self, body: bytes) -> None:
        """Handle one message: answer what is not JSON-RPC, hand the rest to pygls."""
        try:
            data = json.loads(body.decode("utf-8"), parse_constant=_not_json)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            logger.warning("a message is not JSON: %s", str(error)[:200])
            self._send_error(None, JsonRpcParseError(f"Parse error: {str(error)[:200]}"))
            return
        if not self._acceptable(data):
            return
        try:
            self.handle_message(self.structure_message(data))
        except Exception:
            logger.exception("cannot handle a %s message", data.get("method", "response"))

    def _acceptable(self, data: object) -> bool:
        """Whether `data` is a message for pygls; those that are not are answered or
        logged."""
        if not isinstance(data, dict):
            return self._refuse(None, f"a message is a JSON object, not {_kind(data)}")
        msg_id = data.get("id")
        valid_id = isinstance(msg_id, int | str) and not isinstance(msg_id, bool)
        answer_to = msg_id if valid_id else None
        method = data.get("method")
        if "method" not in data:
            if "result" not in data and "error" not in data:
                return self._refuse(answer_to, "a message needs a method, a result or an error")
            if valid_id and data.get("jsonrpc") == "2.0":
                return True  # the client's answer to a request of the server's
            logger.warning("ignored a malformed response: %.200s", json.dumps(data))
            return False
        if data.get("jsonrpc") != "2.0":
            return self._refuse(answer_to, 'a message needs "jsonrpc": "2.0"')
        if not isinstance(method, str):
            return self._refuse(answer_to, f"a method is a string, not {_kind(method)}")
        if "id" not in data:
            return self._notification_wanted(method)
        if not valid_id:
            return self._refuse(None, f"a request id is an integer or a string, not "
                                      f"{_kind(msg_id)}")
        problem = self._request_problem(method)
        if problem is not None:
            self._send_error(msg_id, problem)
            return False
        return True

    def _notification_wanted(self, method: str) -> bool:
        if method in _REQUESTS:
            logger.warning("ignored %s sent without an id: it is a request", method[:100])
            return False
        if self._workspace is None and method != types.EXIT:
            logger.warning("ignored %s: it came before initialize", method[:100])
            return False
        return True

    def _request_problem(self, method: str) -> JsonRpcException | None:
        if method in _NOTIFICATIONS:
            return JsonRpcInvalidRequest(f"{method} is a notification: it takes no id")
        if method == types.INITIALIZE:
            if self._workspace is not None:
                return JsonRpcInvalidRequest("initialize was already sent")
            return None
        if self._workspace is None:
            return JsonRpcServerNotInitialized("the server has not been initialized")
        if self._shutdown:
            return JsonRpcInvalidRequest("the server is shutting down")
        if method not in self.fm.builtin_features and method not in self.fm.features:
            return JsonRpcMethodNotFound(f"Method Not Found: {method}")
        return None

    def _refuse(self, msg_id: MsgId | None, reason: str) -> bool:
        logger.warning("invalid message: %s", reason)
        self._send_error(msg_id, JsonRpcInvalidRequest(f"Invalid request: {reason}"))
        return False

    def _send_error(self, msg_id: MsgId | None, error: JsonRpcException) -> None:
        """An error response; with `"id": null` when `msg_id` is None (pygls would leave the
        id out)."""
        self._send_data({"jsonrpc": "2.0", "id": msg_id,
                         "error": {"code": error.code, "message": error.message}})

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            method = data.get("method", "?")
            detail = _detail(error.__cause__)
            if "id" in data and "method" in data:
                reply = JsonRpcInvalidParams(f"Invalid params for {method}: {detail}")
                self._send_response(data["id"], error=reply.to_response_error())
            else:
                logger.warning("ignored a malformed %s notification: %s", method, detail)
            return _Answered()

    def handle_message(self, message: RPCMessage) -> None:
        if isinstance(message, _Answered):
            return
        super().handle_message(message)

    def _handle_response(
        self, msg_id: MsgId, result: Any | None = None, error: Any | None = None
    ) -> None:
        future = self._request_futures.get(msg_id)
        if future is not None and future.done():
            self._request_futures.pop(msg_id, None)
            logger.debug("dropped the client's reply to %s: nobody waits for it", msg_id)
            return
        super()._handle_response(msg_id, result, error)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Apply the changes to the open document, as LSP counts lines and columns."""
        uri = params.text_document.uri
        document = self.workspace.text_documents.get(unquote(uri))
        if document is None:
            logger.warning("ignored a change to %s: it is not open", file_name(uri))
            return
        text = document.source
        for change in params.content_changes:
            text = apply_change(text, change, document.position_codec.client_num_units)
        document.apply_change(types.TextDocumentContentChangeWholeDocument(text=text))
        document.version = params.text_document.version
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _detail(cause: BaseException | None) -> str:
    if isinstance(cause, cattrs.ClassValidationError):
        return "; ".join(cattrs.transform_error(cause))
    return str(cause) if cause else "they do not match the method's parameter types"
