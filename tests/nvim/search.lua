-- Headless Neovim 0.7 as a real LSP client of codesearch-lsp.
-- Inputs from the environment: CS_PYTHON, CS_ROOT, CS_QUERY, CS_OUT (a JSON file to write).
local python, root, query, out = os.getenv("CS_PYTHON"), os.getenv("CS_ROOT"), os.getenv("CS_QUERY"), os.getenv("CS_OUT")
local report = { statuses = {} }

local function finish()
  local f = assert(io.open(out, "w"))
  f:write(vim.fn.json_encode(report))
  f:close()
  vim.cmd("qa!")
end

local ok, err = pcall(function()
  local client_id = vim.lsp.start_client({
    name = "codesearch",
    cmd = { python, "-m", "codesearch_lsp" },
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = "repo" } },
    handlers = {
      ["codesearch/statusChanged"] = function(_, result)
        table.insert(report.statuses, result.state)
      end,
    },
  })
  assert(client_id, "start_client failed")
  vim.cmd("edit " .. vim.fn.fnameescape(root .. "/src/net/upload.py"))
  local buf = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(buf, client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  report.initialized = vim.wait(60000, function() return client.initialized end, 50)

  local function ask(method, params, timeout)
    local answers, e = vim.lsp.buf_request_sync(buf, method, params, timeout)
    if not answers then return nil, e end
    local a = answers[client_id]
    if a == nil then return nil, "no answer" end
    return a.result, a.error
  end

  for _ = 1, 600 do
    local status = ask("codesearch/status", {}, 5000)
    if status and status.state == "ready" then
      report.ready = true
      break
    end
    vim.wait(400)
  end
  report.search, report.search_error = ask("codesearch/search", { query = query, k = 3 }, 60000)
  report.symbols, report.symbols_error = ask("workspace/symbol", { query = query }, 60000)
  vim.lsp.stop_client(client_id)
  report.stopped = vim.wait(10000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 50)
end)
if not ok then report.lua_error = tostring(err) end
finish()
