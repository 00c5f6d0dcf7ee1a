-- Bayes through the milter (a store trained by 50-milter.sh): a message
-- like the trained spam gets a high BAYES_ band, one like the trained ham
-- a low one. Run before and after a SIGHUP (the store is reopened).
local t = dofile(os.getenv("MT_LIB"))
local tag = os.getenv("MT_TAG") or "1"
t.run(function()
  local conn = t.connect("client.test.example", "192.0.2.10")
  t.message(conn, "BAYSPAM" .. tag, "cheap pills again",
    "Buy cheap pills online now, discount pharmacy offer, order today.\r\n")
  local st = t.added(conn, "X-Spam-Status") or ""
  t.check(st:find("BAYES_9[59]") ~= nil or st:find("BAYES_80") ~= nil,
    "spammy message in a high Bayes band: " .. st)
  t.message(conn, "BAYHAM" .. tag, "meeting notes again",
    "Hi team, the meeting notes for the project review are attached, see you tomorrow.\r\n")
  st = t.added(conn, "X-Spam-Status") or ""
  t.check(st:find("BAYES_0[05]") ~= nil or st:find("BAYES_20") ~= nil,
    "hammy message in a low Bayes band: " .. st)
  mt.disconnect(conn)
end)
