#!/bin/sh
# 80-auth.sh - SPF, DKIM, DMARC and ARC through `hamlet check`, with its
# real system resolver (c-ares) asking a test DNS server on loopback:
# tests/data/auth/rig/with_test_dns.sh runs the checks in a private
# network+mount namespace where rigdns.py (python3-dnslib) serves
# tests/data/auth/auth.zone on 127.0.0.1:53 and resolv.conf points there.
# Needs root (or user namespaces), unshare and python3-dnslib (deps.sh).
. "$(dirname "$0")/lib.sh"
A=$DATA/auth
RIG=$A/rig

if ! /usr/bin/python3 -c 'import dnslib' 2>/dev/null; then
	fail "python3-dnslib is missing (tests/deps.sh installs it)"
	finish; exit 1
fi
if ! unshare --net --mount true 2>/dev/null; then
	fail "cannot create network namespaces (need root or userns)"
	finish; exit 1
fi

# everything that needs the test DNS runs inside one namespace
cat > "$T/inner.sh" <<INNER
H="$HAMLET check --set use_network=yes --set hostname=mx.hamlet.test --set dns_timeout=2s"
cd "$T"
\$H --report --ip 192.0.2.10 --helo mx.example.test \
    --mail-from alice@example.test < "$A/dkim-valid.eml" > valid.out 2>&1
\$H --report --ip 198.51.100.7 --helo mail.stranger.test \
    --mail-from alice@example.test < "$A/dkim-body-changed.eml" > changed.out 2>&1
\$H --report --ip 198.51.100.7 --mail-from alice@example.test \
    < "$A/dkim-revoked.eml" > revoked.out 2>&1
\$H --report --ip 203.0.113.5 --mail-from list@forwarder.test \
    < "$A/arc-forward.eml" > arc.out 2>&1
\$H --report --ip 203.0.113.5 --mail-from list@forwarder.test \
    < "$A/arc-tampered.eml" > arct.out 2>&1
\$H --report --ip 192.0.2.99 --mail-from list@forwarder.test \
    < "$A/arc-2hops.eml" > arc2.out 2>&1
printf 'From: a@sub.parent.test\nSubject: x\n\nbody\n' |
    \$H --report --ip 198.51.100.7 --mail-from a@sub.parent.test > sub.out 2>&1
printf 'From: a@many.test\nSubject: x\n\nbody\n' |
    \$H --report --ip 192.0.2.10 --mail-from a@many.test > many.out 2>&1
printf 'From: a@loop.test\nSubject: x\n\nbody\n' |
    \$H --report --ip 192.0.2.10 --mail-from a@loop.test > loop.out 2>&1
printf 'From: a@softfail.test\nSubject: x\n\nbody\n' |
    \$H --report --ip 192.0.2.10 --mail-from a@softfail.test > soft.out 2>&1
printf 'From: a@nothing.test\nSubject: x\n\nbody\n' |
    \$H --report --ip 192.0.2.10 --mail-from a@nothing.test > nx.out 2>&1
# a server that does not answer: the port is closed -> temperror, fast
printf 'nameserver 127.0.0.2\n' > /etc/resolv.conf 2>/dev/null ||
    mount --bind /dev/null /etc/resolv.conf
printf 'From: a@pass.test\nSubject: x\n\nbody\n' |
    \$H --report --ip 192.0.2.10 --mail-from a@pass.test > temp.out 2>&1
echo \$? > temp.rc
INNER
sh "$RIG/with_test_dns.sh" "$A/auth.zone" -- sh "$T/inner.sh" > "$T/rig.log" 2>&1 ||
    { fail "test DNS namespace did not run"; cat "$T/rig.log"; }

has() { grep -q " $2 " "$T/$1.out"; }
check "valid: SPF_PASS" has valid SPF_PASS
check "valid: SPF_HELO_PASS" has valid SPF_HELO_PASS
check "valid: DKIM_VALID_AU" has valid DKIM_VALID_AU
check "valid: DMARC_PASS" has valid DMARC_PASS
check "body changed: DKIM_INVALID" has changed DKIM_INVALID
check "body changed: SPF_FAIL" has changed SPF_FAIL
check "body changed: DMARC_REJECT (p=reject)" has changed DMARC_REJECT
check "revoked key: DKIM_INVALID" has revoked DKIM_INVALID
check "ARC forward: ARC_VALID" has arc ARC_VALID
check "ARC forward: DKIM broke" has arc DKIM_INVALID
check "ARC tampered: ARC_INVALID" has arct ARC_INVALID
check "ARC two hops: ARC_VALID" has arc2 ARC_VALID
check "subdomain policy: DMARC_REJECT" has sub DMARC_REJECT
check "more than 10 lookups: SPF_PERMERROR" has many SPF_PERMERROR
check "include loop: SPF_PERMERROR" has loop SPF_PERMERROR
check "softfail: SPF_SOFTFAIL" has soft SPF_SOFTFAIL
check "no such domain: SPF_NONE" has nx SPF_NONE
check "dead DNS: SPF_TEMPERROR" has temp SPF_TEMPERROR
check "dead DNS: the scan still succeeds" grep -qx 0 "$T/temp.rc"

# outside any test DNS: forged upstream results are ignored, trusted
# ones are taken (auth_mode upstream: no DNS at all)
forged="$T/forged.eml"
{ printf 'Authentication-Results: evil.test; spf=pass smtp.mailfrom=example.test;\n'
  printf ' dkim=pass header.d=example.test; dmarc=pass header.from=example.test\n'
  cat "$A/dkim-body-changed.eml"; } > "$forged"
$HAMLET check --report --set auth_mode=upstream --set hostname=mx.hamlet.test \
    < "$forged" > "$T/forged.out" 2>&1
check "forged A-R: no SPF_PASS" sh -c "! grep -q ' SPF_PASS ' $T/forged.out"
check "forged A-R: no DKIM_VALID" sh -c "! grep -q ' DKIM_VALID ' $T/forged.out"
sed 's/evil\.test;/mx.hamlet.test;/' "$forged" > "$T/trusted.eml"
$HAMLET check --report --set auth_mode=upstream --set hostname=mx.hamlet.test \
    < "$T/trusted.eml" > "$T/trusted.out" 2>&1
check "trusted A-R: SPF_PASS" has trusted SPF_PASS
check "trusted A-R: DMARC_PASS" has trusted DMARC_PASS
finish
