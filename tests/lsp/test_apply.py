"""Applying candidates (versioned edits, refused when stale, re-applied on request), the
plain-client menu, and hover over applied code, also after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.lsp.conftest import (
    STUB,
    Client,
    capabilities,
    init_options,
    server_env,
    session,
)
from tests.lsp.test_generate import GENERATE, at_stub
from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

APPLY = "plansearch/apply"


async def search(client: Client, uri: str) -> dict[str, Any]:
    result: dict[str, Any] = await client.request(GENERATE, at_stub(uri))
    assert result["candidates"][0]["passesAll"]
    return result


async def apply(client: Client, result: dict[str, Any], **extra: Any) -> dict[str, Any]:
    best = result["candidates"][0]["id"]
    reply: dict[str, Any] = await client.request(
        APPLY, {"searchId": result["searchId"], "candidateId": best, **extra})
    return reply


@pytest.mark.slow
async def test_apply_replaces_the_stub_and_keeps_every_other_line(client: Client) -> None:
    uri = client.open("geometry.py")
    assert await apply(client, await search(client, uri)) == {
        "applied": True, "reason": None, "canRebase": False}
    (edit,) = client.editor.applied_edits
    (change,) = edit.edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 1
    text = client.text(uri)
    assert "return math.pi * r * r" in text and "    ...\n" not in text
    assert text.count("import math") == 1, "the module's import is not repeated"
    assert text.startswith('"""Geometry helpers."""\nimport math\n\n\ndef area(r')
    assert '    """Area of a circle of radius r.' in text, "the stub's docstring stays"
    assert text.endswith("def done(x: int) -> int:\n    return x + 1\n")


@pytest.mark.slow
async def test_apply_is_refused_after_the_document_changed_then_rebased(
    client: Client,
) -> None:
    uri = client.open("geometry.py")
    result = await search(client, uri)
    edited = "# edited meanwhile\n" + client.text(uri)
    client.change(uri, edited)
    refused = await apply(client, result)
    assert refused["applied"] is False and refused["canRebase"] is True
    assert "version 2" in refused["reason"]
    assert client.text(uri) == edited, "nothing was overwritten"
    assert not [m for m in client.lsp.messages if m.type == types.MessageType.Warning], (
        "the client that asked tells the user, once; the server does not too")
    rebased = await apply(client, result, rebase=True)
    assert rebased["applied"] is True
    text = client.text(uri)
    assert text.startswith("# edited meanwhile\n") and "return math.pi * r * r" in text


@pytest.mark.slow
async def test_plain_clients_choose_from_a_menu(client: Client) -> None:
    uri = client.open("geometry.py")
    (action,) = await client.code_actions(uri, (4, 4))
    assert isinstance(action, types.CodeAction) and action.command is not None
    await client.lsp.workspace_execute_command_async(types.ExecuteCommandParams(
        command=action.command.command, arguments=action.command.arguments))
    (menu,) = client.editor.message_requests
    assert "6 candidates for area, 2 behaviours (completed)" in menu.message
    titles = [item.title for item in menu.actions or []]
    # One choice per behaviour, best first; unnumbered: the client numbers its menu itself.
    assert len(titles) == 2, titles
    assert titles[0].startswith("[1/1 docstring examples] fix reply")
    assert titles[0].endswith("(3 alike)")
    assert titles[1].startswith("[0/1 docstring examples] sketch reply")
    assert "return math.pi * r * r" in client.text(uri)
    assert client.editor.progress, "the search showed progress"


