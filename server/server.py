"""The PlanSearch language server: every LSP feature is registered here, in one place.

The handlers are thin: they call into the modules that do one job each (code actions,
searches, applying, hover, the test watcher), and those call the engine. Each handler
gathers from the server the services its feature uses and passes them in; no feature
module sees the server object.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from plansearch import __version__
from plansearch.models.registry import import_sdk
from plansearch.store import RunStore
from plansearch.testsources.collect import find_workspace
from plansearch.workbench import Workbench

from . import apply, code_actions, hover, logs, plain_client, searches
from .documents import DocumentCache, document_path
from .engine import EngineThread
from .lifeline import process_alive, watch_process
from .options import DEFAULT_COMMAND, Options, parse_options
from .progress import creates_tokens
from .protocol import PlanSearchProtocol, converter, read_messages
from .secrets import KeyStore, parse_set_key
from .watcher import TestWatcher
from .wire import APPLY, GENERATE, PREVIEW, SET_API_KEY
from .wording import Audience

if TYPE_CHECKING:
    from pygls.io_ import AsyncReader

logger = logging.getLogger("plansearch_lsp")
SECTION = "plansearch"
_SHUTDOWN_GRACE = 5.0
"""Seconds running searches get to stop when the server shuts down."""
_CLOSE_TIMEOUT = 10.0
"""Seconds the executors get to stop their worker processes when the server shuts down."""


class _Nowhere:
    """Where the server's messages go once the client is gone."""

    def write(self, data: bytes) -> None:
        """Drop `data`."""

    def close(self) -> None:
        """Nothing to close."""


