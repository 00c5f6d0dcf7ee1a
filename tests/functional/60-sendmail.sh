#!/bin/sh
# 60-sendmail.sh - end to end with sendmail, the reference milter MTA:
# sendmail 8.17 from Debian's .debs unpacked into a private root (it
# conflicts with the postfix package, so it is not installed), listening
# on 127.0.0.1 (high port) with hamlet-milter in INPUT_MAIL_FILTER,
# relaying to a sink. Checks the delivered copies carry the X-Spam headers
# (forged ones replaced), GTUBE gets "550 5.7.1", the sendmail queue id is
# in the milter log. After /work/shared/rig/setup_sendmail_rig.sh.
. ./lib.sh
: "${HAMLET_MILTER:?HAMLET_MILTER must point at hamlet-milter}"
MT=$DATA/milter
. "$MT/postfix_instance.sh"	# pf_free_port, tree_cpu
. "$MT/sendmail_instance.sh"

if [ "$(id -u)" != 0 ]; then
	echo "skip: needs root to run sendmail"
	finish; exit
fi
if ! sm_install; then
	echo "skip: sendmail .debs, m4, swaks or unshare not available"
	finish; exit
fi

# sendmail checks the safety of every directory on the path of its files:
# keep them in a root-owned tree that is not world-writable
W=$(mktemp -d /var/spool/hamlet-sm.XXXXXX)
chmod 755 "$W"
mkdir -p "$W/run" "$W/sink" "$W/rules"
chmod 755 "$W/run" "$W/rules"
PORT=$(pf_free_port)
SINKPORT=$(pf_free_port)
SOCK=$W/run/milter.sock
LOG=$W/milter.log
MPID= SPID=

cleanup() {
	sm_stop "$W"
	stop_pids 10 $MPID $SPID
	rm -rf "$W" "$T"
}
trap cleanup EXIT

cp "$MT/base.conf" "$W/hamlet.conf"
cp "$MT/rules/"*.cf "$W/rules/" && chmod 644 "$W/rules/"*.cf
cat >> "$W/hamlet.conf" <<EOF2
rules_dir $W/rules
trusted_networks 10.9.0.0/16
reject_score 20
milter_user nobody
milter_socket_mode 0660
EOF2
chmod 644 "$W/hamlet.conf"

if ! sm_setup "$W" "$PORT" "$SINKPORT" "unix:$SOCK" 2>"$W/m4.err"; then
	fail "sendmail.cf generated"; cat "$W/m4.err"; finish; exit
fi
ok "sendmail.cf generated"

python3 "$MT/smtp_sink.py" --port "$SINKPORT" --outdir "$W/sink" --quiet \
    >"$W/sink.log" 2>&1 &
SPID=$!
"$HAMLET_MILTER" -f -c "$W/hamlet.conf" -p "unix:$SOCK" 2>"$LOG" &
MPID=$!
i=0
while { [ ! -S "$SOCK" ] || ! grep -q listening "$W/sink.log"; } && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
check "milter socket up" [ -S "$SOCK" ]
# the socket belongs to nobody (mode 0660): sendmail runs as root here
sm_start "$W"
i=0
until swaks --server 127.0.0.1 --port "$PORT" --quit-after CONNECT >/dev/null 2>&1 ||
    [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1))
done
if [ $i -ge 100 ]; then
	fail "sendmail starts"; cat "$W/sendmail.out"; finish; exit
fi
ok "sendmail starts"

sw() {	# sw OUTFILE swaks-args...
	o=$1; shift
	swaks --server 127.0.0.1 --port "$PORT" --from sender@test.example \
	    --to rcpt@test.example --helo client.test.example \
	    --header "Date: Mon, 23 Nov 2026 10:00:00 +0000" "$@" >"$o" 2>&1
}
wait_sink() {
	i=0
	while [ "$(ls "$W/sink" | wc -l)" -lt "$1" ] && [ $i -lt 150 ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$(ls "$W/sink" | wc -l)" -ge "$1" ]
}

sw "$W/ham.out" --header "Subject: lunch" --body "Are we still on for lunch on Friday?"
check "ham accepted by sendmail (250)" grep -q '<-  *250 2.0.0 .* Message accepted for delivery' "$W/ham.out"
check "ham delivered to the sink" wait_sink 1
H=$(ls "$W/sink"/* 2>/dev/null | head -n 1)
check "delivered copy has X-Spam-Checker-Version" grep -q '^X-Spam-Checker-Version: hamlet' "$H"
check "delivered copy has X-Spam-Status: No" grep -q '^X-Spam-Status: No, score=' "$H"
check "body passed through" grep -q 'still on for lunch' "$H"

sw "$W/spam.out" --header "Subject: MILTERTEST-SPAMWORD offer" \
    --add-header "X-Spam-Flag: NO" --body "Buy now."
check "spam (score 6) delivered" wait_sink 2
S=$(ls "$W/sink"/* | sed -n 2p)
check "spam: X-Spam-Flag YES, forged NO gone" sh -c \
    '[ "$(grep -ci "^X-Spam-Flag" "$1")" = 1 ] && grep -q "^X-Spam-Flag: YES" "$1"' sh "$S"
check "spam: status names the rule" grep -q '^X-Spam-Status: Yes, score=6.0 .*MILTER_TEST_SPAMWORD' "$S"
check "spam: subject rewritten" grep -q '^Subject: \*\*\*\*\*SPAM\*\*\*\*\* MILTERTEST-SPAMWORD offer' "$S"

GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
sw "$W/gtube.out" --header "Subject: gtube" --body "$GTUBE"
check "GTUBE refused with 550 5.7.1" grep -q '<\*\* *550 5.7.1 Spam refused by hamlet test' "$W/gtube.out"
sleep 0.3
check "GTUBE not delivered" [ "$(ls "$W/sink" | wc -l)" = 2 ]
check "log: sendmail queue id on the ham line" grep -Eq ': [0-9A-Za-z]{14}: verdict=ham ' "$LOG"
check "log: reject line" grep -q 'verdict=reject score=1000.0' "$LOG"
if [ "$nfail" != 0 ]; then
	echo "--- milter log"; tail -n 20 "$LOG"
	echo "--- sendmail"; cat "$W/sendmail.out"; cat "$W"/*.out | tail -n 30
fi
finish
