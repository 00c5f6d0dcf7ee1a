#!/bin/sh
# bench_milter.sh HAMLET CORPUS_DIR - hamlet-milter under load behind a real
# MTA (a private Postfix on 127.0.0.1), called by tests/bench/bench.sh.
#
# BENCH_MILTER_N messages (default 2000) spread evenly over the corpus are
# pushed over SMTP by 4 concurrent clients, twice: through Postfix alone
# (the baseline) and through Postfix + hamlet-milter. Reports messages/s,
# the ratio to the baseline, SMTP and scan latency percentiles, the
# milter's CPU per message, its peak RSS and RSS growth over the run, and
# checks zero loss: every message is delivered to the sink or rejected
# (counted), and every delivered copy carries X-Spam-Status.
# The milter binary: $HAMLET_MILTER, else next to HAMLET, else
# milter/hamlet-milter. Needs root (Postfix instance); installs postfix.
set -u
H=${1:?usage: bench_milter.sh HAMLET CORPUS_DIR}
CORPUS=${2:?usage: bench_milter.sh HAMLET CORPUS_DIR}
N=${BENCH_MILTER_N:-2000}
CONC=${BENCH_MILTER_CONCURRENCY:-4}
NEWCONN=${BENCH_MILTER_NEWCONN:-}	# set: one SMTP connection per message
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MT=$ROOT/tests/data/milter
. "$MT/postfix_instance.sh"

M=${HAMLET_MILTER:-}
if [ -z "$M" ]; then
	for c in "$(dirname "$H")/hamlet-milter" "$ROOT/milter/hamlet-milter"; do
		[ -x "$c" ] && { M=$c; break; }
	done
fi
[ -n "$M" ] && [ -x "$M" ] || { echo "bench_milter: hamlet-milter not found (set HAMLET_MILTER)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench_milter: skipped (needs root for a Postfix instance)"; exit 0; }
pf_install || { echo "bench_milter: skipped (postfix/swaks cannot be installed)"; exit 0; }

B=$(mktemp -d /var/tmp/hamlet-bench.XXXXXX)
chmod 755 "$B"
SPID= MPID= RPID=
cleanup() {
	pf_stop "$B/pf"
	for p in $RPID $MPID $SPID; do kill -TERM "$p" 2>/dev/null; done
	for p in $RPID $MPID $SPID; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 10 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "${BENCH_KEEP:-}" ] && echo "kept $B" || rm -rf "$B"
}
trap cleanup EXIT INT TERM

find "$CORPUS" -type f ! -name '.*' | sort > "$B/all"
total=$(wc -l < "$B/all")
[ "$N" -gt "$total" ] && N=$total
awk -v n="$N" -v t="$total" 'int((NR - 1) * n / t) != int(NR * n / t)' "$B/all" > "$B/list"
N=$(wc -l < "$B/list")
echo "messages: $N of $total corpus files, $CONC SMTP clients${NEWCONN:+ (one connection per message)}, MTA: Postfix $(postconf -d -h mail_version 2>/dev/null)"

# milter config: the shipped rules, no Bayes, loopback scanned, reject at 20
{
	echo "hostname bench.example"
	echo "use_bayes no"
	echo "trusted_networks \"\""
	[ -d "$ROOT/rules/default" ] && echo "rules_dir $ROOT/rules/default"
	echo "reject_score 20"
	echo "milter_user nobody"
	echo "milter_socket_mode 0666"
} > "$B/hamlet.conf"
chmod 644 "$B/hamlet.conf"
chmod -R a+rX "$B"

now() { date +%s.%N; }

