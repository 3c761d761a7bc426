-- Drives the PlanSearch language server from a headless Neovim, as a user would, with the setup
-- of docs/language-server.md loaded as the user's init.lua (the `:PlanSearch` command and the
-- client it starts for Python buffers).
--
-- Run as `nvim --headless -u INIT -i NONE -c "luafile drive.lua" FILE` with
-- PLANSEARCH_NVIM_CONFIG naming a JSON file: output (where the observations go), timeout_ms
-- (one exchange), search_timeout_ms (the whole search), action_title, and the 0-based
-- positions stub, implemented, hover ({line, character}).
-- Steps: at once, before the server has answered `initialize`, run `:PlanSearch` in the stub
-- (vim.ui.select overridden to choose the action, vim.notify recorded); Neovim's own menu for
-- window/showMessageRequest (vim.fn.inputlist, or vim.ui.select where Neovim uses it) picks the
-- first candidate; list code actions in the stub and in an implemented function while the
-- search runs; wait for the buffer to change; :write; hover over the function (the reply, then the window that
-- vim.lsp.buf.hover() opens); stop the client. Everything seen goes to the output file as
-- JSON; any failure writes its reason there and to stderr, and exits with `cquit 1`.

local config = vim.json.decode(table.concat(vim.fn.readfile(os.getenv('PLANSEARCH_NVIM_CONFIG')), '\n'))

local seen = {
  step = 'start',
  version = tostring(vim.version().major) .. '.' .. tostring(vim.version().minor),
  progress = {},
  messages = {},
  notifications = {},
  select_items = {},
  menu = {},
  command_results = {},
}

local function write_output()
  vim.fn.writefile({ vim.json.encode(seen) }, config.output)
end

local function fail(reason)
  error({ reason = reason }, 0)
end

local function step(name)
  seen.step = name
end

local function wait_for(what, timeout_ms, condition)
  if not vim.wait(timeout_ms, condition, 20) then
    fail('timed out after ' .. timeout_ms .. ' ms waiting for ' .. what)
  end
end

local function position(at)
  return { line = at.line, character = at.character }
end

-- What Neovim shows the user: notifications, server messages, progress (the default handlers
-- still run), and its menus.
vim.notify = function(message, level)
  table.insert(seen.notifications, { message = tostring(message), level = level })
end

local function record(method, into)
  local default = vim.lsp.handlers[method]
  vim.lsp.handlers[method] = function(err, result, ctx, handler_config)
    table.insert(into, result)
    if default then
      return default(err, result, ctx, handler_config)
    end
  end
end
record('$/progress', seen.progress)
record('window/showMessage', seen.messages)
record('workspace/executeCommand', seen.command_results)

vim.fn.inputlist = function(lines)
  seen.menu = lines
  return 1
end

vim.ui.select = function(items, opts, on_choice)
  local titles = {}
  local picked
  for index, item in ipairs(items) do
    local title = opts.format_item and opts.format_item(item) or tostring(item)
    table.insert(titles, title)
    if picked == nil and (opts.kind ~= 'codeaction' or title == config.action_title) then
      picked = index
    end
  end
  if opts.kind == 'codeaction' then
    vim.list_extend(seen.select_items, titles)
  else
    seen.menu = titles
    seen.menu_prompt = opts.prompt
  end
  on_choice(picked and items[picked] or nil, picked)
end

local function plansearch_client()
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  for _, client in pairs(get()) do
    if client.name == 'plansearch' then
      return client
    end
  end
end

local function action_titles(bufnr, uri, at)
  local params = {
    textDocument = { uri = uri },
    range = { start = position(at), ['end'] = position(at) },
    context = { diagnostics = {} },
  }
  local replies, err = vim.lsp.buf_request_sync(bufnr, 'textDocument/codeAction', params,
    config.timeout_ms)
  if not replies then
    fail('textDocument/codeAction failed: ' .. tostring(err))
  end
  local titles = {}
  for _, reply in pairs(replies) do
    if reply.err then
      fail('textDocument/codeAction error: ' .. vim.inspect(reply.err))
    end
    for _, action in ipairs(reply.result or {}) do
      table.insert(titles, { title = action.title, kind = action.kind,
        command = type(action.command) == 'table' and action.command.command or action.command })
    end
  end
  return titles
end

local function hover_text(bufnr, uri)
  local params = { textDocument = { uri = uri }, position = position(config.hover) }
  local replies, err = vim.lsp.buf_request_sync(bufnr, 'textDocument/hover', params,
    config.timeout_ms)
  if not replies then
    fail('textDocument/hover failed: ' .. tostring(err))
  end
  for _, reply in pairs(replies) do
    if reply.err then
      fail('textDocument/hover error: ' .. vim.inspect(reply.err))
    end
    local result = reply.result
    if type(result) == 'table' and type(result.contents) == 'table' then
      seen.hover_kind = result.contents.kind
      return result.contents.value
    end
  end
  return nil
end

local function hover_window_lines()
  vim.api.nvim_win_set_cursor(0, { config.hover.line + 1, config.hover.character })
  vim.lsp.buf.hover()
  local float
  wait_for('the hover window', config.timeout_ms, function()
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(win).relative ~= '' then
        float = win
        return true
      end
    end
    return false
  end)
  return vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(float), 0, -1, true)
end

local function run()
  local bufnr = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(bufnr)
  local original_text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, true), '\n')
  if vim.bo[bufnr].filetype ~= 'python' then
    fail('the file was not detected as Python: ' .. vim.bo[bufnr].filetype)
  end

  step('code action before the server is ready')
  local early = plansearch_client()
  seen.initialized_before_command = early ~= nil and early.initialized == true
  vim.api.nvim_win_set_cursor(0, { config.stub.line + 1, config.stub.character })
  vim.cmd('PlanSearch')
  wait_for('the code action (or its menu)', config.timeout_ms, function()
    return #seen.select_items > 0 or #seen.progress > 0
  end)

  step('code action list') -- while the search runs: the stub is still a stub
  seen.actions_at_stub = action_titles(bufnr, uri, config.stub)
  seen.actions_at_implemented = action_titles(bufnr, uri, config.implemented)

  step('search and apply')
  wait_for('the buffer to change', config.search_timeout_ms, function()
    return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, true), '\n') ~= original_text
  end)

  wait_for('the command to answer', config.timeout_ms, function()
    return #seen.command_results > 0
  end)

  step('write')
  vim.cmd('write')

  step('hover')
  seen.hover = hover_text(bufnr, uri)
  seen.hover_window = hover_window_lines()

  step('shutdown')
  local client = plansearch_client()
  if not client then
    fail('no plansearch client is running')
  end
  local id = client.id
  vim.lsp.stop_client(id)
  wait_for('the server to stop', config.timeout_ms, function()
    return vim.lsp.get_client_by_id(id) == nil
  end)
  seen.stopped = true
  step('done')
end

local ok, problem = xpcall(run, function(err)
  if type(err) == 'table' and err.reason then
    return err.reason
  end
  return debug.traceback(tostring(err), 2)
end)
if not ok then
  seen.failure = seen.step .. ': ' .. tostring(problem)
end
write_output()
if ok then
  vim.cmd('qall!')
else
  io.stderr:write('drive.lua failed at ' .. seen.failure .. '\n')
  vim.cmd('cquit 1')
end