class PlanSearchServer(LanguageServer):
    """The server's state: settings, keys, documents, searches, executors, run stores.

    Making one starts nothing: the engine's thread starts when `serve` does, the test
    watcher once the settings are read."""

    def __init__(self, log_file: Path | None = None) -> None:
        super().__init__("plansearch", __version__, protocol_cls=PlanSearchProtocol,
                         converter_factory=converter)
        self.keys = KeyStore()
        self.options = Options()
        self.initialization_options: object = None
        """The `initializationOptions` of `initialize`: the settings, before any pulled."""
        self.documents = DocumentCache()
        self.searches = searches.SearchRegistry()
        self.engine = EngineThread()
        self.workbench = Workbench({}, keys=self.keys)
        """Searches, re-runs and what they share; used on the engine loop (stores too)."""
        self.watcher = TestWatcher(
            engine=self.engine, workbench=self.workbench, store_for=self.store_for,
            notify=self.protocol.notify, watch_tests=self._watches_tests)
        self.configured = asyncio.Event()
        """Set once the client's settings are read (after `initialized`)."""
        self.announcement: asyncio.Task[None] | None = None
        """Saying at start-up how candidates are isolated (kept so that it is not collected)."""
        self.log_handler = logs.configure(self.window_log_message, self.keys, log_file)
        self.log_path = log_file or logs.default_log_path()
        self.client_name: str | None = None
        """The client's name in `initialize` (`clientInfo`)."""
        self.audience = Audience(log_file=str(self.log_path))
        """Who reads the messages; known from `initialize`, then from the settings."""
        self._closed = False
        self._reading: asyncio.Future[None] | None = None
        self._gone = False
        self.watch_editor_process = False
        """Exit when the editor's process (`processId` of `initialize`) ends: set when the
        editor started this server (stdio), not for a client that connected over TCP."""
        self._editor_watch: asyncio.Task[None] | None = None

    # -- services the features use ----------------------------------------------------------

    def workspace_root(self) -> Path | None:
        """The client's root folder (None before `initialize` or without one)."""
        try:
            root = self.workspace.root_path
        except RuntimeError:
            return None
        return Path(root) if root else None

    def workspace_for(self, path: Path | None) -> Path | None:
        """The project a file belongs to, by the same rule as the command line (its tests
        and its run store live there); the client's root folder for a document without a
        file."""
        return find_workspace(path) if path is not None else self.workspace_root()

    def store_for(self, workspace: Path | None, *, create: bool = True) -> RunStore | None:
        """The run store of a workspace (see `Workbench.store_for`)."""
        return self.workbench.store_for(workspace, create=create)

    def existing_store_of(self, document: TextDocument) -> RunStore | None:
        """The run store of the document's project, if it has one (none is made)."""
        return self.store_for(self.workspace_for(document_path(document)), create=False)

    def search_services(self) -> searches.SearchServices:
        """What starting a search takes (after `initialize`: the client's documents and
        capabilities are known then)."""
        return searches.SearchServices(
            documents=self.workspace, analyses=self.documents, registry=self.searches,
            engine=self.engine, workbench=self.workbench, configured=self.configured,
            project_of=self.workspace_for, progress=self.work_done_progress,
            creates_progress=creates_tokens(self.client_capabilities),
            send_progress=self.progress, say=self.audience.say)

    def apply_services(self) -> apply.ApplyServices:
        """What applying a candidate takes (after `initialize`)."""
        return apply.ApplyServices(
            documents=self.workspace, send_edit=self.workspace_apply_edit_async,
            versioned_edits=apply.takes_versioned_edits(self.client_capabilities),
            store_for=self.store_for)

    def _watches_tests(self) -> bool:
        return self.options.server.watch_tests

    def know_audience(self, *, extension: bool) -> None:
        """Speak to the client's user in their words from now on (see `wording.Audience`):
        `extension` when the PlanSearch extension runs in the editor."""
        self.audience = Audience.of(self.client_name, extension=extension,
                                    log_file=str(self.log_path))
        assert isinstance(self.protocol, PlanSearchProtocol)
        self.protocol.say = self.audience.say

    # -- configuration -------------------------------------------------------------------

    def use_options(self, pulled: object = None) -> None:
        """Take the client's settings (initialization options, then `pulled` on top)."""
        raw: object = self.initialization_options
        if isinstance(raw, dict) and isinstance(pulled, dict):
            raw = {**raw, **pulled}
        elif pulled is not None:
            raw = pulled
        self.options, messages = parse_options(raw)
        self.know_audience(extension=_has_extension(self.options))
        self.workbench.reconfigure(self.options.settings, store_path=self.options.server.store_path)
        if messages:
            text = "PlanSearch settings: " + "; ".join(messages)
            logger.warning("%s", text)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning,
                                                             message=text))

    async def pull_options(self) -> None:
        """Read the `plansearch` section with `workspace/configuration`, if supported."""
        workspace = self.client_capabilities.workspace
        if not (workspace and workspace.configuration):
            self.use_options()
            return
        try:
            (section,) = await self.workspace_configuration_async(types.ConfigurationParams(
                items=[types.ConfigurationItem(section=SECTION)]))
        except Exception as error:  # an error reply, or not one section: keep what we have
            logger.warning("cannot read the settings from the client: %s", error)
            section = None
        self.use_options(section)
        root = self.workspace_root()
        if root is not None and self.options.server.watch_tests:
            self.watcher.start(root)

    # -- lifecycle ------------------------------------------------------------------------

    def watch_editor(self, pid: int) -> None:
        """Exit when the editor's process `pid` ends (as the protocol asks), if this server
        watches its editor and `pid` is a live process here (a client may name a process
        of another machine or container)."""
        if self.watch_editor_process and self._editor_watch is None and process_alive(pid):
            self._editor_watch = asyncio.ensure_future(watch_process(pid, self.client_gone))

    async def close(self) -> None:
        """Stop searches, the watcher and every worker process; close the stores."""
        if self._closed:
            return
        self._closed = True
        if self._editor_watch is not None:
            self._editor_watch.cancel()
        running = self.searches.running()
        for job in running:
            job.cancel()
        if running:
            await asyncio.wait([job.task for job in running if job.task], timeout=_SHUTDOWN_GRACE)
        await self.watcher.stop()
        if self.engine.started:
            try:
                await asyncio.wait_for(self.engine.run(self.workbench.aclose()), _CLOSE_TIMEOUT)
            except TimeoutError:
                logger.error("the executors did not stop within %.0f s", _CLOSE_TIMEOUT)
        else:  # it never served: nothing ran on the engine loop
            await self.workbench.aclose()
        self.engine.stop()

    def client_gone(self, why: str) -> None:
        """The client cannot be reached any more (its connection ended without `exit`, or
        writing to it failed): drop every message for it, stop reading, and let `serve`
        stop the searches and end."""
        if self._gone:
            return
        self._gone = True
        self.protocol.set_writer(_Nowhere())
        if self._closed:  # after `shutdown`: nothing left to stop
            logger.info("the client closed the connection")
        else:
            searches = len(self.searches.running())
            logger.warning("the client is gone (%s); stopping %d search%s and exiting", why,
                           searches, "" if searches == 1 else "es")
        if self._reading is not None:
            self._reading.cancel()

    async def serve(self, reader: AsyncReader) -> None:
        """Start the engine, handle messages from `reader` until the client goes away, then
        clean up."""
        self.engine.start()
        self._stop_event = threading.Event()
        self._reading = asyncio.ensure_future(
            read_messages(reader, self.protocol, self._stop_event))
        try:
            await self._reading
            self.client_gone("its connection ended")
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            self.client_gone(f"its connection broke: {error}")
        except asyncio.CancelledError:
            if not self._gone:
                raise
        finally:
            await self.close()


def _has_extension(options: Options) -> bool:
    """Whether an editor extension drives this server: it runs its own command from the code
    action (the PlanSearch extension for VS Code does)."""
    return options.server.code_action_command != DEFAULT_COMMAND


