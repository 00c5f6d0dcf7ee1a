#!/bin/sh
# bench_auth.sh HAMLET CORPUS_DIR - what sender authentication costs per
# message, with hamlet's real resolver (c-ares) asking a DNS server on
# loopback (tests/data/auth/rig: rigdns.py in a private namespace).
#   corpus:  N corpus messages with a fixed envelope: SPF for the
#            envelope, DMARC lookups for each From domain (mostly
#            NXDOMAIN in the test zone), no DKIM (the corpus predates it)
#   signed:  the DKIM-signed fixture N times: SPF pass, RSA-1024 DKIM
#            verification, DMARC pass
# Each is timed with use_network=no (no auth verification) and with
# auth_mode=verify; the difference over N is the auth cost per message.
set -u
H=${1:?usage: bench_auth.sh HAMLET CORPUS_DIR}
C=$(cd "${2:?usage: bench_auth.sh HAMLET CORPUS_DIR}" && pwd) || exit 1
N=${AUTH_BENCH_N:-1000}
HERE=$(cd "$(dirname "$0")" && pwd)
A=$HERE/../data/auth
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if ! /usr/bin/python3 -c 'import dnslib' 2>/dev/null ||
    ! unshare --net --mount true 2>/dev/null; then
	echo "auth: skipped (needs python3-dnslib and network namespaces)"
	exit 0
fi
find "$C" -type f ! -name '.*' | sort | head -n "$N" > "$TMP/corpus"
i=0; : > "$TMP/signed"
while [ $i -lt "$N" ]; do echo "$A/dkim-valid.eml" >> "$TMP/signed"; i=$((i + 1)); done
n=$(wc -l < "$TMP/corpus")

cat > "$TMP/inner.sh" <<INNER
cd "$TMP"
ENV="--ip 192.0.2.10 --helo mx.example.test --mail-from alice@example.test"
ON="--set use_network=yes --set auth_mode=verify --set hostname=mx.hamlet.test"
for set in corpus signed; do
	$H check --batch --set use_network=no \$ENV < \$set > /dev/null 2>&1   # warm
	/usr/bin/time -f '%e %U %S' -o \$set.off $H check --batch \
	    --set use_network=no \$ENV < \$set > /dev/null 2>&1
	/usr/bin/time -f '%e %U %S' -o \$set.on $H check --batch \
	    \$ON \$ENV < \$set > \$set.tsv 2>/dev/null
	head -n 100 \$set | $H check --batch -v \$ON \$ENV 2> \$set.log > /dev/null
done
INNER
sh "$A/rig/with_test_dns.sh" "$A/auth.zone" -- sh "$TMP/inner.sh" \
    > "$TMP/rig.log" 2>&1 || { echo "auth: test DNS failed"; tail "$TMP/rig.log"; exit 1; }

for set in corpus signed; do
	read -r woff uoff soff < "$TMP/$set.off"
	read -r won uon son < "$TMP/$set.on"
	m=$(wc -l < "$TMP/$set")
	q=$(grep -o 'auth: [0-9]* DNS queries' "$TMP/$set.log" |
	    awk '{ s += $2; n++ } END { if (n) printf "%.1f", s / n; else print "?" }')
	hits=$(grep -c 'DKIM_VALID\|SPF_PASS' "$TMP/$set.tsv")
	echo "auth ($set, $m msgs, DNS on loopback): wall +$(echo "scale=3; ($won - $woff) * 1000 / $m" | bc) ms/msg," \
	    "cpu +$(echo "scale=3; ($uon + $son - $uoff - $soff) * 1000 / $m" | bc) ms/msg" \
	    "(without auth $(echo "scale=3; $woff * 1000 / $m" | bc) ms/msg wall), $q DNS queries/msg, $hits msgs with a pass"
done
