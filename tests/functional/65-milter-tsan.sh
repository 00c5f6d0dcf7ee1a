#!/bin/sh
# 65-milter-tsan.sh - hamlet-milter built with ThreadSanitizer (make tsan)
# behind a real Postfix on 127.0.0.1, under concurrent load, reloaded over
# and over, then stopped with messages in flight (issue #6 item 4).
#
#   phase 1  rounds of TSAN_STRESS_N messages (default 240: the fixtures, plain
#            text and GTUBE) over TSAN_STRESS_CONC SMTP connections (6),
#            so as many milter sessions at once, while SIGHUP arrives every
#            0.3 s: the config file alternates between two valid ones
#            (reject_score 20 / 25, with and without an extra rule file)
#            and every fifth is invalid (the reload must fail and keep the
#            running snapshot). Every message must be delivered tagged or
#            rejected: none tempfailed, none lost, rejects equal to the
#            milter log's.
#   phase 2  one SMTP session stops after RCPT TO (a message in flight in
#            the milter), a second load runs, SIGTERM: the milter must log
#            the message in flight, let it finish (it is delivered), refuse
#            nothing it had accepted and exit 0; the load's messages end
#            delivered, rejected or tempfailed, none lost.
#   always   no ThreadSanitizer report (tests/data/milter/tsan.supp holds
#            the few reports inside uninstrumented libraries, each with
#            its reason).
#
# HAMLET_MILTER_TSAN names the TSan binary (make test sets it); without it
# the test is skipped. TSAN_STRESS_FILES=list-file sends those messages
# instead of the fixtures (the long run: corpus files), TSAN_STRESS_RULES a
# rules_dir to copy instead of the test rules (e.g. rules/default).
# TSAN_STRESS_CONF=file appends that file's lines to every configuration
# (66-milter-tsan-bayes-av.sh: a Bayes store and a ClamAV database).
# TSAN_STRESS_MTA=sendmail runs it behind a private sendmail instead
# (tests/data/milter/sendmail_instance.sh; a long run, not in make test).
. ./lib.sh
MT=$DATA/milter
. "$MT/postfix_instance.sh"
MTA=${TSAN_STRESS_MTA:-postfix}
if [ "$MTA" = sendmail ]; then
	. "$MT/sendmail_instance.sh"
	mta_install() { sm_install; }
	mta_start() { sm_setup "$@" 2>"$1/m4.err" && sm_start "$1"; }
	mta_stop() { sm_stop "$1"; }
	mta_log() { cat "$1/sendmail.out" 2>/dev/null; }
	# sendmail checks every directory up to its files: not under /var/tmp
	BASE=/var/spool
else
	mta_install() { pf_install; }
	mta_start() { pf_setup "$@" && pf_start "$1"; }
	mta_stop() { pf_stop "$1"; }
	mta_log() { cat "$1/maillog" 2>/dev/null; }
	BASE=/var/tmp
fi
M=${HAMLET_MILTER_TSAN:-}
N=${TSAN_STRESS_N:-240}
CONC=${TSAN_STRESS_CONC:-6}

if [ -z "$M" ] || [ ! -x "$M" ]; then
	echo "skip: no ThreadSanitizer hamlet-milter (HAMLET_MILTER_TSAN; make tsan)"
	finish; exit
fi
if [ "$(id -u)" != 0 ]; then
	echo "skip: needs root to run a private Postfix instance"
	finish; exit
fi
if ! mta_install; then
	echo "skip: $MTA/swaks not installed and apt-get could not install them"
	finish; exit
fi

B=$(mktemp -d "$BASE/hamlet-tsan.XXXXXX")
chmod 755 "$B"
mkdir -p "$B/run" "$B/sink" "$B/rules" "$B/rules2" "$B/tsan" "$B/msgs"
chmod 755 "$B/run" "$B/rules" "$B/rules2" "$B/msgs"
chmod 777 "$B/tsan"	# the milter writes its reports after dropping to nobody
PORT=$(pf_free_port)
SINKPORT=$(pf_free_port)
SOCK=$B/run/milter.sock
LOG=$B/milter.log
MPID= SPID= LPID= HPID= RPID=