def _import_provider(name: str) -> None:
    """Import a provider's SDK (a second or more) before the first search needs it, then
    freeze what is loaded by then, so that full garbage collections skip it (over 100 ms
    with the SDKs loaded, stopping every thread). In a daemon thread: an exit never waits
    for it."""
    import_sdk(name)
    gc.freeze()


async def _announce_sandbox(requested: str) -> None:
    """Say in the start-up log how candidates will be isolated, and in plain words which
    protections are off (probing starts a sandbox once, off the event loop)."""
    from plansearch.execution.sandbox import SandboxUnavailable, detect_isolation

    try:
        report = await asyncio.to_thread(detect_isolation, requested)  # type: ignore[arg-type]
    except SandboxUnavailable as error:
        logger.warning("candidates cannot run: %s", error)
        return
    logger.info("candidates run at sandbox level %s", report.level)
    off = report.protections_off
    if off:
        text = (
            f"PlanSearch runs candidate code without a full sandbox ({report.level}): "
            f"{'; '.join(off)}. Install bubblewrap (apt install bubblewrap) to close this."
        )
        logger.warning("%s", text)


def build_server(log_file: Path | None = None) -> PlanSearchServer:
    """A server with every feature registered."""
    server = PlanSearchServer(log_file)

    @server.feature(types.INITIALIZE)
    def initialize(ls: PlanSearchServer, params: types.InitializeParams) -> None:
        ls.log_handler.attach(asyncio.get_running_loop())
        ls.initialization_options = params.initialization_options
        ls.client_name = params.client_info.name if params.client_info else None
        ls.know_audience(extension=_has_extension(parse_options(
            params.initialization_options)[0]))
        if params.process_id is not None:
            ls.watch_editor(params.process_id)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: PlanSearchServer, params: types.InitializedParams) -> None:
        await ls.pull_options()
        ls.configured.set()
        provider = ls.options.settings.get("provider", "anthropic")
        threading.Thread(target=_import_provider, args=(provider,), daemon=True).start()
        logger.info("PlanSearch language server %s ready", __version__)
        if ls.options.settings.get("run_tests", True):
            isolation = str(ls.options.settings.get("isolation", "auto"))
            ls.announcement = asyncio.create_task(_announce_sandbox(isolation))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def configuration_changed(
        ls: PlanSearchServer, params: types.DidChangeConfigurationParams
    ) -> None:
        workspace = ls.client_capabilities.workspace
        if workspace and workspace.configuration:
            await ls.pull_options()
        elif isinstance(params.settings, dict):
            ls.use_options(params.settings.get(SECTION))

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: PlanSearchServer, params: None) -> None:
        await ls.close()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def closed(ls: PlanSearchServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.forget(params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[code_actions.KIND]),
    )
    def code_action(
        ls: PlanSearchServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        return code_actions.code_actions(
            ls.workspace, ls.documents, params, command=ls.options.server.code_action_command,
            shows_disabled=code_actions.shows_disabled_actions(ls.client_capabilities))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: PlanSearchServer, params: types.HoverParams) -> types.Hover | None:
        return hover.hover(
            ls.workspace, ls.documents, params, store_of=ls.existing_store_of,
            markdown=hover.wants_markdown(ls.client_capabilities))

    @server.feature(GENERATE)
    async def generate(ls: PlanSearchServer, params: Any) -> dict[str, object]:
        return await searches.generate(ls.search_services(), params)

    @server.feature(APPLY)
    async def apply_candidate(ls: PlanSearchServer, params: Any) -> dict[str, object]:
        return await apply.apply(params, ls.searches, ls.apply_services())

    @server.feature(PREVIEW)
    async def preview_candidate(ls: PlanSearchServer, params: Any) -> dict[str, object]:
        return await apply.preview(params, ls.searches)

    @server.command(plain_client.COMMAND)
    async def generate_command(ls: PlanSearchServer, *args: Any) -> dict[str, object] | None:
        return await plain_client.generate_command(
            args, searching=ls.search_services(), applying=ls.apply_services(),
            show=ls.window_show_message, ask=ls.window_show_message_request_async)

    @server.feature(SET_API_KEY)
    def set_api_key(ls: PlanSearchServer, params: Any) -> None:
        try:
            provider, key = parse_set_key(params)
        except ValueError as error:
            logger.warning("%s", error)
            return
        ls.keys.set(provider, key)
        logger.info("API key for %s %s", provider, "received" if key else "cleared")

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancelled(
        ls: PlanSearchServer, params: types.WorkDoneProgressCancelParams
    ) -> None:
        job = ls.searches.by_token(params.token)
        if job is not None:
            logger.info("search %s cancelled from its progress", job.id)
            job.cancel()

    return server
