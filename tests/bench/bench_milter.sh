#!/bin/sh
# bench_milter.sh HAMLET CORPUS_DIR - hamlet-milter under load behind real
# MTAs on 127.0.0.1, called by tests/bench/bench.sh.
#
# For each MTA in BENCH_MILTER_MTAS (default "postfix sendmail"; sendmail
# is unpacked from Debian's .debs into a private root), BENCH_MILTER_N
# messages (default 2000) spread evenly over the corpus are pushed over
# SMTP by BENCH_MILTER_CONCURRENCY clients (default 4; with
# BENCH_MILTER_NEWCONN=1 one connection per message), twice: through the
# MTA alone (the baseline) and through the MTA + hamlet-milter. Reports
# messages/s and the time ratio, SMTP and scan latency percentiles, CPU
# per message of the MTA (its daemon and every child) and of the milter
# (engine vs front end), the milter's RSS over the run and its peak, and
# checks zero loss: every message is delivered to the sink or rejected
# (counted), and every delivered copy carries X-Spam-Status. Last, the
# same messages go BENCH_MILTER_PASSES times (default 3) through one
# milter process behind Postfix: RSS after each pass shows whether memory
# stays flat.
# The milter binary: $HAMLET_MILTER, else next to HAMLET, else
# milter/hamlet-milter. Needs root (MTA instances); installs what it needs.
set -u
H=${1:?usage: bench_milter.sh HAMLET CORPUS_DIR}
CORPUS=${2:?usage: bench_milter.sh HAMLET CORPUS_DIR}
N=${BENCH_MILTER_N:-2000}
CONC=${BENCH_MILTER_CONCURRENCY:-4}
NEWCONN=${BENCH_MILTER_NEWCONN:-}
MTAS=${BENCH_MILTER_MTAS:-postfix sendmail}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MT=$ROOT/tests/data/milter
. "$MT/postfix_instance.sh"
. "$MT/sendmail_instance.sh"

M=${HAMLET_MILTER:-}
if [ -z "$M" ]; then
	for c in "$(dirname "$H")/hamlet-milter" "$ROOT/milter/hamlet-milter"; do
		[ -x "$c" ] && { M=$c; break; }
	done
fi
[ -n "$M" ] && [ -x "$M" ] || { echo "bench_milter: hamlet-milter not found (set HAMLET_MILTER)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench_milter: skipped (needs root for MTA instances)"; exit 0; }

# sendmail wants every directory on its paths root-owned, not world-writable
B=$(mktemp -d /var/spool/hamlet-bench.XXXXXX)
chmod 755 "$B"
SPID= MPID= RPID=
cleanup() {
	pf_stop "$B/mta"
	sm_stop "$B/mta"
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
echo "messages: $N of $total corpus files, $CONC SMTP clients${NEWCONN:+ (one connection per message)}"

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
mkdir -p "$B/run"
chmod -R a+rX "$B"

now() { date +%s.%N; }

mta_up() {	# mta_up MTA DIR PORT SINKPORT MILTERSPEC
	case $1 in
	postfix) pf_setup "$2" "$3" "$4" "$5" >/dev/null && pf_start "$2" ;;
	sendmail) sm_setup "$2" "$3" "$4" "$5" && sm_start "$2" ;;
	esac
}
mta_cpu() { case $1 in postfix) pf_cpu "$2" ;; sendmail) sm_cpu "$2" ;; esac; }
mta_down() { case $1 in postfix) pf_stop "$2" ;; sendmail) sm_stop "$2" ;; esac; }

# run_phase MTA NAME MILTERSPEC: sink + MTA (+ milter), push the list,
# wait until everything accepted is delivered; leaves $B/NAME.*
run_phase() {
	mta=$1 name=$2 milter=$3
	port=$(pf_free_port); sinkport=$(pf_free_port)
	rm -rf "$B/mta" "$B/sink"
	mkdir -p "$B/sink" "$B/mta"
	chmod 755 "$B/mta"
	python3 "$MT/smtp_sink.py" --port "$sinkport" --outdir "$B/sink" --quiet \
	    > "$B/$name.sink.log" 2>&1 &
	SPID=$!
	mta_up "$mta" "$B/mta" "$port" "$sinkport" "$milter" || return 1
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
	mta_cpu "$mta" "$B/mta" > "$B/$name.mtacpu"
	mta_down "$mta" "$B/mta"
	kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=
}

pcts() {	# pcts < numbers: p50 p90 p99 max
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
	    printf "p50 %.1f, p90 %.1f, p99 %.1f, max %.1f", v[int(NR * 0.5 + 0.5) < 1 ? 1 : int(NR * 0.5 + 0.5)],
	    v[int(NR * 0.9 + 0.5)], v[int(NR * 0.99 + 0.5)], v[NR] }'
}