cleanup() {
	mta_stop "$B"
	stop_pids 20 $RPID $HPID $LPID $MPID $SPID
	[ -n "${KEEP:-}" ] && echo "kept $B" || rm -rf "$B"
	rm -rf "$T"
}
trap cleanup EXIT

if [ -n "${TSAN_STRESS_RULES:-}" ]; then
	cp "$TSAN_STRESS_RULES"/*.cf "$B/rules/"
else
	cp "$MT/rules/"*.cf "$B/rules/"
fi
cp "$B/rules/"*.cf "$B/rules2/"
cat > "$B/rules2/99_tsan_extra.cf" <<'EOF2'
body     TSAN_EXTRA_WORD /\bload test\b/i
describe TSAN_EXTRA_WORD Only in the second configuration
score    TSAN_EXTRA_WORD 0.1
EOF2
chmod 644 "$B/rules/"*.cf "$B/rules2/"*.cf

# conf_a, conf_b, conf_bad: the three configurations SIGHUP alternates
{ cat "$MT/base.conf"; cat <<EOF2
rules_dir $B/rules
trusted_networks 10.9.0.0/16
reject_score 20
milter_user nobody
milter_socket_mode 0666
EOF2
  if [ -n "${TSAN_STRESS_CONF:-}" ]; then cat "$TSAN_STRESS_CONF"; fi
} > "$B/conf_a"
sed -e "s|^rules_dir .*|rules_dir $B/rules2|" -e 's/^reject_score .*/reject_score 25/' \
    "$B/conf_a" > "$B/conf_b"
{ cat "$B/conf_a"; echo "reject_score not-a-number"; } > "$B/conf_bad"
chmod 644 "$B"/conf_*
cp "$B/conf_a" "$B/hamlet.conf"; chmod 644 "$B/hamlet.conf"

# the messages: a given list, else the fixtures padded with generated ones
# (every seventh GTUBE)
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
if [ -n "${TSAN_STRESS_FILES:-}" ]; then
	head -n "$N" "$TSAN_STRESS_FILES" > "$B/list1"
