"""The code action: offered in a stub or on selected prose, nowhere else; fast; no model call."""

from __future__ import annotations

from lsprotocol import types

from tests.lsp.conftest import Client
from tests.support.fake_llm import FakeLLMServer

KIND = "refactor.rewrite.plansearch"


async def test_offered_in_a_stub_and_its_docstring_only(
    client: Client, fake: FakeLLMServer
) -> None:
    uri = client.open("geometry.py")
    for start, end in [((4, 4), None), ((10, 4), None), ((5, 4), (8, 7))]:
        actions = await client.code_actions(uri, start, end)
        assert len(actions) == 1, (start, end)
        action = actions[0]
        assert isinstance(action, types.CodeAction)
        assert action.title == "Generate via PlanSearch"
        assert action.kind == KIND
        assert action.command is not None and action.command.command == "plansearch.generate"
        assert list(action.command.arguments or []) == [{
            "textDocument": {"uri": uri},
            "range": {"start": {"line": start[0], "character": start[1]},
                      "end": {"line": (end or start)[0], "character": (end or start)[1]}},
        }]
    assert fake.request_count == 0, "listing actions never calls the model"
    for line in (0, 1, 14, 15):  # module docstring, import, an implemented function
        assert await client.code_actions(uri, (line, 2)) == [], line
    only_quickfix = await client.lsp.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=4, character=4),
                          end=types.Position(line=4, character=4)),
        context=types.CodeActionContext(diagnostics=[], only=["quickfix"])))
    assert not only_quickfix


async def test_offered_on_selected_prose_but_not_on_code_or_other_files(
    client: Client,
) -> None:
    text = ("# Return the number of vowels in a word,\n# counting y only at the end.\n\n"
            "x = 1\n")
    uri = client.open("count.py", text)
    actions = await client.code_actions(uri, (0, 0), (2, 0))
    assert [a.title for a in actions] == ["Generate via PlanSearch from the selection"]
    assert await client.code_actions(uri, (3, 0), (3, 5)) == [], "selected code is no statement"
    assert await client.code_actions(uri, (0, 2), (0, 8)) == [], "two words are no statement"

    uri = client.open("notes.md", "def f():\n    ...\n", language="markdown")
    assert await client.code_actions(uri, (0, 4)) == []
    bare = client.open("bare.py", "def f(x):\n    pass\n")
    (disabled,) = await client.code_actions(bare, (0, 4))
    assert isinstance(disabled, types.CodeAction) and disabled.command is None
    assert disabled.disabled is not None
    assert disabled.disabled.reason == "Write a docstring saying what f should do first."
    broken = client.open("broken.py", 'def f(:\n    """Doc."""\n    ...\n')
    assert await client.code_actions(broken, (0, 4)) == []
    await client.responsive()