report() {	# report NAME: throughput + zero-loss accounting
	name=$1
	read -r t0 t1 delivered < "$B/$name.time"
	set -- $(cat "$B/$name.sum")
	sent=$2 rej=$6 tmp=$8 err=${10}
	wall=$(echo "$t1 - $t0" | bc -l)
	printf '%s: %d sent, %d delivered, %d rejected, %d tempfail, %d error, lost %d; %.2f s until all delivered, %.1f msgs/s\n' \
	    "$name" "$sent" "$delivered" "$rej" "$tmp" "$err" "$((sent - delivered - rej - tmp))" \
	    "$wall" "$(echo "$sent / $wall" | bc -l)"
	awk -F '\t' '$2 == "tempfail" || $2 == "error" { print "  " $2 " " $3 " " $5 ": " $1 }' \
	    "$B/$name.tsv" | head -n 5
	printf '%s: SMTP transaction latency ms: %s\n' "$name" \
	    "$(awk -F '\t' '{ print $4 * 1000 }' "$B/$name.tsv" | pcts)"
}

status=0
for mta in $MTAS; do
	echo
	case $mta in
	postfix)
		pf_install || { echo "postfix: skipped (cannot install postfix/swaks)"; continue; }
		echo "== Postfix $(postconf -d -h mail_version 2>/dev/null)" ;;
	sendmail)
		sm_install || { echo "sendmail: skipped (cannot unpack sendmail)"; continue; }
		echo "== sendmail $("$SM_BIN" -d0.1 -bt < /dev/null 2>/dev/null | sed -n 's/^Version //p')" ;;
	*)	echo "unknown MTA $mta"; continue ;;
	esac

	# 1. baseline: the MTA alone
	run_phase "$mta" "$mta" "" || { echo "$mta: baseline failed"; status=1; continue; }
	report "$mta"

	# 2. the MTA + hamlet-milter
	SOCK=$B/run/milter.sock
	rm -f "$SOCK"	# the dropped milter cannot unlink it in root's $B/run
	"$M" -f -c "$B/hamlet.conf" -p "unix:$SOCK" 2> "$B/$mta.milter.log" &
	MPID=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 300 ]; do
		kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; i=$((i + 1))
	done
	[ -S "$SOCK" ] || { echo "milter did not start:"; tail -5 "$B/$mta.milter.log"; exit 1; }
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$MPID/status")
	( while kill -0 "$MPID" 2>/dev/null; do
		awk '/^VmRSS/ { print $2 }' "/proc/$MPID/status" 2>/dev/null
		sleep 0.25
	  done ) > "$B/$mta.rss" &
	RPID=$!
	run_phase "$mta" "$mta+milter" "unix:$SOCK" || { echo "$mta: milter phase failed"; status=1; }
	cpu=$(awk '{ print ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$MPID/stat")
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$MPID/status")
	kill -TERM "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; RPID=
	kill -TERM "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null; MPID=
	report "$mta+milter"
	LOG=$B/$mta.milter.log

	read -r a0 a1 _ < "$B/$mta.time"
	read -r b0 b1 _ < "$B/$mta+milter.time"
	scanned=$(grep -c ': verdict=' "$LOG")
	mta_a=$(echo "$(cat "$B/$mta.mtacpu") * 1000 / $N" | bc -l)
	mta_b=$(echo "$(cat "$B/$mta+milter.mtacpu") * 1000 / $N" | bc -l)
	mil=$(echo "$cpu * 1000 / $N" | bc -l)
	eng=$(sed -n 's/.* cpu=\([0-9.]*\)ms.*/\1/p' "$LOG" | awk -v n="$N" '{ t += $1 } END { printf "%.3f", t / n }')
	fe=$(echo "$mil - $eng" | bc -l)
	printf 'wall time ratio %s+milter / %s alone: %.3f (shared machine: noisy)\n' "$mta" "$mta" \
	    "$(echo "($b1 - $b0) / ($a1 - $a0)" | bc -l)"
	printf 'CPU per message: %s alone %.2f ms; with the milter: %s %.2f ms + milter %.2f ms (engine %.2f, front end %.2f)\n' \
	    "$mta" "$mta_a" "$mta" "$mta_b" "$mil" "$eng" "$fe"
	printf 'milter cost added to the MTA own CPU per message: %.1f%% with scanning, %.1f%% front end only (target < 10%%)\n' \
	    "$(echo "($mta_b + $mil - $mta_a) * 100 / $mta_a" | bc -l)" \
	    "$(echo "($mta_b + $fe - $mta_a) * 100 / $mta_a" | bc -l)"
	printf 'milter log: %d messages scanned (%d spam, %d reject, %d ham, %d tempfail)\n' "$scanned" \
	    "$(grep -c 'verdict=spam' "$LOG")" "$(grep -c 'verdict=reject' "$LOG")" \
	    "$(grep -c 'verdict=ham' "$LOG")" "$(grep -c 'verdict=tempfail' "$LOG")"
	printf 'scan latency ms: %s\n' "$(sed -n 's/.* scan=\([0-9.]*\)ms.*/\1/p' "$LOG" | pcts)"
	n4=$(wc -l < "$B/$mta.rss")
	early=$(sed -n "$((n4 / 10 + 1))p" "$B/$mta.rss")
	half=$(sed -n "$((n4 / 2 + 1))p" "$B/$mta.rss")
	final=$(tail -n 1 "$B/$mta.rss")
	printf 'milter RSS: %d MB at start, %d MB at 10%% of the run, %d MB at 50%%, %d MB at the end, peak (VmHWM) %d MB\n' \
	    "$((rss0 / 1024))" "$((${early:-0} / 1024))" "$((${half:-0} / 1024))" \
	    "$((${final:-0} / 1024))" "$((hwm / 1024))"
	# a message the MTA refuses on its own (also without the milter, e.g.
	# sendmail 8.17 and bare CRs) is answered, not lost, and never scanned
	untag=$(cat "$B/$mta+milter.untagged")
	set -- $(cat "$B/$mta+milter.sum")
	read -r _ _ delivered < "$B/$mta+milter.time"
	lost=$(($2 - delivered - $6 - $8 - ${10}))
	awk -F '\t' '$2 != "ok" && $2 != "reject" { print $1 }' "$B/$mta.tsv" | sort > "$B/$mta.refused"
	awk -F '\t' '$2 != "ok" && $2 != "reject" { print $1 }' "$B/$mta+milter.tsv" | sort > "$B/$mta+milter.refused"
	own=$(wc -l < "$B/$mta.refused")
	extra=$(comm -13 "$B/$mta.refused" "$B/$mta+milter.refused" | wc -l)
	if [ "$lost" = 0 ] && [ "$untag" = 0 ] && [ "$extra" = 0 ] &&
	    [ "$scanned" -ge $((N - own)) ]; then
		echo "zero loss: yes (every message delivered with X-Spam-Status or rejected; $own refused by $mta itself in both runs)"
	else
		echo "zero loss: NO (lost $lost, delivered without X-Spam-Status $untag, refused only with the milter $extra, scanned $scanned of $N)"
		status=1
	fi
done

# memory over repeated passes: the same messages three times through one
# milter process; RSS after each pass must stay flat (no growth per message)
PASSES=${BENCH_MILTER_PASSES:-3}
if [ "$PASSES" -gt 1 ] && pf_install; then
	echo
	echo "== milter memory over $PASSES passes of the $N messages (Postfix)"
	SOCK=$B/run/milter.sock
	rm -f "$SOCK"
	"$M" -f -c "$B/hamlet.conf" -p "unix:$SOCK" 2> "$B/passes.milter.log" &
	MPID=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	port=$(pf_free_port); sinkport=$(pf_free_port)
	rm -rf "$B/mta" && mkdir -p "$B/mta" && chmod 755 "$B/mta"
	python3 "$MT/smtp_sink.py" --port "$sinkport" --outdir "$B/sink" --quiet \
	    --nostore > /dev/null 2>&1 &
	SPID=$!
	if mta_up postfix "$B/mta" "$port" "$sinkport" "unix:$SOCK"; then
		i=0
		until swaks --server 127.0.0.1 --port "$port" --quit-after CONNECT >/dev/null 2>&1 ||
		    [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
		line="milter RSS after each pass:"
		p=1
		while [ $p -le "$PASSES" ]; do
			python3 "$MT/smtp_load.py" --port "$port" --concurrency "$CONC" \
			    < "$B/list" > "$B/pass$p.sum"
			line="$line $(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$MPID/status") MB"
			p=$((p + 1))
		done
		echo "$line (peak $(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$MPID/status") MB)"
		cat "$B"/pass*.sum | awk '{ s += $2; t += $8 + $10 } END { printf "%d messages, %d tempfail/error\n", s, t }'
		mta_down postfix "$B/mta"
	fi
	kill -TERM "$MPID" "$SPID" 2>/dev/null; wait "$MPID" "$SPID" 2>/dev/null; MPID= SPID=
fi
exit $status
