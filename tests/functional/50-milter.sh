#!/bin/sh
# 50-milter.sh - hamlet-milter under miltertest: tag, forged X-Spam removal,
# trusted client, authenticated sender, two messages per connection, abort,
# scan size limit; then SIGHUP reloads to reject and quarantine configs, a
# bad config that must be refused, and SIGTERM with a message in flight.
# Starts the milter itself on a socket in a private directory and stops it.
. ./lib.sh
: "${HAMLET_MILTER:?HAMLET_MILTER must point at hamlet-milter}"
MT=$DATA/milter
if ! command -v miltertest >/dev/null 2>&1; then
	echo "skip: miltertest not installed (apt-get install miltertest)"
	finish; exit
fi
D=$T/milter
mkdir -p "$D" && chmod 700 "$D"
SOCK=unix:$D/milter.sock
CONF=$D/hamlet.conf
LOG=$D/milter.log
cp "$MT/base.conf" "$CONF"
echo "rules_dir $MT/rules" >> "$CONF"
PID=

stop_milter() {
	[ -n "$PID" ] || return 0
	stop_pids 10 "$PID"
	PID=
}
trap 'stop_milter; rm -rf "$T"' EXIT

start_milter() {
	"$HAMLET_MILTER" -f -c "$CONF" -p "$SOCK" 2>>"$LOG" &
	PID=$!
	i=0
	while [ ! -S "$D/milter.sock" ] && [ $i -lt 100 ]; do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	[ -S "$D/milter.sock" ]
}

mtest() {	# mtest NAME: run $MT/NAME.lua against the running milter
	if out=$(MILTER_SOCK=$SOCK MT_LIB=$MT/mtlib.lua \
	    timeout 30 miltertest -s "$MT/$1.lua" 2>&1) &&
	    printf '%s\n' "$out" | grep -q '^\*\*\* PASS'; then
		ok "miltertest $1"
	else
		fail "miltertest $1"
		printf '%s\n' "$out" | tail -n 5
	fi
}

reload() {	# reload: SIGHUP and wait for the outcome in the log
	n=$(grep -c 'reload' "$LOG")
	kill -HUP "$PID"
	i=0
	while [ "$(grep -c 'reload' "$LOG")" = "$n" ] && [ $i -lt 100 ]; do
		sleep 0.05; i=$((i + 1))
	done
}

check "-t accepts the test config" "$HAMLET_MILTER" -t -c "$CONF"
printf 'reject_score banana\n' > "$D/bad.conf"
check "-t refuses a bad config" sh -c '! "$1" -t -c "$2"' sh "$HAMLET_MILTER" "$D/bad.conf"
if "$HAMLET_MILTER" -t -c "$D/bad.conf" 2>&1 | grep -q "bad.conf:1:"; then
	ok "bad config error names file:line"
else
	fail "bad config error names file:line"
fi

if ! start_milter; then
	fail "milter starts"; cat "$LOG"; finish; exit
fi
ok "milter starts"
check "socket mode 0660" sh -c '[ "$(stat -c %a "$1")" = 660 ]' sh "$D/milter.sock"

for t in tag forged trusted auth two abort big; do
	mtest $t
done
# one log line per message, with queue id, verdict, score and symbols
check "log: spam line" grep -q 'TAGSPAM1: verdict=spam score=1000.0/5.0 scan=.*symbols=GTUBE' "$LOG"
check "log: ham line" grep -q 'TAGHAM1: verdict=ham ' "$LOG"
check "log: trusted skipped" grep -q 'TRUST1: verdict=skipped reason=trusted-client' "$LOG"
check "log: auth skipped" grep -q 'AUTH1: verdict=skipped reason=authenticated' "$LOG"
check "log: aborted message not logged" sh -c '! grep -q ABORT1 "$1"' sh "$LOG"

# reload to reject
echo "reject_score 20" >> "$CONF"
reload
check "reload logged" grep -q 'reloaded configuration (generation 2)' "$LOG"
mtest reject
check "log: reject line" grep -q 'REJ1: verdict=reject' "$LOG"

# reload to quarantine
sed -i 's/^reject_score.*/quarantine_score 10/' "$CONF"
reload
mtest quarantine

# reload to discard (beats quarantine)
echo "discard_score 999" >> "$CONF"
reload
mtest discard
check "log: discard line" grep -q 'DISC1: verdict=discard' "$LOG"
sed -i '/^discard_score/d' "$CONF"
reload

# a bad config keeps the running one
echo "reject_score banana" >> "$CONF"
reload
check "bad reload refused and logged" grep -q "reload failed, keeping the running configuration: .*hamlet.conf:[0-9]*: reject_score" "$LOG"
mtest quarantine

# ClamAV on (the AV tests' EICAR signature): forged X-Virus-* replaced
sed -i '/^reject_score/d; /^quarantine_score/d' "$CONF"
mkdir -p "$D/avdb" && cp "$DATA/av/db/eicar.ndb" "$D/avdb/"
printf 'av_db_dir %s\nav_action reject\n' "$D/avdb" >> "$CONF"
reload
check "reload with ClamAV" grep -q 'reloaded configuration (generation 6)' "$LOG"
mtest virus
check "log: virus-reject line" grep -q 'VIR2: verdict=virus-reject .*virus=Hamlet.Test.Eicar' "$LOG"

# failure policy: a scan past scan_timeout (3 MB of HTML, 10 ms budget)
python3 -c '
import random, sys
random.seed(1)
w = ["alpha", "free", "money", "click", "here", "meeting", "report",
     "http://example.com/x", "<b>bold</b>"]
