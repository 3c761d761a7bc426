"""`plansearch serve` (and `python -m plansearch_lsp`): run the language server.

Over stdio by default, or over TCP with ``--tcp HOST:PORT``. ``--stdio``, which
vscode-languageclient appends, is accepted and changes nothing. On stdio the protocol gets
the real standard output to itself: anything else printed goes to standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when serving, so that `plansearch --help` stays fast
    from .server import PlanSearchServer

DESCRIPTION = "Run the PlanSearch language server (stdio unless --tcp is given)."


def add_serve_parser(commands: Any) -> None:
    """Add `serve` to the subcommands of `plansearch` (an argparse subparsers object)."""
    serve = commands.add_parser("serve", help="run the language server",
                                description=DESCRIPTION)
    _add_arguments(serve)


def run_serve(args: argparse.Namespace) -> int:
    """Serve until the client leaves; returns the exit code."""
    from .server import build_server

    server = build_server(Path(args.log_file).expanduser() if args.log_file else None)
    try:
        if args.tcp:
            host, port = _address(args.tcp)
            asyncio.run(_serve_tcp(server, host, port))
        else:
            _serve_stdio(server)
    except SystemExit as exit_:  # `exit` from the client ends the loop this way
        return exit_.code if isinstance(exit_.code, int) else 0
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m plansearch_lsp [--tcp HOST:PORT] [--log-file FILE]`."""
    parser = argparse.ArgumentParser(prog="plansearch_lsp", description=DESCRIPTION)
    _add_arguments(parser)
    return run_serve(parser.parse_args(argv))


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument("--stdio", action="store_true",
                           help="talk over standard input/output (the default)")
    transport.add_argument("--tcp", metavar="HOST:PORT",
                           help="listen on HOST:PORT for one client (port 0: any free port)")
    parser.add_argument("--log-file", metavar="FILE",
                        help="log file (default: lsp.log in the user log directory)")


def _address(text: str) -> tuple[str, int]:
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit():
        raise SystemExit(f"plansearch serve: --tcp wants HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _serve_stdio(server: PlanSearchServer) -> None:
    from pygls.io_ import StdinAsyncReader, StdoutWriter

    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt LSP
    sys.stdout = sys.stderr
    server.protocol.set_writer(StdoutWriter(protocol_out))
    asyncio.run(server.serve(StdinAsyncReader(sys.stdin.buffer, server.thread_pool)))


async def _serve_tcp(server: PlanSearchServer, host: str, port: int) -> None:
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if finished.done() or server.protocol.writer is not None:
            writer.close()  # one client per server
            return
        server.protocol.set_writer(writer)
        try:
            await server.serve(reader)
        finally:
            with contextlib.suppress(OSError):
                writer.close()
            if not finished.done():
                finished.set_result(None)

    listener = await asyncio.start_server(connection, host, port)
    address = listener.sockets[0].getsockname()
    print(f"plansearch: language server listening on {address[0]}:{address[1]}",
          file=sys.stderr, flush=True)
    async with listener:
        await finished
