#!/bin/sh
# 60-mta.sh - end to end: a real Postfix on 127.0.0.1 (high port) with
# hamlet-milter in smtpd_milters, relaying to a sink on 127.0.0.1 that
# stores each delivered copy. Checks: ham is delivered with X-Spam
# headers, a forged inbound X-Spam-Flag is replaced, GTUBE gets
# "550 5.7.1" (reject_score set), the milter ran as milter_user, and the
# log has one line per message with Postfix's queue id.
# Installs postfix and swaks itself; skips only when that is impossible.
. ./lib.sh
: "${HAMLET_MILTER:?HAMLET_MILTER must point at hamlet-milter}"
MT=$DATA/milter
. "$MT/postfix_instance.sh"

if [ "$(id -u)" != 0 ]; then
	echo "skip: needs root to run a private Postfix instance"
	finish; exit
fi
if ! pf_install; then
	echo "skip: postfix/swaks not installed and apt-get could not install them"
	finish; exit
fi

# Postfix daemons (user postfix) and the dropped milter (nobody) must reach
# these files, so the instance lives in a world-searchable directory.
B=$(mktemp -d /var/tmp/hamlet-mta.XXXXXX)
chmod 755 "$B"
mkdir -p "$B/run" "$B/sink" "$B/rules"
chmod 755 "$B/run" "$B/rules"
PORT=$(pf_free_port)
SINKPORT=$(pf_free_port)
SOCK=$B/run/milter.sock
LOG=$B/milter.log
MPID= SPID=

cleanup() {
	pf_stop "$B"
	stop_pids 10 $MPID $SPID
	[ -n "$KEEP" ] || rm -rf "$B"; rm -rf "$T"
}
trap cleanup EXIT

cp "$MT/base.conf" "$B/hamlet.conf"
cp "$MT/rules/"*.cf "$B/rules/" && chmod 644 "$B/rules/"*.cf
cat >> "$B/hamlet.conf" <<EOF2
rules_dir $B/rules
trusted_networks 10.9.0.0/16
reject_score 20
milter_user nobody
milter_socket_mode 0666
EOF2
chmod 644 "$B/hamlet.conf"

python3 "$MT/smtp_sink.py" --port "$SINKPORT" --outdir "$B/sink" --quiet \
    >"$B/sink.log" 2>&1 &
SPID=$!
"$HAMLET_MILTER" -f -c "$B/hamlet.conf" -p "unix:$SOCK" 2>"$LOG" &
MPID=$!
i=0
while { [ ! -S "$SOCK" ] || ! grep -q listening "$B/sink.log"; } && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
check "milter socket up" [ -S "$SOCK" ]
check "milter runs as milter_user" sh -c \
    '[ "$(ps -o user= -p "$1" | tr -d " ")" = nobody ]' sh "$MPID"
if ! pf_setup "$B" "$PORT" "$SINKPORT" "unix:$SOCK" || ! pf_start "$B"; then
	fail "postfix instance starts"; cat "$B/maillog" 2>/dev/null | tail
	finish; exit
fi
i=0
until swaks --server 127.0.0.1 --port "$PORT" --quit-after CONNECT >/dev/null 2>&1 ||
    [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1))
done
ok "postfix instance starts"

sw() {	# sw OUTFILE swaks-args...: one SMTP transaction
	o=$1; shift
	swaks --server 127.0.0.1 --port "$PORT" --from sender@test.example \
	    --to rcpt@test.example --helo client.test.example \
	    --header "Date: Mon, 23 Nov 2026 10:00:00 +0000" "$@" >"$o" 2>&1
}

wait_sink() {	# wait_sink N: until N messages are in the sink (10 s)
	i=0
	while [ "$(ls "$B/sink" | wc -l)" -lt "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$(ls "$B/sink" | wc -l)" -ge "$1" ]
}

