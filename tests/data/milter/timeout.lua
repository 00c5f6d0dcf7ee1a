-- a scan past scan_timeout (a multi-megabyte body, scan_timeout 10ms):
-- the failure policy on_error decides. $MT_BIG is the body file (CRLF),
-- $MT_EXPECT "tempfail" (451 4.7.1) or "accept" (delivered untagged,
-- forged X-Spam-* still removed).
local t = dofile(os.getenv("MT_LIB"))
local expect = os.getenv("MT_EXPECT") or error("MT_EXPECT not set")
t.run(function()
  local conn = t.connect("client.test.example", "192.0.2.10")
  local r = t.mailfrom(conn, "SLOW1", "sender@test.example")
  t.check(r == SMFIR_CONTINUE, "mail from")
  if mt.rcptto(conn, "<rcpt@test.example>") ~= nil then error("rcpt") end
  local hdrs = t.headers("slow one")
  table.insert(hdrs, {"Content-Type", "text/html"})
  table.insert(hdrs, {"X-Spam-Flag", "NO"})
  for _, h in ipairs(hdrs) do
    if mt.header(conn, h[1], " " .. h[2]) ~= nil then error("header") end
  end
  if mt.eoh(conn) ~= nil then error("eoh") end
  -- chunks below libmilter's 64 KB limit (mt.bodyfile sends one piece)
  local f = assert(io.open(os.getenv("MT_BIG"), "rb"))
  while true do
    local chunk = f:read(60000)
    if chunk == nil then break end
    if mt.bodystring(conn, chunk) ~= nil then error("body") end
    t.expect(conn, "body", SMFIR_CONTINUE, SMFIR_SKIP)
  end
  f:close()
  if mt.eom(conn) ~= nil then error("eom failed") end
  r = mt.getreply(conn)
  if expect == "tempfail" then
    t.check(r == SMFIR_REPLYCODE, "reply code set, got " .. tostring(r))
    t.check(mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1",
      "Temporary failure in content scanning, try again later"), "451 4.7.1")
  else
    t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "accepted, got " .. tostring(r))
    t.check(not mt.eom_check(conn, MT_HDRADD, "X-Spam-Status"), "not tagged")
    t.check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag"), "forged flag still removed")
  end
  mt.disconnect(conn)
end)