out = open(sys.argv[1], "w", newline="")
out.write("<html><body>\r\n")
for i in range(20000):
    out.write(" ".join(random.choice(w) for _ in range(20)) + "\r\n")
out.write("</body></html>\r\n")
' "$D/big.body"
sed -i '/^av_db_dir/d; /^av_action/d' "$CONF"
printf 'scan_timeout 10ms\nscan_max_size 8M\non_error tempfail\n' >> "$CONF"
reload
out=$(MILTER_SOCK=$SOCK MT_LIB=$MT/mtlib.lua MT_BIG=$D/big.body MT_EXPECT=tempfail \
    timeout 30 miltertest -s "$MT/timeout.lua" 2>&1)
if printf '%s\n' "$out" | grep -q '^\*\*\* PASS'; then ok "timeout: on_error tempfail -> 451 4.7.1"
else fail "timeout: on_error tempfail -> 451 4.7.1"; printf '%s\n' "$out" | tail -n 3; fi
check "log: tempfail line says why" grep -q 'SLOW1: verdict=tempfail .*error=scan time budget' "$LOG"
sed -i 's/^on_error .*/on_error accept/' "$CONF"
reload
out=$(MILTER_SOCK=$SOCK MT_LIB=$MT/mtlib.lua MT_BIG=$D/big.body MT_EXPECT=accept \
    timeout 30 miltertest -s "$MT/timeout.lua" 2>&1)
if printf '%s\n' "$out" | grep -q '^\*\*\* PASS'; then ok "timeout: on_error accept -> delivered untagged"
else fail "timeout: on_error accept -> delivered untagged"; printf '%s\n' "$out" | tail -n 3; fi
sed -i '/^scan_timeout/d; /^scan_max_size 8M/d; /^on_error/d' "$CONF"
reload

# Bayes: a small store trained with the CLI, used by the milter, and
# reopened by a reload
mkdir -p "$D/train/spam" "$D/train/ham" "$D/bayes"
i=1
while [ $i -le 12 ]; do
	printf 'From: s%d@spam.example\nTo: you@test.example\nSubject: cheap pills %d\n\nBuy cheap pills online now, viagra discount pharmacy offer %d, order today.\n' \
	    $i $i $i > "$D/train/spam/$i"
	printf 'From: colleague%d@test.example\nTo: you@test.example\nSubject: meeting notes %d\n\nHi team, the meeting notes for the project review %d are attached, see you tomorrow.\n' \
	    $i $i $i > "$D/train/ham/$i"
	i=$((i + 1))
done
check "bayes: store trained" sh -c '"$1" train-spam --db "$2" "$3" && "$1" train-ham --db "$2" "$4"' \
    sh "$HAMLET" "$D/bayes" "$D/train/spam" "$D/train/ham"
printf 'use_bayes yes\nbayes_path %s\nbayes_min_spam 10\nbayes_min_ham 10\n' "$D/bayes" >> "$CONF"
reload
mtest bayes
reload
export MT_TAG=2
mtest bayes
unset MT_TAG
check "log: Bayes bands in the milter log" grep -q 'BAYSPAM2: .*symbols=.*BAYES_9' "$LOG"

# SIGTERM with a message in flight: it is finished, then the milter exits
out=$D/inflight.out
: > "$out"
MILTER_SOCK=$SOCK MT_LIB=$MT/mtlib.lua timeout 30 miltertest -s "$MT/inflight.lua" >"$out" 2>&1 &
MTPID=$!
i=0
while ! grep -q READY "$out" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM "$PID"
wait "$MTPID"
check "SIGTERM: message in flight finished" grep -q '^\*\*\* PASS' "$out"
i=0
while kill -0 "$PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$PID" 2>/dev/null; then
	fail "SIGTERM: milter exits"
else
	ok "SIGTERM: milter exits"
	wait "$PID"; rc=$?
	PID=
	check "SIGTERM: exit status 0" [ "$rc" = 0 ]
fi
check "socket removed at exit" [ ! -e "$D/milter.sock" ]
check "log: stopped" grep -q 'stopped' "$LOG"
# daemon mode on a TCP socket (milter_socket from the config): detaches,
# writes the pid file, stops on SIGTERM
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SOCK=inet:$PORT@127.0.0.1
cp "$MT/base.conf" "$D/daemon.conf"
printf 'rules_dir %s\nmilter_pidfile %s\nmilter_socket %s\n' "$MT/rules" \
    "$D/milter.pid" "$SOCK" >> "$D/daemon.conf"
if "$HAMLET_MILTER" -c "$D/daemon.conf" 2>>"$LOG"; then
	ok "daemon start returns 0"
else
	fail "daemon start returns 0"
fi
i=0
while [ ! -s "$D/milter.pid" ] && [ $i -lt 100 ]; do
	sleep 0.05; i=$((i + 1))
done
DPID=$(cat "$D/milter.pid" 2>/dev/null)
check "daemon: pid file names a live process" kill -0 "${DPID:-0}"
mtest two
if [ -n "$DPID" ]; then
	kill -TERM "$DPID"
	i=0
	while kill -0 "$DPID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 "$DPID" 2>/dev/null; then
		fail "daemon: stops on SIGTERM"; kill -KILL "$DPID"
	else
		ok "daemon: stops on SIGTERM"
	fi
fi
check "daemon: pid file removed" [ ! -e "$D/milter.pid" ]
if [ "$nfail" != 0 ]; then echo "--- milter log"; tail -n 30 "$LOG"; fi
finish
