-- sendfile.lua - send one message file ($MT_FILE) through the milter at
-- $MILTER_SOCK and print the reply and every header change (debugging
-- aid). A leading mbox "From " line is skipped. Debian's miltertest 2.11
-- aborts ("stack smashing") on some very long header fields of the corpus.
local t = dofile(os.getenv("MT_LIB"))
t.run(function()
  local f = assert(io.open(os.getenv("MT_FILE"), "rb"))
  local data = f:read("*a")
  f:close()
  data = data:gsub("\r\n", "\n")
  if data:sub(1, 5) == "From " then data = data:gsub("^[^\n]*\n", "", 1) end
  local hend = data:find("\n\n", 1, true)
  local head = hend and data:sub(1, hend) or data
  local body = hend and data:sub(hend + 2) or ""
  local hdrs = {}
  for line in head:gmatch("([^\n]*)\n") do
    if line:match("^[ \t]") and #hdrs > 0 then
      hdrs[#hdrs][2] = hdrs[#hdrs][2] .. "\n" .. line
    else
      local n, v = line:match("^([^:]+):[ ]?(.*)$")
      if n then table.insert(hdrs, {n, v}) end
    end
  end
  local conn = t.connect("client.test.example", os.getenv("MT_IP") or "192.0.2.10")
  local r = t.mailfrom(conn, "FILE1", "sender@test.example")
  if r ~= SMFIR_CONTINUE then mt.echo("MAIL FROM reply " .. tostring(r)); return end
  r = t.rest(conn, "rcpt@test.example", hdrs, (body:gsub("\n", "\r\n")))
  mt.echo("EOM reply " .. tostring(r))
  for _, n in ipairs({"X-Spam-Status", "X-Spam-Flag", "X-Spam-Report"}) do
    local v = mt.getheader(conn, n, 0)
    if v then mt.echo(n .. ":" .. v) end
  end
  mt.disconnect(conn)
end)
