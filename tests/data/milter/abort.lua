-- an aborted message (RSET, or the client went away) leaves no state:
-- the GTUBE body of the aborted one must not make the next one spam
local t = dofile(os.getenv("MT_LIB"))
t.run(function()
  local conn = t.connect("client.test.example", "192.0.2.10")
  local r = t.mailfrom(conn, "ABORT1", "sender@test.example")
  t.check(r == SMFIR_CONTINUE, "mail from")
  if mt.rcptto(conn, "<rcpt@test.example>") ~= nil then error("rcpt") end
  for _, h in ipairs(t.headers("aborted")) do
    if mt.header(conn, h[1], " " .. h[2]) ~= nil then error("header") end
  end
  if mt.header(conn, "X-Spam-Flag", " YES") ~= nil then error("header") end
  if mt.eoh(conn) ~= nil then error("eoh") end
  if mt.bodystring(conn, t.GTUBE .. "\r\n") ~= nil then error("body") end
  if mt.abort(conn) ~= nil then error("abort failed") end
  r = t.message(conn, "ABORT2", "after abort", "Clean message after RSET.\r\n")
  t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "accepted")
  local st = t.added(conn, "X-Spam-Status")
  t.check(st ~= nil and st:find("^No,") ~= nil, "after abort: ham " .. tostring(st))
  t.check(not mt.eom_check(conn, MT_HDRDELETE), "no deletion carried over")
  -- abort right after MAIL FROM, then a message
  r = t.mailfrom(conn, "ABORT3", "sender@test.example")
  if mt.abort(conn) ~= nil then error("abort failed") end
  r = t.message(conn, "ABORT4", "again", "Again clean.\r\n")
  st = t.added(conn, "X-Spam-Status")
  t.check(st ~= nil and st:find("^No,") ~= nil, "after early abort: ham")
  mt.disconnect(conn)
end)
