-- SIGTERM while a message is in flight: the message still gets its answer.
-- The driving shell script sends SIGTERM during the mt.sleep below.
local t = dofile(os.getenv("MT_LIB"))
t.run(function()
  local conn = t.connect("client.test.example", "192.0.2.10")
  local r = t.mailfrom(conn, "INFLIGHT1", "sender@test.example")
  t.check(r == SMFIR_CONTINUE, "mail from")
  if mt.rcptto(conn, "<rcpt@test.example>") ~= nil then error("rcpt") end
  for _, h in ipairs(t.headers("in flight")) do
    if mt.header(conn, h[1], " " .. h[2]) ~= nil then error("header") end
  end
  if mt.eoh(conn) ~= nil then error("eoh") end
  if mt.bodystring(conn, t.GTUBE .. "\r\n") ~= nil then error("body") end
  mt.echo("*** READY")
  mt.sleep(1.5)
  if mt.eom(conn) ~= nil then error("eom failed") end
  t.check(t.added(conn, "X-Spam-Flag") == "YES", "in-flight message finished and tagged")
  mt.disconnect(conn)
end)
