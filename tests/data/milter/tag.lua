-- tag: ham gets X-Spam-Status No; GTUBE gets Flag YES, Status Yes and the
-- Subject rewritten (rewrite_subject is set in the test config).
local t = dofile(os.getenv("MT_LIB"))
t.run(function()
  local conn = t.connect("client.test.example", "192.0.2.10")
  local r = t.message(conn, "TAGHAM1", "lunch on friday",
    "Hi Bob,\r\nare we still on for lunch on Friday?\r\nAlice\r\n")
  t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "ham accepted")
  t.check(mt.eom_check(conn, MT_HDRADD, "X-Spam-Checker-Version"), "Checker-Version added")
  local st = t.added(conn, "X-Spam-Status")
  t.check(st ~= nil and st:find("^No, score=") ~= nil, "ham status No: " .. tostring(st))
  t.check(not mt.eom_check(conn, MT_HDRADD, "X-Spam-Flag"), "no flag on ham")
  t.check(not mt.eom_check(conn, MT_HDRCHANGE, "Subject"), "ham subject untouched")
  mt.disconnect(conn)

  conn = t.connect("client.test.example", "192.0.2.10")
  r = t.message(conn, "TAGSPAM1", "test message",
    "This is spam.\r\n" .. t.GTUBE .. "\r\n")
  t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "spam accepted (tag only)")
  t.check(t.added(conn, "X-Spam-Flag") == "YES", "X-Spam-Flag: YES")
  st = t.added(conn, "X-Spam-Status")
  t.check(st ~= nil and st:find("^Yes, score=") ~= nil and st:find("GTUBE") ~= nil,
    "spam status Yes with GTUBE: " .. tostring(st))
  t.check(mt.eom_check(conn, MT_HDRADD, "X-Spam-Level"), "X-Spam-Level added")
  t.check(mt.eom_check(conn, MT_HDRCHANGE, "Subject"), "Subject rewritten")
  t.check(not mt.eom_check(conn, MT_QUARANTINE), "not quarantined")
  t.check(r ~= SMFIR_REPLYCODE, "no SMTP reply set")
  mt.disconnect(conn)

  -- a rule hit (score 6): spam, tagged, subject rewritten exactly
  conn = t.connect("client.test.example", "192.0.2.10")
  r = t.message(conn, "TAGSPAM2", "MILTERTEST-SPAMWORD offer", "Buy it.\r\n")
  t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "score-6 spam accepted")
  st = t.added(conn, "X-Spam-Status")
  t.check(st ~= nil and st:find("^Yes, score=6.0 required=5.0 tests=MILTER_TEST_SPAMWORD") ~= nil,
    "status names the rule: " .. tostring(st))
  t.check(t.added(conn, "X-Spam-Flag") == "YES", "flag on score-6 spam")
  t.check(mt.eom_check(conn, MT_HDRCHANGE, "Subject", " *****SPAM***** MILTERTEST-SPAMWORD offer"),
    "Subject tagged in front")
  mt.disconnect(conn)
end)
