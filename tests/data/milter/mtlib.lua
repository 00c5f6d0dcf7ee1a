-- mtlib.lua - helpers shared by the hamlet-milter miltertest scripts.
-- Loaded with dofile(os.getenv("MT_LIB")); the socket is $MILTER_SOCK.
-- miltertest offers SMFIP_HDR_LEADSPC and hamlet-milter takes it, so header
-- values go out and come back with their leading blank, like from Postfix.
local M = {}

M.sock = os.getenv("MILTER_SOCK") or error("MILTER_SOCK not set")
M.GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

function M.check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end

local function expect(conn, what, ...)
  local r = mt.getreply(conn)
  for _, want in ipairs({...}) do
    if r == want then return r end
  end
  error(what .. ": unexpected reply " .. tostring(r), 3)
end
M.expect = expect

-- connect and send client info; returns the connection
function M.connect(host, ip)
  local conn = mt.connect(M.sock, 40, 0.25)
  if conn == nil then error("mt.connect(" .. M.sock .. ") failed") end
  mt.macro(conn, SMFIC_CONNECT, "j", "mx.test.example", "{daemon_name}", "test-mta")
  if mt.conninfo(conn, host, ip) ~= nil then error("conninfo failed") end
  expect(conn, "connect", SMFIR_CONTINUE)
  if mt.helo(conn, host) ~= nil then error("helo failed") end
  expect(conn, "helo", SMFIR_CONTINUE)
  return conn
end

-- MAIL FROM with the queue id (and optional SMTP AUTH user);
-- returns the reply code
function M.mailfrom(conn, qid, from, auth)
  if auth then
    mt.macro(conn, SMFIC_MAIL, "i", qid, "{auth_authen}", auth)
  else
    mt.macro(conn, SMFIC_MAIL, "i", qid)
  end
  if mt.mailfrom(conn, "<" .. from .. ">") ~= nil then error("mailfrom failed") end
  return mt.getreply(conn)
end

-- the rest of a message after MAIL FROM; hdrs is a list of {name, value};
-- returns the EOM reply
function M.rest(conn, rcpt, hdrs, body)
  if mt.rcptto(conn, "<" .. rcpt .. ">") ~= nil then error("rcptto failed") end
  expect(conn, "rcpt", SMFIR_CONTINUE)
  for _, h in ipairs(hdrs) do
    if mt.header(conn, h[1], " " .. h[2]) ~= nil then error("header failed: " .. h[1]) end
    expect(conn, "header " .. h[1], SMFIR_CONTINUE)
  end
  if mt.eoh(conn) ~= nil then error("eoh failed") end
  expect(conn, "eoh", SMFIR_CONTINUE)
  if body ~= "" then
    if mt.bodystring(conn, body) ~= nil then error("body failed") end
    expect(conn, "body", SMFIR_CONTINUE, SMFIR_SKIP)
  end
  if mt.eom(conn) ~= nil then error("eom failed") end
  return mt.getreply(conn)
end

function M.headers(subject)
  return { {"Received", "from client.test.example (client.test.example [192.0.2.10])\n\tby mx.test.example with ESMTP id TEST; Mon, 23 Nov 2026 10:00:00 +0000"},
           {"From", "Sender <sender@test.example>"},
           {"To", "rcpt@test.example"},
           {"Subject", subject},
           {"Date", "Mon, 23 Nov 2026 10:00:00 +0000"},
           {"Message-ID", "<" .. tostring(os.time()) .. "." .. subject:gsub("%W", "") .. "@test.example>"} }
end

-- a whole message on a fresh transaction; returns the EOM reply
function M.message(conn, qid, subject, body, extra)
  local r = M.mailfrom(conn, qid, "sender@test.example")
  if r ~= SMFIR_CONTINUE then error("mailfrom: unexpected reply " .. tostring(r)) end
  local hdrs = M.headers(subject)
  for _, h in ipairs(extra or {}) do table.insert(hdrs, h) end
  return M.rest(conn, "rcpt@test.example", hdrs, body)
end

-- value of the first header we added, without the leading blank
function M.added(conn, name)
  local v = mt.getheader(conn, name, 0)
  if v == nil then return nil end
  return (v:gsub("^ ", ""))
end

-- run the test body; print the error (miltertest does not) and fail
function M.run(fn)
  local ok, err = pcall(fn)
  if not ok then
    mt.echo("*** FAIL: " .. tostring(err))
    error(err)
  end
  mt.echo("*** PASS")
end

return M
