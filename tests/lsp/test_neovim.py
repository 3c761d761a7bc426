"""Neovim 0.7 (headless) drives the real server: an independent client, so serialisation or
capability bugs that a client built on lsprotocol could hide show up here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lsp.conftest import init_options, server_env
from tests.support.fake_llm import FakeLLMServer

NVIM = shutil.which("nvim")

SCRIPT = r"""
local ws = os.getenv("PS_WORKSPACE")
local out = {}
local function finish(code)
  local file = io.open(os.getenv("PS_OUT"), "w")
  file:write(vim.fn.json_encode(out))
  file:close()
  vim.cmd(code == 0 and "qall!" or "cquit " .. code)
end
local function check(ok, message)
  if not ok then
    out.failure = message
    finish(1)
  end
end

local id = vim.lsp.start_client({
  name = "plansearch",
  cmd = { os.getenv("PS_PYTHON"), "-m", "plansearch_lsp", "--log-file", os.getenv("PS_LOG") },
  root_dir = ws,
  init_options = vim.fn.json_decode(os.getenv("PS_INIT")),
})
vim.cmd("edit " .. ws .. "/geometry.py")
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, id)
check(vim.wait(20000, function()
  local client = vim.lsp.get_client_by_id(id)
  return client ~= nil and client.initialized
end, 50), "the server did not initialise")

local uri = vim.uri_from_bufnr(buf)
local at_stub = { start = { line = 4, character = 4 }, ["end"] = { line = 4, character = 4 } }
local listed = vim.lsp.buf_request_sync(buf, "textDocument/codeAction",
  { textDocument = { uri = uri }, range = at_stub, context = { diagnostics = {} } }, 10000)
out.actions = {}
for _, response in pairs(listed or {}) do
  for _, action in ipairs(response.result or {}) do
    table.insert(out.actions, { title = action.title, kind = action.kind,
                                command = action.command.command })
  end
end

-- The real handlers, with the user's answers scripted.
vim.ui.select = function(items, opts, on_choice)
  out.select_prompt = opts.prompt
  on_choice(items[1], 1)
end
vim.fn.inputlist = function(lines)
  out.menu = lines
  return 1
end
vim.api.nvim_win_set_cursor(0, { 5, 4 })
vim.lsp.buf.code_action()
check(vim.wait(60000, function()
  local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
  return text:find("math.pi * r * r", 1, true) ~= nil
end, 50), "the chosen candidate was not applied")
out.text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")

local hovered = vim.lsp.buf_request_sync(buf, "textDocument/hover",
  { textDocument = { uri = uri }, position = { line = 4, character = 5 } }, 10000)
for _, response in pairs(hovered or {}) do
  out.hover = response.result and response.result.contents.value
end

vim.lsp.stop_client(id)
vim.wait(10000, function() return vim.lsp.get_client_by_id(id) == nil end, 50)
finish(0)
"""


@pytest.mark.skipif(NVIM is None, reason="needs Neovim (Debian package neovim)")
def test_neovim_lists_chooses_applies_and_hovers(
    workspace: Path, fake: FakeLLMServer, tmp_path: Path
) -> None:
    assert NVIM is not None
    script = tmp_path / "drive.lua"
    script.write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "out.json"
    env = server_env(tmp_path) | {
        "PS_WORKSPACE": str(workspace), "PS_PYTHON": sys.executable, "PS_OUT": str(out),
        "PS_LOG": str(tmp_path / "nvim-lsp.log"), "PS_INIT": json.dumps(init_options(fake)),
        "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    run = subprocess.run(
        [NVIM, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {script}"],
        cwd=workspace, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=90)
    result = json.loads(out.read_text(encoding="utf-8"))
    assert run.returncode == 0, (result.get("failure"), run.stderr[-2000:])
    assert result["actions"] == [{"title": "Generate via PlanSearch",
                                  "kind": "refactor.rewrite.plansearch",
                                  "command": "plansearch.generate"}]
    menu = result["menu"]
    assert "6 candidates for area" in menu[0]
    assert menu[2].startswith("1. #1 [1/1 docstring examples] fix reply")
    text = result["text"]
    assert "    return math.pi * r * r" in text and text.count("import math") == 1
    assert "def done(x: int) -> int:" in text
    assert "### PlanSearch candidate" in result["hover"]
    assert "**Fixed sketch**" in result["hover"]
