-- body past scan_max_size: only the first part is scanned (GTUBE after the
-- limit is not seen) and the message is still accepted whole
local t = dofile(os.getenv("MT_LIB"))
t.run(function()
  local conn = t.connect("client.test.example", "192.0.2.10")
  local filler = string.rep("All work and no play makes Jack a dull boy.\r\n", 200)
  local r = t.message(conn, "BIG1", "big one", filler .. t.GTUBE .. "\r\n")
  t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "accepted")
  local st = t.added(conn, "X-Spam-Status")
  t.check(st ~= nil and st:find("^No,") ~= nil, "GTUBE past the limit unseen: " .. tostring(st))
  t.check(not mt.eom_check(conn, MT_BODYCHANGE), "body untouched")
  mt.disconnect(conn)
end)
