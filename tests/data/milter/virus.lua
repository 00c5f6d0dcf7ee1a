-- AV through the milter's header logic (av_db_dir set, av_action reject):
-- a clean message with a forged "X-Virus-Status: Infected" gets it removed
-- and ours (Clean) added; the EICAR test string gets 554 5.7.1 naming it.
local t = dofile(os.getenv("MT_LIB"))
local EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
t.run(function()
  local conn = t.connect("client.test.example", "192.0.2.10")
  local r = t.message(conn, "VIR1", "clean one", "Nothing viral here.\r\n",
    { {"X-Virus-Status", "Infected (forged)"}, {"X-Virus-Scanned", "by someone else"} })
  t.check(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "clean accepted")
  t.check(mt.eom_check(conn, MT_HDRDELETE, "X-Virus-Status"), "forged X-Virus-Status removed")
  t.check(mt.eom_check(conn, MT_HDRDELETE, "X-Virus-Scanned"), "inbound X-Virus-Scanned removed")
  t.check(t.added(conn, "X-Virus-Status") == "Clean", "our X-Virus-Status: Clean")
  r = t.message(conn, "VIR2", "attached", EICAR .. "\r\n")
  t.check(r == SMFIR_REPLYCODE, "virus: reply code, got " .. tostring(r))
  t.check(mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", "Virus found: Hamlet.Test.Eicar.UNOFFICIAL"),
    "554 5.7.1 naming the virus")
  mt.disconnect(conn)
end)
