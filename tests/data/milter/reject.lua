-- reject_score set: GTUBE gets 550 5.7.1 with reject_text; ham still passes
local t = dofile(os.getenv("MT_LIB"))
t.run(function()
  local conn = t.connect("client.test.example", "192.0.2.10")
  local r = t.message(conn, "REJ1", "buy now", t.GTUBE .. "\r\n")
  t.check(r == SMFIR_REPLYCODE, "reply code set, got " .. tostring(r))
  t.check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", "Spam refused by hamlet test"),
    "550 5.7.1 with reject_text")
  r = t.message(conn, "REJ2", "hello", "Nothing to see.\r\n")
  t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "ham after reject accepted")
  t.check(r ~= SMFIR_REPLYCODE, "no reply code on ham")
  mt.disconnect(conn)
end)
