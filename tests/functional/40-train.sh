#!/bin/sh
# 40-train.sh - hamlet train-spam / train-ham / forget over mailbox
# fixtures (tests/data/train): mboxrd with From_ quoting both ways and a
# broken message in the middle, CRLF mbox, a last message without a
# trailing newline, Maildir with odd names (tmp/ and dot files ignored),
# MH, a single file, stdin; idempotent re-runs, moves, forget; bayes
# stats/dump/restore/expire; Bayes in `hamlet check`.
. ./lib.sh
H="$HAMLET"
D="$DATA/train"
DB="$T/db"

# mbox: 5 entries, the 3rd is junk: 4 learned, 1 skipped, exit 1
$H train-spam --db "$DB" "$D/spam.mbox" > "$T/out" 2> "$T/err"; rc=$?
check "mbox: 4 spam learned" grep -q '^train-spam: learned 4 spam (0 moved from ham), 0 already learned, 1 skipped, 0 unreadable$' "$T/out"
check "mbox: broken message reported with folder and number" grep -q "spam.mbox: message 3: no message header, skipped" "$T/err"
check "mbox: exit 1 when something was skipped" test "$rc" = 1
check "no progress bar when stderr is not a terminal" sh -c "! grep -q 'ETA' '$T/err'"

# on a terminal: a progress bar with count, rate and ETA on stderr
if command -v script >/dev/null 2>&1; then
	script -qc "$H train-spam --db '$T/ttydb' '$D/crlf.mbox'" /dev/null > "$T/tty" 2>&1
	check "tty: progress bar with rate and ETA" grep -q 'train-spam \[#*\] 100% 3 msgs [0-9]*/s ETA 0:00' "$T/tty"
	check "tty: summary after the bar" grep -q 'learned 3 spam' "$T/tty"
fi

# re-run learns nothing
$H train-spam --db "$DB" "$D/spam.mbox" > "$T/out" 2>/dev/null
check "re-run: 4 already learned" grep -q 'learned 0 spam (0 moved from ham), 4 already learned, 1 skipped' "$T/out"

# CRLF mbox
$H train-spam --db "$DB" "$D/crlf.mbox" > "$T/out" 2>&1; rc=$?
check "CRLF mbox: 3 learned" grep -q 'learned 3 spam' "$T/out"
check "CRLF mbox: exit 0" test "$rc" = 0

# Maildir with odd names: cur/ and new/ only
$H train-ham --db "$DB" "$D/maildir" > "$T/out" 2>&1; rc=$?
check "Maildir: 3 ham learned" grep -q '^train-ham: learned 3 ham (0 moved from spam), 0 already learned, 0 skipped, 0 unreadable$' "$T/out"
check "Maildir: exit 0" test "$rc" = 0
# forcing the wrong format fails cleanly
$H train-ham --db "$DB" --mbox "$D/maildir" > "$T/out" 2>&1; rc=$?
check "--mbox on a directory: reported, exit 1" sh -c "grep -q 'is a directory' '$T/out' && test $rc = 1"

# MH / plain directory, natural order, From_ line on a file tolerated
$H train-ham --db "$DB" "$D/mh" > "$T/out" 2>&1
check "MH: 3 ham learned" grep -q 'learned 3 ham' "$T/out"

# single file and stdin: the same message once
$H train-ham --db "$DB" "$D/single.eml" > "$T/out" 2>&1
check "single file learned" grep -q 'learned 1 ham' "$T/out"
$H train-ham --db "$DB" - < "$D/single.eml" > "$T/out" 2>&1
check "stdin: same message already learned" grep -q 'learned 0 ham (0 moved from spam), 1 already learned' "$T/out"
# the same message as CRLF is the same message
tr -d '\r' < "$D/single.eml" | sed 's/$/\r/' | $H train-ham --db "$DB" - > "$T/out" 2>&1
check "stdin CRLF copy: already learned" grep -q '1 already learned' "$T/out"

# stats: totals agree with the seen table
$H bayes stats --db "$DB" > "$T/stats"; rc=$?
check "stats: 7 spam 7 ham" grep -q '^messages *7 spam, 7 ham$' "$T/stats"
check "stats: consistent" grep -q '^consistent *yes$' "$T/stats"
check "stats: exit 0" test "$rc" = 0

# moving a message to the other class
$H train-ham --db "$DB" "$D/crlf.mbox" > "$T/out" 2>&1
check "move: 3 moved from spam" grep -q 'learned 3 ham (3 moved from spam)' "$T/out"
$H bayes stats --db "$DB" > "$T/stats"
check "move: totals 4 spam 10 ham" grep -q '^messages *4 spam, 10 ham$' "$T/stats"

