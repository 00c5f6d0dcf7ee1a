-- trusted client (trusted_networks) and local submission: not scanned;
-- an untrusted neighbour is scanned
local t = dofile(os.getenv("MT_LIB"))
t.run(function()
  local conn = t.connect("relay.internal.test", "10.9.8.7")
  local r = t.mailfrom(conn, "TRUST1", "sender@test.example")
  t.check(r == SMFIR_ACCEPT, "trusted 10.9.8.7: accepted at MAIL FROM, got " .. tostring(r))
  mt.disconnect(conn)

  conn = t.connect("localhost", "127.0.0.1")
  r = t.mailfrom(conn, "TRUST2", "sender@test.example")
  t.check(r == SMFIR_ACCEPT, "trusted 127.0.0.1: accepted")
  mt.disconnect(conn)

  conn = t.connect("other.test.example", "10.10.0.1")
  r = t.mailfrom(conn, "TRUST3", "sender@test.example")
  t.check(r == SMFIR_CONTINUE, "10.10.0.1 is not trusted: scanned")
  r = t.rest(conn, "rcpt@test.example", t.headers("x"), t.GTUBE .. "\r\n")
  t.check(t.added(conn, "X-Spam-Flag") == "YES", "untrusted GTUBE tagged")
  mt.disconnect(conn)
end)
