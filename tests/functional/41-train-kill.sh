#!/bin/sh
# 41-train-kill.sh - crash safety and concurrency of the Bayes store:
# kill -9 of a trainer leaves a consistent store holding exactly the
# committed batches; a re-run learns the rest; readers classify while a
# trainer writes; Ctrl-C (SIGINT) commits the running batch and exits 130.
. ./lib.sh
H="$HAMLET"
N=30000
python3 - "$T/big.mbox" "$N" <<'PY'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
words = ["w%03d" % i for i in range(800)]
with open(path, "w") as fp:
    for i in range(n):
        body = " ".join(rnd.choice(words) for _ in range(40))
        fp.write("From gen@example.net Mon Jan  1 00:00:00 2024\n"
                 "From: gen%d@example.net\nSubject: message %d %s\n"
                 "Message-ID: <gen%d@example.net>\n\n%s\n\n"
                 % (i % 97, i, rnd.choice(words), i, body))
PY
printf 'From: r@example.net\nSubject: w001 w002\n\nw003 w004 w005\n' > "$T/probe.eml"

# a trainer killed with SIGKILL in the middle
$H train-spam -q --db "$T/db" "$T/big.mbox" > /dev/null 2>&1 &
pid=$!
i=0; committed=0
while [ $i -lt 600 ]; do
	committed=$($H bayes stats --db "$T/db" 2>/dev/null | awk '/^messages/ {print $2}')
	[ -n "$committed" ] && [ "$committed" -ge 1000 ] && break
	sleep 0.05; i=$((i + 1))
done
# readers while the writer runs
rerr=0
for k in 1 2 3 4 5; do
	$H bayes classify --db "$T/db" "$T/probe.eml" > /dev/null 2>&1 || rerr=$((rerr + 1))
done
kill -9 $pid 2>/dev/null; killed=$?
wait $pid 2>/dev/null
check "trainer was still running when killed" test "$killed" = 0
check "readers worked while the trainer wrote" test "$rerr" = 0
$H bayes stats --db "$T/db" > "$T/stats" 2>&1; rc=$?
check "store consistent after kill -9" sh -c "test $rc = 0 && grep -q '^consistent *yes' '$T/stats'"
got=$(awk '/^messages/ {print $2}' "$T/stats")
check "only whole batches committed ($got)" sh -c "test $((got % 1000)) = 0 && test $got -ge 1000 && test $got -lt $N"
$H train-spam -q --db "$T/db" "$T/big.mbox" > "$T/out" 2>&1
check "re-run learns the rest" grep -q "learned $((N - got)) spam (0 moved from ham), $got already learned" "$T/out"
$H bayes stats --db "$T/db" > "$T/stats"
check "all $N learned, consistent" sh -c "grep -q '^messages *$N spam, 0 ham' '$T/stats' && grep -q '^consistent *yes' '$T/stats'"

# SIGINT: the running batch is committed, exit 130
$H train-ham -q --db "$T/db2" "$T/big.mbox" > "$T/out" 2>&1 &
pid=$!
i=0
while [ $i -lt 600 ]; do
	c=$($H bayes stats --db "$T/db2" 2>/dev/null | awk '/^messages/ {print $4}')
	[ -n "$c" ] && [ "$c" -ge 1000 ] && break
	sleep 0.05; i=$((i + 1))
done
kill -INT $pid 2>/dev/null; sent=$?
wait $pid; rc=$?
check "SIGINT: exit 130" sh -c "test $sent != 0 || test $rc = 130"
$H bayes stats --db "$T/db2" > "$T/stats"
n=$(sed -n 's/.*learned \([0-9]*\) ham.*/\1/p' "$T/out")
check "SIGINT: summary printed and matches the store" sh -c "test -n '$n' && grep -q '^messages *0 spam, $n ham' '$T/stats' && grep -q '^consistent *yes' '$T/stats'"
finish
