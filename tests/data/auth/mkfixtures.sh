#!/bin/sh
# mkfixtures.sh - regenerate the DKIM/ARC fixtures in this directory:
# RSA keys (openssl), the zone with their key records (auth.zone), and
# messages signed with python3-dkim (Debian package python3-dkim).
# The outputs are committed so tests need neither openssl nor Python;
# run this only to change them. Needs Debian's /usr/bin/python3.
set -eu
cd "$(dirname "$0")"
mkdir -p keys
[ -f keys/example.key ] || openssl genrsa -out keys/example.key 1024 2>/dev/null
[ -f keys/forwarder.key ] || openssl genrsa -out keys/forwarder.key 1024 2>/dev/null
pub() { openssl rsa -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0; }
EX=$(pub keys/example.key)
FW=$(pub keys/forwarder.key)
# BIND-format zone (absolute names): read by the unit tests' zone resolver
# and by rigdns.py in the functional test.
EX1=$(printf %s "$EX" | cut -c1-200); EX2=$(printf %s "$EX" | cut -c201-)
FW1=$(printf %s "$FW" | cut -c1-200); FW2=$(printf %s "$FW" | cut -c201-)
sed -e "s|@EXAMPLE_KEY@|\"v=DKIM1; k=rsa; p=$EX1\" \"$EX2\"|" \
    -e "s|@FORWARDER_KEY@|\"v=DKIM1; k=rsa; p=$FW1\" \"$FW2\"|" \
    auth.zone.in > auth.zone

/usr/bin/python3 - <<'PY'
import dkim, time
ex = open("keys/example.key", "rb").read()
fw = open("keys/forwarder.key", "rb").read()
base = (b"From: Alice <alice@example.test>\r\n"
        b"To: bob@recipient.test\r\n"
        b"Subject: quarterly report\r\n"
        b"Date: Mon, 23 Nov 2026 06:00:00 +0000\r\n"
        b"Message-ID: <fixture-1@example.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n"
        b"Hello Bob,\r\n"
        b"the report is attached in spirit.\r\n"
        b"Regards, Alice\r\n")
H = [b"from", b"to", b"subject", b"date", b"message-id"]
T = 1795000000
zone = {}
for line in open("auth.zone"):
    f = line.split(None, 4)
    if len(f) == 5 and f[3] == "TXT":
        import shlex
        zone[f[0].rstrip(".").lower()] = "".join(shlex.split(f[4])).encode()
def dns(name, timeout=5):
    return zone.get(name.decode().rstrip(".").lower())
def sign(msg, sel, dom=b"example.test", key=ex):
    return dkim.sign(msg, sel, dom, key, include_headers=H,
                     canonicalize=(b"relaxed", b"simple")) + msg
def w(name, data):
    open(name, "wb").write(data.replace(b"\r\n", b"\n"))
valid = sign(base, b"sel1")
w("dkim-valid.eml", valid)
w("dkim-body-changed.eml", valid.replace(b"in spirit", b"in SPIRIT"))
w("dkim-header-changed.eml",
  valid.replace(b"Subject: quarterly report", b"Subject: quarterly rep0rt"))
w("dkim-nokey.eml", sign(base, b"missing"))
w("dkim-revoked.eml", sign(base, b"revoked"))
# a subdomain author signed by the parent (DKIM_VALID_AU, DMARC relaxed)
sub = base.replace(b"alice@example.test", b"alice@news.example.test")
w("dkim-subdomain.eml", sign(sub, b"sel1"))
# ARC: a list at forwarder.test verified the original (dkim=pass), then
# changed subject and body and sealed the result (i=1, cv=none)
fwd = valid.replace(b"Subject: quarterly report",
                    b"Subject: [list] quarterly report")
fwd += b"-- \r\nlist footer\r\n"
fwd = (b"Authentication-Results: lists.forwarder.test; dkim=pass "
       b"header.d=example.test header.s=sel1; spf=pass "
       b"smtp.mailfrom=example.test\r\n") + fwd
sealed = b"".join(dkim.arc_sign(fwd, b"arc", b"forwarder.test", fw,
                  b"lists.forwarder.test", include_headers=H + [b"authentication-results"],
                  timestamp=T)) + fwd
w("arc-forward.eml", sealed)
w("arc-tampered.eml", sealed.replace(b"list footer", b"list f00ter"))
# a second hop: relay.test checks the chain (arc=pass), adds its own
# A-R and seals instance 2 (cv=pass)
hop2 = (b"Authentication-Results: mx.relay.test; arc=pass "
        b"smtp.remote-ip=203.0.113.5\r\n") + sealed
sealed2 = b"".join(dkim.arc_sign(hop2, b"arc2", b"relay.test", fw,
                   b"mx.relay.test", include_headers=H + [b"authentication-results"],
                   timestamp=T + 60)) + hop2
w("arc-2hops.eml", sealed2)
# verify what we wrote, so a broken fixture is caught here
assert dkim.verify(valid, dnsfunc=dns), "dkim-valid does not verify"
res = dkim.arc_verify(sealed, dnsfunc=dns)
assert res[0] == dkim.CV_Pass, ("arc-forward does not verify", res)
res = dkim.arc_verify(sealed2, dnsfunc=dns)
assert res[0] == dkim.CV_Pass, ("arc-2hops does not verify", res)
PY
echo "fixtures written"
