"""The PlanSearch language server: every LSP feature is registered here, in one place.

The handlers are thin: they call into the modules that do one job each (code actions,
searches, applying, hover, the test watcher), and those call the engine.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from plansearch import __version__
from plansearch.config import Settings
from plansearch.models.factory import PROVIDERS
from plansearch.store import RunStore, StoreError, default_store_path
from plansearch.testsources.collect import find_workspace

from . import apply, code_actions, hover, logs, plain_client, searches
from .documents import DocumentCache, document_path
from .engine import EngineThread
from .executors import ExecutorPool
from .lifeline import process_alive, watch_process
from .options import Options, parse_options
from .protocol import PlanSearchProtocol, converter, read_messages
from .secrets import KeyStore, parse_set_key
from .watcher import TestWatcher
from .wire import APPLY, GENERATE, PREVIEW, SET_API_KEY

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
    """The server's state: settings, keys, documents, searches, executors, run stores."""

    def __init__(self, log_file: Path | None = None) -> None:
        super().__init__("plansearch", __version__, protocol_cls=PlanSearchProtocol,
                         converter_factory=converter)
        self.keys = KeyStore()
        self.options = Options()
        self.documents = DocumentCache()
        self.searches = searches.SearchRegistry()
        self.engine = EngineThread()
        self.executors = ExecutorPool()
        """Lives on the engine loop: lease only from coroutines running there."""
        self.watcher = TestWatcher(self)
        self.configured = asyncio.Event()
        self.announcement: asyncio.Task[None] | None = None
        """Saying at start-up how candidates are isolated (kept so that it is not collected)."""
        """Set once the client's settings are read (after `initialized`)."""
        self.log_handler = logs.configure(self.window_log_message, self.keys, log_file)
        self._initialization_options: object = None
        self._stores: dict[Path, RunStore] = {}
        self._failed_stores: set[Path] = set()
        self._closed = False
        self._reading: asyncio.Future[None] | None = None
        self._gone = False
        self.watch_editor_process = False
        """Exit when the editor's process (`processId` of `initialize`) ends: set when the
        editor started this server (stdio), not for a client that connected over TCP."""
        self._editor_watch: asyncio.Task[None] | None = None

    # -- services the features use ----------------------------------------------------------

    def settings(self, overrides: dict[str, Any], workspace: Path | None) -> Settings:
        """Search settings: the client's, then `overrides`, with the client's key if any.
        Raises pydantic's ValidationError for an invalid environment or config file."""
        values = {**self.options.settings, **overrides}
        tests_file = values.get("tests_file")
        if isinstance(tests_file, Path) and not tests_file.is_absolute() and workspace:
            values["tests_file"] = workspace / tests_file
        settings = Settings(**values)
        if settings.api_key is not None:  # from the environment or a config file
            self.keys.remember(settings.api_key)
        key = self.keys.get(settings.provider)
        return settings if key is None else settings.model_copy(update={"api_key": key})

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
        """The run store of a workspace (opened once); None when it cannot be used, or
        when there is none yet and `create` is false."""
        path = self.options.server.store_path or (
            default_store_path(workspace) if workspace else None)
        if path is None or path in self._failed_stores:
            return None
        store = self._stores.get(path)
        if store is None and not create and not path.exists():
            return None
        if store is None:
            try:
                store = self._stores[path] = RunStore(path)
            except StoreError as error:
                self._failed_stores.add(path)
                logger.warning("runs will not be kept (no hover over generated code): %s",
                               error)
                return None
        return store

    @staticmethod
    def path_of(document: TextDocument) -> Path | None:
        """The document's file, if it has one."""
        return document_path(document)

    # -- configuration -------------------------------------------------------------------

    def use_options(self, pulled: object = None) -> None:
        """Take the client's settings (initialization options, then `pulled` on top)."""
        raw: object = self._initialization_options
        if isinstance(raw, dict) and isinstance(pulled, dict):
            raw = {**raw, **pulled}
        elif pulled is not None:
            raw = pulled
        self.options, messages = parse_options(raw)
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
            await asyncio.wait([job.task for job in running], timeout=_SHUTDOWN_GRACE)
        await self.watcher.stop()
        try:
            await asyncio.wait_for(self.engine.run(self.executors.aclose()), _CLOSE_TIMEOUT)
        except TimeoutError:
            logger.error("the executors did not stop within %.0f s", _CLOSE_TIMEOUT)
        await self.searches.providers.aclose(self.engine)
        self.engine.stop()
        for store in self._stores.values():
            store.close()
        self._stores.clear()

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
        """Handle messages from `reader` until the client goes away, then clean up."""
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


def _import_provider(name: str) -> None:
    """Import a provider's SDK (a second or more) before the first search needs it, then
    freeze what is loaded by then, so that full garbage collections skip it (over 100 ms
    with the SDKs loaded, stopping every thread). In a daemon thread: an exit never waits
    for it."""
    importlib.import_module(PROVIDERS[name].partition(":")[0])
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
        ls._initialization_options = params.initialization_options
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
        return code_actions.code_actions(ls, params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: PlanSearchServer, params: types.HoverParams) -> types.Hover | None:
        return hover.hover(ls, params)

    @server.feature(GENERATE)
    async def generate(ls: PlanSearchServer, params: Any) -> dict[str, object]:
        return await searches.generate(ls, params)

    @server.feature(APPLY)
    async def apply_candidate(ls: PlanSearchServer, params: Any) -> dict[str, object]:
        return await apply.apply(ls, params)

    @server.feature(PREVIEW)
    async def preview_candidate(ls: PlanSearchServer, params: Any) -> dict[str, object]:
        return await apply.preview(ls, params)

    @server.command(plain_client.COMMAND)
    async def generate_command(ls: PlanSearchServer, *args: Any) -> dict[str, object] | None:
        return await plain_client.generate_command(ls, *args)

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