else
	n=0
	for f in "$DATA"/*.eml; do
		[ -f "$f" ] || continue
		n=$((n + 1)); cp "$f" "$B/msgs/m$n.eml"
	done
	while [ $n -lt "$N" ]; do
		n=$((n + 1))
		if [ $((n % 7)) = 0 ]; then body=$GTUBE
		else body="Message $n of the load test, with a link http://example.com/$n"; fi
		printf 'From: load%d@test.example\r\nTo: rcpt@test.example\r\nSubject: load %d\r\nMessage-ID: <tsan%d@test.example>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n%s\r\n' \
		    $n $n $n "$body" > "$B/msgs/m$n.eml"
	done
	ls "$B/msgs"/*.eml > "$B/list1"
fi
N=$(wc -l < "$B/list1")
g=$(xargs grep -l 'GTUBE-STANDARD-ANTI-UBE' < "$B/list1" | wc -l)

python3 "$MT/smtp_sink.py" --port "$SINKPORT" --outdir "$B/sink" --quiet \
    >"$B/sink.log" 2>&1 &
SPID=$!
# exitcode 0: the test reads the report files, the exit status is the
# milter's own. G_SLICE=always-malloc: GLib's slice allocator hands a block
# freed by one thread to another through its own lock-free magazines,
# which TSan cannot see inside the uninstrumented GLib (it reported
# g_slice_alloc0 zeroing the block as a race); malloc it can see.
G_SLICE=always-malloc TSAN_OPTIONS="log_path=$B/tsan/report halt_on_error=0 exitcode=0 second_deadlock_stack=1 suppressions=$MT/tsan.supp" \
    "$M" -f -c "$B/hamlet.conf" -p "unix:$SOCK" 2>"$LOG" &
MPID=$!
i=0
while { [ ! -S "$SOCK" ] || ! grep -q listening "$B/sink.log"; } && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
check "tsan milter socket up" [ -S "$SOCK" ]
if ! mta_start "$B" "$PORT" "$SINKPORT" "unix:$SOCK"; then
	fail "$MTA instance starts"; mta_log "$B" | tail
	finish; exit
fi
i=0
until swaks --server 127.0.0.1 --port "$PORT" --quit-after CONNECT >/dev/null 2>&1 ||
    [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1))
done

sink_count() { ls "$B/sink" | wc -l; }
wait_sink() {	# wait_sink N: until N messages are in the sink (30 s)
	i=0
	while [ "$(sink_count)" -lt "$1" ] && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$(sink_count)" -ge "$1" ]
}

# phase 1: rounds of the load until TSAN_STRESS_HUPS SIGHUPs, 0.3 s apart,
# have been sent (the last round finishes after them)
HUPS=${TSAN_STRESS_HUPS:-40}
( while [ ! -f "$B/stop" ]; do
	python3 "$MT/smtp_load.py" --port "$PORT" --concurrency "$CONC" \
	    < "$B/list1" >> "$B/load1.rounds" || break
  done ) &
LPID=$!
hups=0
while [ $hups -lt "$HUPS" ] && kill -0 "$LPID" 2>/dev/null; do
	hups=$((hups + 1))
	case $((hups % 5)) in
	0) c=conf_bad ;;
	1|3) c=conf_b ;;
	*) c=conf_a ;;
	esac
	cp "$B/$c" "$B/hamlet.conf.new" && mv "$B/hamlet.conf.new" "$B/hamlet.conf"
	kill -HUP "$MPID"
	sleep 0.3
done
touch "$B/stop"
wait "$LPID"; LPID=
# let the last reload finish before counting
cp "$B/conf_a" "$B/hamlet.conf"; kill -HUP "$MPID"; hups=$((hups + 1))
i=0 last=-1 still=0
while [ $i -lt 300 ] && [ $still -lt 20 ]; do	# 30 s, or 2 s unchanged
	n=$(grep -c 'reload\(ed\| failed\)' "$LOG")
	[ "$n" -ge "$hups" ] && break
	if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; fi
	last=$n
	sleep 0.1; i=$((i + 1))
done
rounds=$(wc -l < "$B/load1.rounds")
awk '{for (i = 2; i <= 12; i += 2) t[i] += $i} END {printf "sent %d ok %d reject %d tempfail %d error %d wall %.1f\n", t[2], t[4], t[6], t[8], t[10], t[12]}' \
    "$B/load1.rounds" > "$B/load1.sum"
set -- $(cat "$B/load1.sum")
sent=$2 okn=$4 rej=$6 tmpf=$8 err=${10}
nre=$(grep -c 'reloaded configuration' "$LOG")
nbad=$(grep -c 'reload failed' "$LOG")
echo "phase 1: $sent messages ($rounds rounds of $N) over $CONC connections in ${12}s: ok $okn reject $rej tempfail $tmpf error $err; $hups SIGHUPs: $nre reloads, $nbad refused"
check "phase 1: all $((rounds * N)) sent, none tempfailed or failed" \
    [ "$sent:$tmpf:$err" = "$((rounds * N)):0:0" ]
# A reload reads the file when it runs, not when its SIGHUP came: with
# reloads slower than 0.3 s (rules/default under TSan) one may read the
# next file, so the split between loaded and refused is not exact; and
# TSan merges a second SIGHUP that arrives while the main thread is
# still busy with the first (it defers signals to a blocking call).
check "phase 1: SIGHUPs handled ($nre + $nbad of $hups)" \
    [ $((nre + nbad)) -le "$hups" -a $((nre + nbad)) -ge $((hups * 9 / 10)) ]
check "phase 1: valid configs loaded ($nre), invalid ones refused ($nbad)" \
    [ "$nre" -ge 1 -a "$nbad" -ge 1 ]
check "phase 1: milter still running after the reloads" kill -0 "$MPID"
wait_sink "$okn" >/dev/null
d1=$(sink_count)
check "phase 1: zero loss (delivered $d1 + rejected $rej = $sent)" \
    [ "$((d1 + rej)):$d1" = "$sent:$okn" ]
check "phase 1: every GTUBE message rejected ($((rounds * g)))" [ "$rej" -ge $((rounds * g)) ]
check "phase 1: rejects match the milter log" \
    [ "$(grep -c 'verdict=\(virus-\)\{0,1\}reject' "$LOG")" = "$rej" ]
untagged=$(ls "$B/sink"/* | xargs grep -L '^X-Spam-Status: ' | wc -l)
check "phase 1: every delivered copy tagged ($untagged untagged)" [ "$untagged" = 0 ]

# phase 2: a message held in flight, load, SIGTERM
rej0=$(grep -c 'verdict=\(virus-\)\{0,1\}reject' "$LOG")
python3 - "$PORT" "$LOG" > "$B/hold.out" 2>&1 <<'PY' &
import smtplib, sys, time
port, log = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port, timeout=120)
s.ehlo("hold.test.example")
s.mail("hold@test.example")
s.rcpt("rcpt@test.example")
print("held", flush=True)
t = time.monotonic()
while b"stopping:" not in open(log, "rb").read() and time.monotonic() - t < 60:
    time.sleep(0.05)
code, msg = s.data(b"From: hold@test.example\r\nTo: rcpt@test.example\r\n"
                   b"Subject: held in flight\r\nMessage-ID: <held@test.example>\r\n"
                   b"\r\nThis message was in flight at SIGTERM.\r\n")
print("data", code, msg.decode("latin-1"), flush=True)
s.quit()
PY
HPID=$!
i=0
while ! grep -q held "$B/hold.out" && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
python3 "$MT/smtp_load.py" --port "$PORT" --concurrency "$CONC" \
    --out "$B/load2.tsv" < "$B/list1" > "$B/load2.sum" &
LPID=$!
# SIGTERM once the milter has answered a few of this load's messages
i=0
while [ $(($(grep -c 'verdict=' "$LOG") - sent)) -lt 10 ] && [ $i -lt 600 ]; do
	sleep 0.1; i=$((i + 1))
done
kill -TERM "$MPID"
t0=$(date +%s)
wait "$MPID"; mrc=$?; MPID=
t1=$(date +%s)
wait "$HPID"; HPID=
wait "$LPID"; LPID=
inflight=$(sed -n 's/.*stopping: \([0-9]*\) message(s) in flight.*/\1/p' "$LOG")
set -- $(cat "$B/load2.sum")
sent2=$2 ok2=$4 rej2=$6 tmpf2=$8 err2=${10}
echo "phase 2: $inflight in flight at SIGTERM, exit $mrc after $((t1 - t0))s; load: $sent2 sent, ok $ok2 reject $rej2 tempfail $tmpf2 error $err2"
check "phase 2: milter exits 0 on SIGTERM" [ "$mrc" = 0 ]
check "phase 2: messages in flight at SIGTERM ($inflight)" [ "${inflight:-0}" -ge 1 ]
check "phase 2: no message left unfinished" sh -c '! grep -q unfinished "$1"' sh "$LOG"
check "phase 2: the held message accepted after SIGTERM" grep -q '^data 250' "$B/hold.out"
check "phase 2: load all answered ($sent2 = $ok2 + $rej2 + $tmpf2, $err2 errors)" \
    [ "$sent2:$((ok2 + rej2 + tmpf2)):$err2" = "$N:$N:0" ]
wait_sink $((d1 + ok2 + 1)) >/dev/null
d2=$(($(sink_count) - d1))
check "phase 2: zero loss (delivered $d2 = accepted $ok2 + held 1)" [ "$d2" = $((ok2 + 1)) ]
check "phase 2: rejects match the milter log" \
    [ $(($(grep -c 'verdict=\(virus-\)\{0,1\}reject' "$LOG") - rej0)) = "$rej2" ]
untagged=$(ls "$B/sink"/* | xargs grep -L '^X-Spam-Status: ' | wc -l)
check "phase 2: every delivered copy tagged ($untagged untagged)" [ "$untagged" = 0 ]

reports=$(cat "$B/tsan"/report.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer')
check "no ThreadSanitizer report ($reports)" [ "$reports" = 0 ]
if [ "$reports" != 0 ] || [ "$nfail" != 0 ]; then
	cat "$B/tsan"/report.* 2>/dev/null | head -n 150
	echo "--- milter log"; grep -v 'verdict=' "$LOG" | tail -n 20
	echo "--- $MTA log"; mta_log "$B" | tail -n 10
fi
finish
