#!/bin/sh
# bench_milter.sh HAMLET CORPUS_DIR - hamlet-milter under load behind real
# MTAs on 127.0.0.1, called by tests/bench/bench.sh.
#
# For each MTA in BENCH_MILTER_MTAS (default "postfix sendmail"; sendmail
# is unpacked from Debian's .debs into a private root), BENCH_MILTER_N
# messages (default 6046: the whole corpus; runs of 2,000 moved too much
# from round to round to resolve a 10% target, see docs/milter.md) spread
# evenly over the corpus are pushed over
# SMTP by BENCH_MILTER_CONCURRENCY clients (default 4; with
# BENCH_MILTER_NEWCONN=1 one connection per message) in three setups:
#   alone   the MTA without a milter (the baseline)
#   null    the MTA + tests/bench/null_milter.c: hamlet's negotiation, no
#           work at all: the protocol floor any such milter costs
#           (BENCH_MILTER_NULL_FLAGS: its options, e.g. -r, -a, -s USEC)
#   hamlet  the MTA + hamlet-milter
# BENCH_MILTER_ROUNDS times (default 5), the order of the three rotated
# each round so that drift on the shared machine hits each setup alike.
# Every run starts a fresh MTA, sink and milter.
#
# The measure (docs/milter.md): the MTA's time per message is the wall
# time from the first SMTP connection until the sink holds every accepted
# message, divided by the messages sent, at this load; "milter adds X%"
# is hamlet's time per message over the MTA's alone, the median of the
# per-round ratios. Also reported: messages/s, SMTP and scan latency
# percentiles, CPU per message of the MTA (its daemons and every child)
# and of the milter process (engine vs front end), the milter's RSS over
# the first hamlet run and its peak, and zero loss: every message is
# delivered to the sink or rejected (counted), and every copy hamlet saw
# carries X-Spam-Status. Last, the same messages go BENCH_MILTER_PASSES
# times (default 3) through one milter process behind Postfix: RSS after
# each pass shows whether memory stays flat.
# The milter binary: $HAMLET_MILTER, else next to HAMLET, else
# milter/hamlet-milter. The null milter is compiled here with cc and
# libmilter. Needs root (MTA instances); installs what it needs.
set -u
H=${1:?usage: bench_milter.sh HAMLET CORPUS_DIR}
CORPUS=${2:?usage: bench_milter.sh HAMLET CORPUS_DIR}
N=${BENCH_MILTER_N:-6046}
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

# the null milter: built here, with the project's warnings
NULLM=$B/null_milter
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wformat=2 -Wshadow \
    -Wstrict-prototypes -Wmissing-prototypes -Wvla -pthread -I"$ROOT" \
    -o "$NULLM" "$HERE/null_milter.c" -lmilter ||
    { echo "bench_milter: cannot build the null milter"; exit 1; }
ROUNDS=${BENCH_MILTER_ROUNDS:-5}
HZ=$(getconf CLK_TCK)
SOCK=$B/run/milter.sock

pid_cpu() { awk -v hz="$HZ" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }

# milter_up KIND LOG: start hamlet-milter or the null milter on $SOCK
milter_up() {
	rm -f "$SOCK"	# the dropped milter cannot unlink it in root's $B/run
	case $1 in
	hamlet) "$M" -f -c "$B/hamlet.conf" -p "unix:$SOCK" 2> "$2" & ;;
	null) "$NULLM" ${BENCH_MILTER_NULL_FLAGS:-} "unix:$SOCK" 2> "$2" & ;;
	esac
	MPID=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 300 ]; do
		kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; i=$((i + 1))
	done
	[ -S "$SOCK" ] || { echo "$1 milter did not start:"; tail -5 "$2"; exit 1; }
}

milter_down() {
	kill -TERM "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null; MPID=
}

# median of numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else
    print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# median_ci < ratios: the ratios sorted, then a distribution-free interval
