-- Drives the PlanSearch language server from a headless Neovim 0.7, as a user would.
--
-- Run as `nvim --headless --clean -u NONE -c "luafile drive.lua" FILE` with
-- PLANSEARCH_NVIM_CONFIG naming a JSON file:
--   python, log_file, init_options, output (where the observations go), timeout_ms (one
--   exchange), search_timeout_ms (the whole search), action_title, and the 0-based
--   positions stub, implemented, hover ({line, character}).
-- Steps: start and attach the client; list code actions in the stub and in an implemented
-- function; choose the action through vim.lsp.buf.code_action() with vim.ui.select
-- overridden; answer window/showMessageRequest with the first candidate; wait for the
-- command's reply; :write; hover over the function (the reply, then the window that
-- vim.lsp.buf.hover() opens); stop the server. Everything seen goes to the output file as
-- JSON; any failure writes its reason there and to stderr, and exits with `cquit 1`.

local config = vim.json.decode(table.concat(vim.fn.readfile(os.getenv('PLANSEARCH_NVIM_CONFIG')), '\n'))

local seen = {
  step = 'start',
  progress = {},
  message_requests = {},
  messages = {},
  log_messages = {},
  select_items = {},
  apply_results = {},
}

local function write_output()
  vim.fn.writefile({ vim.json.encode(seen) }, config.output)
end

local function fail(reason)
  error({ reason = reason }, 0)
end

local started = vim.loop.hrtime()
seen.step_started_ms = {}
seen.epoch = { vim.loop.gettimeofday() }

local function step(name)
  seen.step = name
  seen.step_started_ms[name] = math.floor((vim.loop.hrtime() - started) / 1e6)
end

local function wait_for(what, timeout_ms, condition)
  if not vim.wait(timeout_ms, condition, 20) then
    fail('timed out after ' .. timeout_ms .. ' ms waiting for ' .. what)
  end
end

local function position(at)
  return { line = at.line, character = at.character }
end

local function with_default(method, record)
  local default = vim.lsp.handlers[method]
  return function(err, result, ctx, handler_config)
    record(err, result)
    if default then
      return default(err, result, ctx, handler_config)
    end
  end
end

local handlers = {
  ['$/progress'] = with_default('$/progress', function(_, result)
    table.insert(seen.progress, result)
  end),
  ['window/showMessage'] = function(_, result)
    table.insert(seen.messages, result)
  end,
  ['window/logMessage'] = function(_, result)
    table.insert(seen.log_messages, result)
  end,
  ['window/showMessageRequest'] = function(_, result)
    table.insert(seen.message_requests, result)
    local actions = result.actions or {}
    if #actions == 0 then
      return vim.NIL
    end
    seen.chosen = actions[1].title
    return actions[1]
  end,
  ['workspace/applyEdit'] = function(err, result, ctx, handler_config)
    local reply = vim.lsp.handlers['workspace/applyEdit'](err, result, ctx, handler_config)
    table.insert(seen.apply_results, reply)
    return reply
  end,
  ['workspace/executeCommand'] = function(err, result)
    seen.command = { done = true, error = err, result = result }
  end,
}

local function start_client(bufnr, root)
  local state = {}
  local client_id = vim.lsp.start_client({
    name = 'plansearch',
    cmd = { config.python, '-m', 'plansearch_lsp', '--log-file', config.log_file },
    cmd_cwd = root,
    root_dir = root,
    init_options = config.init_options,
    handlers = handlers,
    on_init = function()
      state.initialized = true
    end,
    on_exit = function(code, signal)
      state.exited = { code = code, signal = signal }
    end,
  })
  if not client_id then
    fail('vim.lsp.start_client returned nil')
  end
  wait_for('the server to initialize', config.timeout_ms, function()
    return state.initialized or state.exited
  end)
  if state.exited then
    fail('the server exited during initialization: ' .. vim.inspect(state.exited))
  end
  if not vim.lsp.buf_attach_client(bufnr, client_id) then
    fail('vim.lsp.buf_attach_client failed')
  end
  return client_id, state
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

local function choose_action_through_menu()
  local original = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    local picked
    for index, item in ipairs(items) do
      local title = opts.format_item and opts.format_item(item) or tostring(item)
      table.insert(seen.select_items, title)
      if picked == nil and title == config.action_title then
        picked = index
      end
    end
    seen.select_prompt = opts.prompt
    if picked == nil then
      on_choice(nil, nil)
    else
      on_choice(items[picked], picked)
    end
  end
  vim.api.nvim_win_set_cursor(0, { config.stub.line + 1, config.stub.character })
  vim.lsp.buf.code_action()
  wait_for('the code action menu', config.timeout_ms, function()
    return #seen.select_items > 0
  end)
  vim.ui.select = original
  if not vim.tbl_contains(seen.select_items, config.action_title) then
    fail('the menu did not offer "' .. config.action_title .. '": '
      .. vim.inspect(seen.select_items))
  end
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
  vim.bo[bufnr].filetype = 'python'
  local uri = vim.uri_from_bufnr(bufnr)
  local root = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':p:h')
  local original_text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, true), '\n')

  step('initialize')
  local client_id, state = start_client(bufnr, root)

  step('code action list')
  seen.actions_at_stub = action_titles(bufnr, uri, config.stub)
  seen.actions_at_implemented = action_titles(bufnr, uri, config.implemented)

  step('code action menu')
  choose_action_through_menu()

  step('search and apply')
  wait_for('the generate command to finish', config.search_timeout_ms, function()
    return seen.command ~= nil
  end)
  if seen.command.error then
    fail('the generate command failed: ' .. vim.inspect(seen.command.error))
  end
  local new_text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, true), '\n')
  if new_text == original_text then
    local last = seen.messages[#seen.messages]
    fail('the buffer did not change after the command finished'
      .. (last and (' (the server said: ' .. last.message .. ')') or ''))
  end

  step('write')
  vim.cmd('write')

  step('hover')
  seen.hover = hover_text(bufnr, uri)
  seen.hover_window = hover_window_lines()

  step('shutdown')
  vim.lsp.stop_client(client_id)
  wait_for('the server to exit', config.timeout_ms, function()
    return state.exited ~= nil
  end)
  seen.exit = state.exited
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
