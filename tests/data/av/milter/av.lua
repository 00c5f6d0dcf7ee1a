-- av.lua - send one .eml file through hamlet-milter and check the AV verdict.
-- Environment: MT_LIB (the milter tests' mtlib.lua), AV_FILE (message),
-- AV_QID (queue id), AV_EXPECT (reject | quarantine | tag-virus | clean),
-- AV_NAME (expected signature name, for the virus cases).
-- Prints "*** XVIRUS <value>" when the milter added X-Virus-Status.
local t = dofile(os.getenv("MT_LIB"))
local file = os.getenv("AV_FILE") or error("AV_FILE not set")
local qid = os.getenv("AV_QID") or "AV1"
local expect = os.getenv("AV_EXPECT") or error("AV_EXPECT not set")
local name = os.getenv("AV_NAME") or ""

-- headers (unfolded) and body (CRLF) of an RFC 5322 file
local function load(path)
  local fp = io.open(path, "rb")
  if fp == nil then error("cannot open " .. path) end
  local text = fp:read("*a"):gsub("\r\n", "\n")
  fp:close()
  local s, e = text:find("\n\n", 1, true)
  if s == nil then error(path .. ": no header end") end
  local hdrs = {}
  for line in (text:sub(1, s) .. ""):gmatch("([^\n]*)\n") do
    if line:find("^[ \t]") and #hdrs > 0 then
      hdrs[#hdrs][2] = hdrs[#hdrs][2] .. " " .. line:gsub("^[ \t]+", "")
    else
      local n, v = line:match("^([^:]+):[ \t]*(.*)$")
      if n then table.insert(hdrs, {n, v}) end
    end
  end
  local body = text:sub(e + 1):gsub("\n", "\r\n")
  return hdrs, body
end

t.run(function()
  local hdrs, body = load(file)
  local conn = t.connect("client.test.example", "192.0.2.10")
  local r = t.mailfrom(conn, qid, "sender@test.example")
  t.check(r == SMFIR_CONTINUE, "mailfrom: " .. tostring(r))
  r = t.rest(conn, "rcpt@test.example", hdrs, body)
  local xv = t.added(conn, "X-Virus-Status")
  if xv then mt.echo("*** XVIRUS " .. xv) end
  local st = t.added(conn, "X-Spam-Status") or ""
  if expect == "reject" then
    t.check(r == SMFIR_REPLYCODE, "reply code set, got " .. tostring(r))
    t.check(mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1",
      "Virus found: " .. name), "554 5.7.1 naming " .. name)
  else
    t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "accepted, got " .. tostring(r))
    t.check(r ~= SMFIR_REPLYCODE, "no SMTP reply set")
    if expect == "quarantine" then
      t.check(mt.eom_check(conn, MT_QUARANTINE), "quarantined")
      t.check(st:find("AV_VIRUS", 1, true) ~= nil, "tagged AV_VIRUS: " .. st)
      if xv then t.check(xv == "Infected (" .. name .. ")", "X-Virus-Status: " .. xv) end
    elseif expect == "tag-virus" then
      t.check(not mt.eom_check(conn, MT_QUARANTINE), "not quarantined")
      t.check(t.added(conn, "X-Spam-Flag") == "YES", "X-Spam-Flag: YES")
      t.check(st:find("AV_VIRUS", 1, true) ~= nil, "status names AV_VIRUS: " .. st)
      if xv then t.check(xv == "Infected (" .. name .. ")", "X-Virus-Status: " .. xv) end
    elseif expect == "clean" then
      t.check(not mt.eom_check(conn, MT_QUARANTINE), "not quarantined")
      t.check(st:find("^No, score=") ~= nil, "status No: " .. st)
      t.check(st:find("AV_", 1, true) == nil, "no AV symbol: " .. st)
      if xv then t.check(xv == "Clean", "X-Virus-Status: " .. xv) end
    else
      error("unknown AV_EXPECT " .. expect)
    end
  end
  mt.disconnect(conn)
end)