# for their median (order statistics x(k)..x(n+1-k), the largest k whose
# binomial coverage is at least 90%) and the verdict on the < 10% target:
# met when the whole interval is under 1.10, not met when it is all at or
# over, otherwise not resolved by this many rounds
median_ci() { sort -g | awk '{ v[NR] = $1 } END {
	n = NR; line = ""
	for (i = 1; i <= n; i++) line = line sprintf(" %.3f", v[i])
	# P(Binomial(n, 1/2) <= j), j = 0, 1, ...
	k = 0; cum = 0; c = 1
	for (j = 0; j < n; j++) {
		cum += c / 2 ^ n
		if (1 - 2 * cum < 0.90) break
		k = j + 1; cov = 1 - 2 * cum
		c = c * (n - j) / (j + 1)
	}
	if (k == 0) { print line " ci n/a (too few rounds for a 90% interval): not resolved"; exit }
	lo = v[k]; hi = v[n + 1 - k]
	verdict = hi < 1.10 ? "met" : lo >= 1.10 ? "NOT met" : "not resolved"
	printf "%s ci %+.1f%% to %+.1f%% (%.1f%% coverage) -> target < 10%%: %s\n",
	    line, (lo - 1) * 100, (hi - 1) * 100, cov * 100, verdict }'; }

# col FILE KIND FIELD: median of FIELD over the runs of KIND
col() { awk -v k="$2" -v f="$3" '$1 == k { print $f }' "$1" | median; }

# one run: run KIND ROUND; appends to $B/$mta.runs: kind round sent
# wall_s (until all delivered) mta_cpu_s milter_cpu_s engine_cpu_s
# receipt_s (until the last SMTP transaction ended) smtp_p50_ms
run() {
	kind=$1 r=$2 name=$mta.$1.$2
	mcpu=0 eng=0
	case $kind in
	alone)
		run_phase "$mta" "$name" "" || return 1 ;;
	*)
		milter_up "$kind" "$B/$name.milter.log"
		if [ "$kind" = hamlet ] && [ ! -f "$B/$mta.rss" ]; then
			rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$MPID/status")
			( while kill -0 "$MPID" 2>/dev/null; do
				awk '/^VmRSS/ { print $2 }' "/proc/$MPID/status" 2>/dev/null
				sleep 0.25
			  done ) > "$B/$mta.rss" &
			RPID=$!
		fi
		c0=$(pid_cpu "$MPID")
		run_phase "$mta" "$name" "unix:$SOCK" || { milter_down; return 1; }
		mcpu=$(echo "$(pid_cpu "$MPID") - $c0" | bc -l)
		if [ -n "$RPID" ]; then
			hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$MPID/status")
			kill -TERM "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; RPID=
		fi
		milter_down
		[ "$kind" = hamlet ] && eng=$(sed -n 's/.* cpu=\([0-9.]*\)ms.*/\1/p' \
		    "$B/$name.milter.log" | awk '{ t += $1 } END { printf "%.4f", t / 1000 }')
		;;
	esac
	read -r t0 t1 _ < "$B/$name.time"
	set -- $(cat "$B/$name.sum")
	p50=$(awk -F '\t' '{ print $4 * 1000 }' "$B/$name.tsv" | median)
	echo "$kind $r $2 $(echo "$t1 - $t0" | bc -l) $(cat "$B/$name.mtacpu") $mcpu $eng ${12} $p50" >> "$B/$mta.runs"
	report "$name"
	check_loss "$kind" "$name" || { status=1; lossy=1; }
}