sw "$B/ham.out" --header "Subject: lunch" --body "Are we still on for lunch on Friday?"
check "ham accepted by postfix (250)" grep -q '<-  *250 2.0.0 Ok: queued' "$B/ham.out"
check "ham delivered to the sink" wait_sink 1
H=$(ls "$B/sink"/* 2>/dev/null | head -n 1)
check "delivered copy has X-Spam-Checker-Version" grep -q '^X-Spam-Checker-Version: hamlet' "$H"
check "delivered copy has X-Spam-Status: No" grep -q '^X-Spam-Status: No, score=' "$H"
check "delivered ham has no X-Spam-Flag" sh -c '! grep -qi "^X-Spam-Flag" "$1"' sh "$H"
check "body passed through" grep -q 'still on for lunch' "$H"

sw "$B/forged.out" --header "Subject: forged" --add-header "X-Spam-Flag: YES" \
    --add-header "X-Spam-Status: Yes, score=99.0" --body "Innocent text."
check "forged: delivered" wait_sink 2
F=$(ls "$B/sink"/* | sed -n 2p)
check "forged X-Spam-Flag removed" sh -c '! grep -qi "^X-Spam-Flag" "$1"' sh "$F"
check "forged X-Spam-Status replaced" sh -c \
    '[ "$(grep -ci "^X-Spam-Status" "$1")" = 1 ] && grep -q "^X-Spam-Status: No," "$1"' sh "$F"

GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
sw "$B/gtube.out" --header "Subject: gtube" --body "$GTUBE"
check "GTUBE refused with 550 5.7.1" grep -q '<\*\* *550 5.7.1 Spam refused by hamlet test' "$B/gtube.out"
sleep 0.3
check "GTUBE not delivered" [ "$(ls "$B/sink" | wc -l)" = 2 ]

check "log: ham line with a Postfix queue id" grep -Eq ': [0-9A-F]{6,}: verdict=ham score=' "$LOG"
check "log: reject line" grep -q 'verdict=reject score=1000.0' "$LOG"
check "postfix logged the milter reject" grep -q 'milter-reject: END-OF-MESSAGE.*5.7.1 Spam refused by hamlet test' "$B/maillog"
# a small load: 50 messages (the test fixtures, plain and GTUBE ones) over
# 4 connections; each is delivered tagged or rejected, none lost
mkdir -p "$B/load"
n=0
for f in "$DATA"/*.eml; do
	[ -f "$f" ] || continue
	n=$((n + 1)); cp "$f" "$B/load/m$n.eml"
done
g=0
while [ $n -lt 50 ]; do
	n=$((n + 1))
	if [ $((n % 7)) = 0 ]; then
		g=$((g + 1)); body=$GTUBE
	else
		body="Message $n of the small load test."
	fi
	printf 'From: load%d@test.example\r\nTo: rcpt@test.example\r\nSubject: load %d\r\nMessage-ID: <load%d@test.example>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n%s\r\n' \
	    $n $n $n "$body" > "$B/load/m$n.eml"
done
before=$(ls "$B/sink" | wc -l)
rbefore=$(grep -c 'verdict=reject' "$LOG")
ls "$B/load"/*.eml | python3 "$MT/smtp_load.py" --port "$PORT" --concurrency 4 \
    --out "$B/load.tsv" > "$B/load.sum"
set -- $(cat "$B/load.sum")
sent=$2 okn=$4 rej=$6 tmpf=$8 err=${10}
check "load: 50 sent, none tempfailed or failed" [ "$sent:$tmpf:$err" = 50:0:0 ]
wait_sink $((before + okn)) >/dev/null
after=$(ls "$B/sink" | wc -l)
check "load: zero loss (delivered $((after - before)) + rejected $rej = 50)" \
    [ "$((after - before + rej)):$((after - before))" = "50:$okn" ]
check "load: every GTUBE message rejected ($g)" [ "$rej" -ge "$g" ]
check "load: rejects match the milter log" \
    [ $(($(grep -c 'verdict=reject' "$LOG") - rbefore)) = "$rej" ]
untagged=$(ls "$B/sink"/* | tail -n $((after - before)) | xargs grep -L '^X-Spam-Status: ' | wc -l)
check "load: every delivered copy tagged ($untagged untagged)" [ "$untagged" = 0 ]

if [ "$nfail" != 0 ]; then
	echo "--- milter log"; tail -n 20 "$LOG"
	echo "--- postfix log"; tail -n 20 "$B/maillog"
fi
finish