# forget
$H forget --db "$DB" "$D/mh" > "$T/out" 2>&1
check "forget: 3 forgotten" grep -q '^forget: forgot 3, 0 not learned before' "$T/out"
$H forget --db "$DB" "$D/mh" > "$T/out" 2>&1
check "forget again: not learned" grep -q 'forgot 0, 3 not learned before' "$T/out"
$H bayes stats --db "$DB" > "$T/stats"
check "forget: totals 4 spam 7 ham, consistent" sh -c "grep -q '^messages *4 spam, 7 ham$' '$T/stats' && grep -q '^consistent *yes' '$T/stats'"
check "forget on a missing store fails" sh -c "! $H forget --db '$T/none' '$D/mh' >/dev/null 2>&1"

# dump, restore into a new store, dump again: identical
$H bayes dump --db "$DB" > "$T/dump1"
check "dump has its magic" grep -q '^hamlet-bayes-dump 1$' "$T/dump1"
$H bayes restore --db "$T/db2" "$T/dump1" > /dev/null 2>&1
$H bayes dump --db "$T/db2" > "$T/dump2"
check "restore gives an identical store" cmp "$T/dump1" "$T/dump2"
$H bayes restore --db "$T/db2" - < "$T/dump1" > /dev/null 2>&1
$H bayes dump --db "$T/db2" "$T/dump3"
check "restore from stdin, dump to a file" cmp "$T/dump1" "$T/dump3"
printf 'hamlet-bayes-dump 1\nt zz 1 2\n' > "$T/bad"
$H bayes restore --db "$T/db2" "$T/bad" > "$T/out" 2>&1; rc=$?
check "bad dump: EX_DATAERR naming the line" sh -c "test $rc = 65 && grep -q 'line 2' '$T/out'"
$H bayes dump --db "$T/db2" > "$T/dump4"
check "bad dump left the store alone" cmp "$T/dump1" "$T/dump4"

# expire
n=$(awk '/^tokens/ {print $2}' "$T/stats")
$H bayes expire --db "$DB" --keep 10 > "$T/out" 2>&1
$H bayes stats --db "$DB" > "$T/stats"
check "expire to 10 tokens" grep -q '^tokens *10 ' "$T/stats"
check "expire keeps totals" grep -q '^messages *4 spam, 7 ham$' "$T/stats"
check "expire reports" grep -q "^expired $((n - 10)) tokens$" "$T/out"

# Bayes in hamlet check: missing store silent, trained store bands
mkdir -p "$T/norules"
CHK="$H check --report --rules $T/norules"
$CHK --db "$T/nodb" < "$D/single.eml" > "$T/rep" 2>&1; rc=$?
check "check without a store: no BAYES, no error" sh -c "test $rc = 0 && ! grep -q BAYES '$T/rep'"
python3 - "$T/gen" <<'PY'
import os, sys
d = sys.argv[1]
sw = "viagra cheap winner casino mortgage refinance lottery pills offer guaranteed income".split()
hw = "meeting patch kernel review lunch project compile release debian thanks schedule".split()
for cls, w in (("spam", sw), ("ham", hw)):
    os.makedirs(os.path.join(d, cls))
    for i in range(30):
        body = " ".join(w[(i + k * 5) % len(w)] for k in range(25))
        open(os.path.join(d, cls, str(i)), "w").write(
            "From: %s%d@example.net\nSubject: %s %s\nMessage-ID: <%s%d@x>\n\n%s\n"
            % (cls, i, w[i % len(w)], w[(i * 3) % len(w)], cls, i, body))
PY
$H train-spam -q --db "$T/db3" "$T/gen/spam" > /dev/null 2>&1
$H train-ham -q --db "$T/db3" "$T/gen/ham" > /dev/null 2>&1
printf 'From: x@example.net\nSubject: cheap pills\n\ncheap viagra casino winner lottery offer\n' > "$T/s.eml"
$CHK --db "$T/db3" < "$T/s.eml" > "$T/rep" 2>&1
check "check: below bayes_min_spam no Bayes" sh -c "! grep -q BAYES_ '$T/rep'"
$CHK --db "$T/db3" --set bayes_min_spam=10 --set bayes_min_ham=10 < "$T/s.eml" > "$T/rep" 2>&1
check "check: trained store gives BAYES_99" grep -q 'BAYES_99' "$T/rep"
printf 'From: y@example.net\nSubject: lunch\n\nmeeting kernel patch review debian release\n' > "$T/h.eml"
$CHK --db "$T/db3" --set bayes_min_spam=10 --set bayes_min_ham=10 < "$T/h.eml" > "$T/rep" 2>&1
check "check: ham gets BAYES_00" grep -q 'BAYES_00' "$T/rep"
# a store that cannot be read: BAYES_ERROR, the scan goes on
mkdir -p "$T/broken"; echo junk > "$T/broken/data.mdb"
$H check --rules "$T/norules" --db "$T/broken" < "$T/h.eml" > "$T/out" 2>/dev/null; rc=$?
check "unreadable store: BAYES_ERROR, exit 0" sh -c "test $rc = 0 && grep -q 'BAYES_ERROR' '$T/out'"
finish