# check_loss KIND NAME: every message delivered or deliberately refused;
# what hamlet passed is tagged; nothing refused that the MTA alone takes
check_loss() {
	set -- "$1" "$2" $(cat "$B/$2.sum")
	read -r _ _ delivered < "$B/$2.time"
	lost=$(($4 - delivered - $8 - ${10}))
	awk -F '\t' '$2 != "ok" && $2 != "reject" { print $1 }' "$B/$2.tsv" | sort > "$B/$2.refused"
	[ "$1" = alone ] && { cat "$B/$2.refused" >> "$B/$mta.own"; [ "$lost" = 0 ]; return; }
	sort -u "$B/$mta.own" 2>/dev/null > "$B/$mta.own.s"
	extra=$(comm -13 "$B/$mta.own.s" "$B/$2.refused" | wc -l)
	untag=0 scanned=$N own=0
	if [ "$1" = hamlet ]; then
		untag=$(cat "$B/$2.untagged")
		scanned=$(grep -c ': verdict=' "$B/$2.milter.log")
		own=$(wc -l < "$B/$mta.own.s")
	fi
	[ "$lost" = 0 ] && [ "$untag" = 0 ] && [ "$extra" = 0 ] &&
	    [ "$scanned" -ge $((N - own)) ] && return 0
	echo "  LOSS: lost $lost, delivered without X-Spam-Status $untag, refused only with a milter $extra, scanned $scanned of $N"
	return 1
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
		# with a fully qualified host name: no 60 s stall
		echo "== sendmail $(unshare -u sh -c "hostname mta.test.example; exec '$SM_BIN' -d0.1 -bt" \
		    < /dev/null 2>/dev/null | sed -n 's/^Version //p')" ;;
	*)	echo "unknown MTA $mta"; continue ;;
	esac
	rm -f "$B/$mta.runs" "$B/$mta.rss" "$B/$mta.own"
	: > "$B/$mta.own"
	failed= lossy=
	r=1
	while [ $r -le "$ROUNDS" ] && [ -z "$failed" ]; do
		# rotate: alone null hamlet / null hamlet alone / hamlet alone null
		case $(((r - 1) % 3)) in
		0) order="alone null hamlet" ;;
		1) order="null hamlet alone" ;;
		2) order="hamlet alone null" ;;
		esac
		for k in $order; do
			run "$k" "$r" || { echo "$mta: $k run $r failed"; status=1; failed=1; break; }
		done
		r=$((r + 1))
	done
	[ -n "$failed" ] && continue
	R=$B/$mta.runs
	LOGS=$(ls "$B/$mta".hamlet.*.milter.log)

	# per round, per measure: with a milter over the MTA alone
	# (4: wall until delivered, 8: until the last SMTP transaction, 9: SMTP
	# transaction p50), as "round null/alone hamlet/alone hamlet/null"
	for f in 4 8 9; do
		awk -v f="$f" '{ v[$2, $1] = $f / $3 } END {
		    for (k in v) { split(k, a, SUBSEP); if (a[2] == "alone") {
			r = a[1]; print r, v[r, "null"] / v[r, "alone"], v[r, "hamlet"] / v[r, "alone"],
			    v[r, "hamlet"] / v[r, "null"] } } }' "$R" | sort -n > "$B/$mta.ratios$f"
	done
	echo "-- $mta: medians of $ROUNDS rounds ($N messages each, $CONC clients)"
	for k in alone null hamlet; do
		w=$(col "$R" "$k" 4) sent=$(col "$R" "$k" 3)
		printf '%-6s %6.1f msgs/s, %.3f ms wall per message until delivered (%.3f until accepted), SMTP p50 %.1f ms\n' \
		    "$k" "$(echo "$sent / $w" | bc -l)" "$(echo "$w * 1000 / $sent" | bc -l)" \
		    "$(echo "$(col "$R" "$k" 8) * 1000 / $sent" | bc -l)" "$(col "$R" "$k" 9)"
		printf '       CPU per message: %s %.2f ms' \
		    "$mta" "$(echo "$(col "$R" "$k" 5) * 1000 / $N" | bc -l)"
		case $k in
		null) printf ', null milter %.2f ms' "$(echo "$(col "$R" "$k" 6) * 1000 / $N" | bc -l)" ;;
		hamlet) printf ', milter %.2f ms (engine %.2f, front end %.2f)' \
		    "$(echo "$(col "$R" "$k" 6) * 1000 / $N" | bc -l)" \
		    "$(echo "$(col "$R" "$k" 7) * 1000 / $N" | bc -l)" \
		    "$(awk -v n="$N" '$1 == "hamlet" { print ($6 - $7) * 1000 / n }' "$R" | median)" ;;
		esac
		echo
	done
	for f in 4 8 9; do
		case $f in
		4) what="wall time per message until delivered (the measure)" ;;
		8) what="wall time per message until accepted" ;;
		9) what="SMTP transaction p50" ;;
		esac
		printf '%s over %s alone, per round [null hamlet hamlet/null]:%s\n' "$what" "$mta" \
		    "$(awk '{ printf " [%.3f %.3f %.3f]", $2, $3, $4 }' "$B/$mta.ratios$f")"
		rn=$(awk '{ print $2 }' "$B/$mta.ratios$f" | median)
		rh=$(awk '{ print $3 }' "$B/$mta.ratios$f" | median)
		rhn=$(awk '{ print $4 }' "$B/$mta.ratios$f" | median)
		printf '  median: null milter %+.1f%%, hamlet-milter %+.1f%% (%+.1f%% over the null milter)' \
		    "$(echo "($rn - 1) * 100" | bc -l)" "$(echo "($rh - 1) * 100" | bc -l)" \
		    "$(echo "($rhn - 1) * 100" | bc -l)"
		echo
		[ "$f" = 4 ] && awk '{ print $3 }' "$B/$mta.ratios$f" | median_ci |
		    awk '{ printf "  hamlet over %s alone, rounds sorted:%s\n", mta, $0 }' mta="$mta" |
		    sed 's/ ci / -> median interval /'
	done
	# CPU: MTA + milter over the MTA alone
	ca=$(col "$R" alone 5)
	cn=$(awk '$1 == "null" { print $5 + $6 }' "$R" | median)
	ch=$(awk '$1 == "hamlet" { print $5 + $6 }' "$R" | median)
	che=$(awk '$1 == "hamlet" { print $5 + $6 - $7 }' "$R" | median)
	printf 'CPU per message, MTA + milter over the MTA alone: null %+.1f%%, hamlet %+.1f%% (%+.1f%% without the engine)\n' \
	    "$(echo "($cn - $ca) * 100 / $ca" | bc -l)" "$(echo "($ch - $ca) * 100 / $ca" | bc -l)" \
	    "$(echo "($che - $ca) * 100 / $ca" | bc -l)"
	printf 'milter log: %d messages scanned (%d spam, %d reject, %d ham, %d tempfail)\n' \
	    "$(cat $LOGS | grep -c ': verdict=')" "$(cat $LOGS | grep -c 'verdict=spam')" \
	    "$(cat $LOGS | grep -c 'verdict=reject')" "$(cat $LOGS | grep -c 'verdict=ham')" \
	    "$(cat $LOGS | grep -c 'verdict=tempfail')"
	printf 'scan latency ms: %s\n' "$(cat $LOGS | sed -n 's/.* scan=\([0-9.]*\)ms.*/\1/p' | pcts)"
	n4=$(wc -l < "$B/$mta.rss")
	early=$(sed -n "$((n4 / 10 + 1))p" "$B/$mta.rss")
	half=$(sed -n "$((n4 / 2 + 1))p" "$B/$mta.rss")
	final=$(tail -n 1 "$B/$mta.rss")
	printf 'milter RSS (first hamlet run): %d MB at start, %d MB at 10%% of the run, %d MB at 50%%, %d MB at the end, peak (VmHWM) %d MB\n' \
	    "$((rss0 / 1024))" "$((${early:-0} / 1024))" "$((${half:-0} / 1024))" \
	    "$((${final:-0} / 1024))" "$((hwm / 1024))"
	own=$(sort -u "$B/$mta.own" | wc -l)
	echo "zero loss: $([ -n "$lossy" ] && echo NO || echo yes) (every run: every message delivered or rejected, hamlet's copies tagged; $own refused by $mta itself, also alone)"
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
