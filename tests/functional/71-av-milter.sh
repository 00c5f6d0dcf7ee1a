#!/bin/sh
# 71-av-milter.sh - ClamAV through hamlet-milter under miltertest:
# av_action reject (554 5.7.1 naming the virus), quarantine and tag; clean,
# corrupt-archive and zip messages; a database change picked up by SIGHUP;
# a reload to an empty database refused while the running engine keeps
# scanning; startup refused for an empty or missing database directory.
# Runs its own milter on a socket in a private directory (after 50-milter.sh).
. ./lib.sh
: "${HAMLET_MILTER:?HAMLET_MILTER must point at hamlet-milter}"
MT=$DATA/milter
if ! command -v miltertest >/dev/null 2>&1; then
	echo "skip: miltertest not installed (apt-get install miltertest)"
	finish; exit
fi
D=$T/milter
mkdir -p "$D" "$D/no-rules" "$D/db" "$D/empty" "$T/m" && chmod 700 "$D"
SOCK=unix:$D/milter.sock
CONF=$D/hamlet.conf
LOG=$D/milter.log
EICAR=Hamlet.Test.Eicar.UNOFFICIAL
cp "$DATA/av/db/eicar.ndb" "$D/db/"
python3 "$DATA/av/mkmsg.py" "$T/m" || { fail "mkmsg.py"; finish; exit; }
{
	cat "$MT/base.conf"
	echo "rules_dir $D/no-rules"
	echo "av_db_dir $D/db"
	echo "av_action reject"
} > "$CONF"
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

XV=0	# messages on which the milter added X-Virus-Status
avtest() {	# avtest MSG QID EXPECT: send $T/m/MSG.eml, check the verdict
	if out=$(MILTER_SOCK=$SOCK MT_LIB=$MT/mtlib.lua AV_FILE=$T/m/$1.eml \
	    AV_QID=$2 AV_EXPECT=$3 AV_NAME=$EICAR \
	    timeout 30 miltertest -s "$DATA/av/milter/av.lua" 2>&1) &&
	    printf '%s\n' "$out" | grep -q '^\*\*\* PASS'; then
		ok "milter $3: $1"
	else
		fail "milter $3: $1"
		printf '%s\n' "$out" | tail -n 5
	fi
	printf '%s\n' "$out" | grep -q '^\*\*\* XVIRUS' && XV=$((XV + 1))
}

reload() {	# reload: SIGHUP and wait for the outcome in the log
	n=$(grep -c 'reload' "$LOG")
	kill -HUP "$PID"
	i=0
	while [ "$(grep -c 'reload' "$LOG")" = "$n" ] && [ $i -lt 100 ]; do
		sleep 0.05; i=$((i + 1))
	done
}

# startup: a database that is missing or empty is refused, naming it
check "-t accepts the AV config" "$HAMLET_MILTER" -t -c "$CONF"
sed "s|^av_db_dir .*|av_db_dir $D/empty|" "$CONF" > "$D/empty.conf"
if "$HAMLET_MILTER" -t -c "$D/empty.conf" > "$D/empty.out" 2>&1; then
	fail "-t refuses an empty database dir"
else
	ok "-t refuses an empty database dir"
fi
check "empty database error names the dir" grep -qF "$D/empty" "$D/empty.out"
sed "s|^av_db_dir .*|av_db_dir $D/missing|" "$CONF" > "$D/missing.conf"
check "-t refuses a missing database dir" sh -c '! "$1" -t -c "$2" 2>/dev/null' sh "$HAMLET_MILTER" "$D/missing.conf"

if ! start_milter; then
	fail "milter starts with AV"; cat "$LOG"; finish; exit
fi
ok "milter starts with AV"

# av_action reject
avtest eicar-b64 AVREJ1 reject
avtest eicar-zip AVREJ2 reject
avtest eicar-zipzip AVREJ3 reject
avtest clean AVCLEAN1 clean
avtest corrupt-zip AVCORR1 clean
avtest blob AVBLOB1 clean
check "log: virus reject line" grep -q "AVREJ1: verdict=virus-reject .*virus=$EICAR" "$LOG"

# a database change: SIGHUP loads the new signature
cp "$T/m/blob.hdb" "$D/db/"
reload
check "reload with a new signature logged" grep -q 'reloaded configuration (generation 2)' "$LOG"
MILTER_SOCK=$SOCK MT_LIB=$MT/mtlib.lua AV_FILE=$T/m/blob.eml AV_QID=AVBLOB2 \
    AV_EXPECT=reject AV_NAME=Hamlet.Test.Blob.UNOFFICIAL \
    timeout 30 miltertest -s "$DATA/av/milter/av.lua" > "$D/blob.out" 2>&1
check "new signature used after SIGHUP" grep -q '^\*\*\* PASS' "$D/blob.out"
avtest eicar-b64 AVREJ4 reject

# quarantine, then tag
sed -i 's/^av_action .*/av_action quarantine/' "$CONF"
reload
avtest eicar-zip AVQ1 quarantine
avtest clean AVQ2 clean
sed -i 's/^av_action .*/av_action tag/' "$CONF"
reload
avtest eicar-b64 AVT1 tag-virus
avtest eicar-body AVT2 tag-virus
avtest clean AVT3 clean

# a reload to an empty database is refused; the running engine still scans
sed -i "s|^av_db_dir .*|av_db_dir $D/empty|" "$CONF"
reload
check "reload to an empty database refused" grep -q "reload failed, keeping the running configuration: .*$D/empty" "$LOG"
avtest eicar-zip AVT4 tag-virus

if [ "$XV" = 0 ]; then
	fail "hamlet-milter added no X-Virus-* headers"
else
	ok "X-Virus-Status added and checked on $XV messages"
fi
stop_milter
if [ "$nfail" != 0 ]; then echo "--- milter log"; tail -n 30 "$LOG"; fi
finish