# run_phase NAME MILTERSPEC: sink + Postfix (+ milter), push the list,
# wait until everything accepted is delivered; leaves $B/NAME.*
run_phase() {
	name=$1 milter=$2
	port=$(pf_free_port); sinkport=$(pf_free_port)
	rm -rf "$B/pf" "$B/sink"
	mkdir -p "$B/sink"
	python3 "$MT/smtp_sink.py" --port "$sinkport" --outdir "$B/sink" --quiet \
	    > "$B/$name.sink.log" 2>&1 &
	SPID=$!
	pf_setup "$B/pf" "$port" "$sinkport" "$milter" >/dev/null || return 1
	pf_start "$B/pf" || return 1
	i=0
	until swaks --server 127.0.0.1 --port "$port" --quit-after CONNECT >/dev/null 2>&1 ||
	    [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
	t0=$(now)
	python3 "$MT/smtp_load.py" --port "$port" --concurrency "$CONC" \
	    ${NEWCONN:+--new-connection} --out "$B/$name.tsv" < "$B/list" > "$B/$name.sum"
	okn=$(awk '{ print $4 }' "$B/$name.sum")
	i=0
	while [ "$(ls "$B/sink" | wc -l)" -lt "$okn" ] && [ $i -lt 1200 ]; do
		sleep 0.1; i=$((i + 1))
	done
	t1=$(now)
	delivered=$(ls "$B/sink" | wc -l)
	echo "$t0 $t1 $delivered" > "$B/$name.time"
	missing=$(grep -L '^X-Spam-Status: ' "$B/sink"/* 2>/dev/null | wc -l)
	echo "$missing" > "$B/$name.untagged"
	pf_cpu "$B/pf" > "$B/$name.mtacpu"
	pf_stop "$B/pf"
	kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=
}

pcts() {	# pcts < numbers: p50 p90 p99 max
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
	    printf "p50 %.1f, p90 %.1f, p99 %.1f, max %.1f", v[int(NR * 0.5 + 0.5) < 1 ? 1 : int(NR * 0.5 + 0.5)],
	    v[int(NR * 0.9 + 0.5)], v[int(NR * 0.99 + 0.5)], v[NR] }'
}

report() {	# report NAME: one line of throughput + zero-loss accounting
	name=$1
	read -r t0 t1 delivered < "$B/$name.time"
	set -- $(cat "$B/$name.sum")
	sent=$2 okn=$4 rej=$6 tmp=$8 err=${10}
	wall=$(echo "$t1 - $t0" | bc -l)
	rate=$(echo "$sent / $wall" | bc -l)
	lost=$((sent - delivered - rej))
	printf '%s: %d sent, %d delivered, %d rejected, %d tempfail, %d error, lost %d; %.2f s until all delivered, %.1f msgs/s\n' \
	    "$name" "$sent" "$delivered" "$rej" "$tmp" "$err" "$lost" "$wall" "$rate"
	printf '%s: SMTP transaction latency ms: %s\n' "$name" \
	    "$(awk -F '\t' '{ print $4 * 1000 }' "$B/$name.tsv" | pcts)"
}

# 1. baseline: Postfix alone
run_phase mta "" || { echo "bench_milter: Postfix baseline failed"; exit 1; }
report mta

# 2. Postfix + hamlet-milter
SOCK=$B/run/milter.sock
mkdir -p "$B/run"; chmod 755 "$B/run"
"$M" -f -c "$B/hamlet.conf" -p "unix:$SOCK" 2> "$B/milter.log" &
MPID=$!
i=0
while [ ! -S "$SOCK" ] && [ $i -lt 300 ]; do
	kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; i=$((i + 1))
done
[ -S "$SOCK" ] || { echo "bench_milter: milter did not start:"; tail -5 "$B/milter.log"; exit 1; }
rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$MPID/status")
( while kill -0 "$MPID" 2>/dev/null; do
	awk '/^VmRSS/ { print $2 }' "/proc/$MPID/status" 2>/dev/null
	sleep 0.25
  done ) > "$B/rss.txt" &
RPID=$!
run_phase milter "unix:$SOCK" || { echo "bench_milter: milter phase failed"; exit 1; }
cpu=$(awk '{ print ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$MPID/stat")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$MPID/status")
kill -TERM "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; RPID=
report milter

read -r a0 a1 _ < "$B/mta.time"
read -r b0 b1 _ < "$B/milter.time"
ratio=$(echo "($b1 - $b0) / ($a1 - $a0)" | bc -l)
scanned=$(grep -c ': verdict=' "$B/milter.log")
mta_a=$(echo "$(cat "$B/mta.mtacpu") * 1000 / $N" | bc -l)
mta_b=$(echo "$(cat "$B/milter.mtacpu") * 1000 / $N" | bc -l)
mil=$(echo "$cpu * 1000 / $N" | bc -l)
printf 'wall time ratio MTA+milter / MTA alone: %.3f (%d msgs, %d clients, shared machine: noisy)\n' "$ratio" "$N" "$CONC"
printf 'CPU per message: MTA alone %.2f ms; with the milter: MTA %.2f ms + milter %.2f ms\n' "$mta_a" "$mta_b" "$mil"
printf 'milter cost added to the MTA own CPU per message: %.1f%% (target < 10%%)\n' \
    "$(echo "($mta_b + $mil - $mta_a) * 100 / $mta_a" | bc -l)"
scanms=$(sed -n 's/.* cpu=\([0-9.]*\)ms.*/\1/p' "$B/milter.log" | awk -v n="$N" '{ t += $1 } END { printf "%.3f", t / n }')
fe=$(echo "$mil - $scanms" | bc -l)
printf '  of which the scan engine %.2f ms CPU and the milter front end (libmilter, collecting, replies) %.2f ms: the front end adds %.1f%% to the MTA alone\n' \
    "$scanms" "$fe" "$(echo "($mta_b + $fe - $mta_a) * 100 / $mta_a" | bc -l)"
printf 'milter log: %d messages scanned (%d spam, %d reject, %d ham, %d tempfail)\n' "$scanned" \
    "$(grep -c 'verdict=spam' "$B/milter.log")" "$(grep -c 'verdict=reject' "$B/milter.log")" \
    "$(grep -c 'verdict=ham' "$B/milter.log")" "$(grep -c 'verdict=tempfail' "$B/milter.log")"
printf 'scan latency ms: %s\n' "$(sed -n 's/.* scan=\([0-9.]*\)ms.*/\1/p' "$B/milter.log" | pcts)"
n4=$(wc -l < "$B/rss.txt")
early=$(sed -n "$((n4 / 10 + 1))p" "$B/rss.txt")
half=$(sed -n "$((n4 / 2 + 1))p" "$B/rss.txt")
final=$(tail -n 1 "$B/rss.txt")
printf 'milter RSS: %d MB at start, %d MB at 10%% of the run, %d MB at 50%%, %d MB at the end, peak (VmHWM) %d MB\n' \
    "$((rss0 / 1024))" "$((${early:-0} / 1024))" "$((${half:-0} / 1024))" "$((${final:-0} / 1024))" "$((hwm / 1024))"
untag=$(cat "$B/milter.untagged")
lost=$(($(awk '{ print $2 }' "$B/milter.sum") - $(awk '{ print $3 }' "$B/milter.time") - $(awk '{ print $6 }' "$B/milter.sum")))
if [ "$lost" = 0 ] && [ "$untag" = 0 ] && [ "$scanned" -ge "$N" ]; then
	echo "zero loss: yes (every message delivered with X-Spam-Status or rejected)"
else
	echo "zero loss: NO (lost $lost, delivered without X-Spam-Status $untag, scanned $scanned of $N)"
	exit 1
fi
