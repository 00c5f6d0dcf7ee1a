-- inbound X-Spam-* headers (forged verdicts) are removed, ours added
local t = dofile(os.getenv("MT_LIB"))
t.run(function()
  local conn = t.connect("client.test.example", "192.0.2.10")
  local r = t.message(conn, "FORGED1", "hello there",
    "Just a normal note.\r\n",
    { {"X-Spam-Flag", "NO"},
      {"X-Spam-Status", "No, score=-100.0 required=5.0"},
      {"x-spam-status", "No, score=-99.0"},
      {"X-Spam-Score", "-100"},
      {"X-Virus-Status", "Clean"} })
  t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "accepted")
  t.check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag"), "X-Spam-Flag deleted")
  t.check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Status"), "X-Spam-Status deleted")
  t.check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Score"), "X-Spam-Score deleted")
  t.check(not mt.eom_check(conn, MT_HDRDELETE, "Subject"), "nothing else deleted")
  t.check(not mt.eom_check(conn, MT_HDRDELETE, "X-Virus-Status"),
    "X-Virus-Status kept while no AV runs (not ours to judge)")
  local st = t.added(conn, "X-Spam-Status")
  t.check(st ~= nil and st:find("score=%-100") == nil, "our own status added: " .. tostring(st))
  mt.disconnect(conn)

  -- a forged "spam" verdict on GTUBE: removed too, ours says Yes
  conn = t.connect("client.test.example", "192.0.2.10")
  r = t.message(conn, "FORGED2", "hello again", t.GTUBE .. "\r\n",
    { {"X-Spam-Flag", "YES"} })
  t.check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag"), "forged flag deleted")
  t.check(t.added(conn, "X-Spam-Flag") == "YES", "our flag added")
  mt.disconnect(conn)

  -- Authentication-Results in our name (authserv-id = hostname
  -- test.example) are forged at the border: removed (RFC 8601 section 5);
  -- another server's results are left alone
  conn = t.connect("client.test.example", "192.0.2.10")
  r = t.message(conn, "FORGED3", "results", "hi\r\n",
    { {"Authentication-Results", "other.example; spf=fail smtp.mailfrom=x.example"},
      {"Authentication-Results", "test.example; dkim=pass header.d=bank.example"} })
  t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "accepted")
  t.check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"),
    "our-name Authentication-Results deleted")
  mt.disconnect(conn)
end)
