"""The LSP protocol with two pygls 2.1.1 failures guarded.

- A reply from the client to a request the server no longer waits for (the request that
  asked was cancelled while it awaited, e.g., `window/workDoneProgress/create`) made pygls
  set a result on a cancelled future and report "Error in server"; it is now dropped.
- A request whose params do not match the LSP types got no response at all, leaving the
  client waiting; it now gets an InvalidParams error that says which field is wrong.

`converter` also keeps the params of the server's own methods as plain JSON (pygls turns
them into namedtuples, renaming keys), for the handlers to validate.
"""

from __future__ import annotations

import logging
from typing import Any

import cattrs
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    MsgId,
    RPCMessage,
)

logger = logging.getLogger("plansearch_lsp")


def converter() -> cattrs.Converter:
    """lsprotocol's converter; untyped params and results stay plain JSON (pygls's own
    converter turns them into namedtuples)."""
    result = get_converter()
    for message in (JsonRPCRequestMessage, JsonRPCNotification, JsonRPCResponseMessage):
        result.register_structure_hook(message, _as_is)
    return result


def _as_is(data: dict[str, Any], cls: type[Any]) -> Any:
    return cls(**data)


class _Answered:
    """Stands for a message already answered (with an error) while it was read."""

    jsonrpc = "answered"


class PlanSearchProtocol(LanguageServerProtocol):
    """`LanguageServerProtocol` with the guards above."""

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


def _detail(cause: BaseException | None) -> str:
    if isinstance(cause, cattrs.ClassValidationError):
        return "; ".join(cattrs.transform_error(cause))
    return str(cause) if cause else "they do not match the method's parameter types"