@pytest.mark.slow
async def test_a_plain_client_hears_of_a_refused_edit_once_and_can_apply_again(
    client: Client,
) -> None:
    uri = client.open("geometry.py")
    edited = "# edited while the menu was open\n" + client.text(uri)

    def choose(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        actions = params.actions or []
        if "not applied" in params.message:
            return next(a for a in actions if a.title == "Apply to the current text")
        client.change(uri, edited)  # the user edits before picking
        return actions[0]

    client.editor.choose = choose
    (action,) = await client.code_actions(uri, (4, 4))
    assert isinstance(action, types.CodeAction) and action.command is not None
    await client.lsp.workspace_execute_command_async(types.ExecuteCommandParams(
        command=action.command.command, arguments=action.command.arguments))
    menu, refusal = client.editor.message_requests
    assert "6 candidates for area" in menu.message
    assert refusal.message.startswith("The candidate was not applied:")
    assert not [m for m in client.lsp.messages if m.type == types.MessageType.Warning]
    text = client.text(uri)
    assert text.startswith("# edited while the menu was open\n")
    assert "return math.pi * r * r" in text


@pytest.mark.slow
async def test_hover_shows_the_plan_also_after_a_restart(
    workspace: Path, fake: FakeLLMServer, tmp_path: Path
) -> None:
    env, options = server_env(tmp_path), init_options(fake)
    async with session(workspace, env=env, options=options) as client:
        uri = client.open("geometry.py")
        await apply(client, await search(client, uri))
        text = client.text(uri)
        first = await client.hover(uri, 4)
        assert await client.hover(uri, 14) is None, "done() was not generated"
    (workspace / "geometry.py").write_text(text, encoding="utf-8")
    async with session(workspace, env=env, options=options,
                       caps=capabilities(markdown=False)) as client:
        uri = client.open("geometry.py")
        again = await client.hover(uri, 4)
        assert await client.hover(uri, 7) is None, "the body is not the header"
    assert first is not None and isinstance(first.contents, types.MarkupContent)
    assert first.contents.kind == types.MarkupKind.Markdown
    for part in ("### PlanSearch candidate", "plansearch with claude-sonnet-5-5 (anthropic)",
                 "applied", "Tests: 1/1 docstring examples", "**Sketch**", "**Criticism**",
                 "**Fixed sketch**", "**Test results**",
                 "| ✓ | `docstring#1` | docstring | pass |"):
        assert part in first.contents.value, part
    assert again is not None and isinstance(again.contents, types.MarkupContent)
    assert again.contents.kind == types.MarkupKind.PlainText, "the client wants plain text"
    for part in ("PLANSEARCH CANDIDATE", "plansearch with claude-sonnet-5-5 (anthropic)",
                 "applied", "Fixed sketch:", "✓ docstring#1 [docstring] pass"):
        assert part in again.contents.value, part
    assert "**" not in again.contents.value


def vowels_code(call: FakeCall) -> str:
    return ("```python\nimport math\nimport re\n\n\ndef vowels(word: str) -> int:\n"
            "    return len(re.findall('[aeiou]', word))\n```")


@pytest.mark.slow
async def test_a_selected_statement_becomes_a_new_function_with_its_imports(
    workspace: Path, tmp_path: Path
) -> None:
    text = ("import math\n\n# Count the vowels of a word.\n# vowels('banana') == 3\n\n"
            "RADIUS = 2\n")
    (workspace / "words.py").write_text(text, encoding="utf-8")
    with FakeLLMServer(PlanSearchScript("vowels", first=1, derived=1,
                                        code_for=vowels_code)) as fake:
        async with session(workspace, env=server_env(tmp_path),
                           options=init_options(fake)) as client:
            uri = client.open("words.py")
            (action,) = await client.code_actions(uri, (2, 0), (4, 0))
            assert action.title == "Generate via PlanSearch from the selection"
            result = await client.request(GENERATE, {
                "textDocument": {"uri": uri}, "signature": "def vowels(word: str) -> int",
                "range": {"start": {"line": 2, "character": 0},
                          "end": {"line": 4, "character": 0}}})
            assert result["target"] == "vowels" and result["tests"] == 1
            assert result["candidates"][0]["tally"] == "1/1 docstring examples"
            assert (await apply(client, result))["applied"] is True
            new = client.text(uri)
    assert new.startswith("import math\nimport re\n\n# Count the vowels of a word.\n")
    assert new.count("import math") == 1
    assert '    """Count the vowels of a word.' in new
    assert "return len(re.findall('[aeiou]', word))" in new
    assert new.index("def vowels") < new.index("RADIUS = 2")
    assert STUB not in new


@pytest.mark.slow
async def test_preview_shows_the_document_as_apply_would_leave_it(client: Client) -> None:
    uri = client.open("geometry.py")
    token = "partial-preview"
    params = {**at_stub(uri), "partialResultToken": token}
    result: dict[str, Any] = await client.request(GENERATE, params)
    streamed = client.editor.progress[token]
    assert streamed and all(value["searchId"] == result["searchId"] for value in streamed)
    best = result["candidates"][0]["id"]
    preview: dict[str, Any] = await client.request(
        "plansearch/preview", {"searchId": result["searchId"], "candidateId": best})
    assert preview["uri"] == uri and preview["version"] == 1
    assert preview["before"] == STUB
    assert '    """Area of a circle of radius r.' in preview["after"], "the docstring stays"
    assert "return math.pi * r * r" in preview["after"]
    assert await apply(client, result) == {"applied": True, "reason": None, "canRebase": False}
    assert client.text(uri) == preview["after"]


@pytest.mark.slow
async def test_preview_of_an_unknown_candidate_says_so(client: Client) -> None:
    uri = client.open("geometry.py")
    result = await search(client, uri)
    with pytest.raises(JsonRpcException, match="has no candidate nope"):
        await client.request("plansearch/preview",
                             {"searchId": result["searchId"], "candidateId": "nope"})
