#!/bin/sh
# 90-procmail.sh - hamlet check under a real procmail delivering into mbox
# files, as a user without admin rights runs it: spam filed into a Spam
# folder with its headers, ham into the inbox, ~/.hamlet/user_prefs
# overriding the site (scores, required_score, lists, Subject tag, rules
# only with allow_user_rules), broken prefs and a broken site config
# logged while the mail is still delivered, the watchdog, a per-user
# Bayes store created on first use, and ten deliveries at once with a
# trainer writing to the same store.
. ./lib.sh
H="$HAMLET"
ROOT=$(cd ../.. && pwd)
S="python3 ./strip_xspam.py"
P="$DATA/procmail"
if ! command -v procmail >/dev/null 2>&1; then
	echo "procmail not installed (tests/deps.sh installs it)"
	fail "procmail missing"
	finish; exit
fi

# site configuration: the shipped rules; Bayes in the user's home
cat > "$T/site.conf" <<EOF
rules_dir $ROOT/rules/default
bayes_path ~/.hamlet/bayes
hostname test.example
EOF

# one user: HOME, mail folders, procmail log; $1 = extra hamlet options
newuser() {
	U="$T/$1"
	rm -rf "$U"
	mkdir -p "$U/home/.hamlet" "$U/mail"
	# procmail pauses a second when it has to create a mailbox
	: > "$U/mail/inbox"; : > "$U/mail/Spam"
	cat > "$U/rc" <<EOF
SHELL=/bin/sh
HOME=$U/home
MAILDIR=$U/mail
DEFAULT=\$MAILDIR/inbox
LOGFILE=$U/procmail.log
LOCKSLEEP=1
COMSAT=no
ASAN_OPTIONS=${ASAN_OPTIONS:-}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-}
:0fw
| $H check -c ${SITE:-$T/site.conf} $2
:0:
* ^X-Spam-Flag: YES
Spam
EOF
}
deliver() { procmail -f sender@example.org -m "$U/rc" < "$1"; }
nmsgs() { n=$(grep -c '^From ' "$1" 2>/dev/null); echo "${n:-0}"; }

# ---- filing ----------------------------------------------------------------
newuser filing
deliver "$DATA/gtube.eml"; rc=$?
check "spam: procmail exit 0" test $rc = 0
check "spam: filed into Spam" test "$(nmsgs "$U/mail/Spam")" = 1
check "spam: nothing in the inbox" test "$(nmsgs "$U/mail/inbox")" = 0
check "spam: X-Spam-Flag kept in the folder" grep -q '^X-Spam-Flag: YES$' "$U/mail/Spam"
check "spam: X-Spam-Status with GTUBE" grep -q '^X-Spam-Status: Yes, score=1000.* tests=GTUBE' "$U/mail/Spam"
check "spam: X-Spam-Level" grep -q '^X-Spam-Level: \*\*\*\*\*' "$U/mail/Spam"
check "spam: headers after the From_ line" sh -c "head -1 '$U/mail/Spam' | grep -q '^From sender@example.org' && sed -n 2p '$U/mail/Spam' | grep -q '^X-Spam-Checker-Version: hamlet'"
check "spam: body kept" grep -q 'GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL' "$U/mail/Spam"
deliver "$DATA/ham.eml"
check "ham: delivered into the inbox" test "$(nmsgs "$U/mail/inbox")" = 1
check "ham: X-Spam-Status: No" grep -q '^X-Spam-Status: No, score=' "$U/mail/inbox"
check "ham: no X-Spam-Flag" sh -c "! grep -q '^X-Spam-Flag' '$U/mail/inbox'"
check "ham: Spam folder unchanged" test "$(nmsgs "$U/mail/Spam")" = 1
# the message itself is unchanged: drop From_ and X-Spam-*, compare
tail -n +2 "$U/mail/inbox" | $S > "$T/ham.back"
check "ham: byte for byte apart from the tags" cmp -n "$(wc -c < "$DATA/ham.eml")" "$T/ham.back" "$DATA/ham.eml"
check "no error in the procmail log" sh -c "! grep -qi 'error\|warning\|failure' '$U/procmail.log'"

# ---- user_prefs --------------------------------------------------------------
newuser prefs
printf 'score GTUBE 0\n' > "$U/home/.hamlet/user_prefs"
deliver "$DATA/gtube.eml"
check "score GTUBE 0: GTUBE goes to the inbox" test "$(nmsgs "$U/mail/inbox")" = 1
check "score GTUBE 0: Status No" grep -q '^X-Spam-Status: No' "$U/mail/inbox"

newuser required
printf '# a comment\nrequired_score 2000\n' > "$U/home/.hamlet/user_prefs"
deliver "$DATA/gtube.eml"
check "required_score 2000: inbox" test "$(nmsgs "$U/mail/inbox")" = 1
check "required_score 2000: shown in Status" grep -q 'required=2000.0' "$U/mail/inbox"

newuser noprefs --no-user-prefs
printf 'required_score 2000\n' > "$U/home/.hamlet/user_prefs"
deliver "$DATA/gtube.eml"
check "--no-user-prefs: the site verdict stands" test "$(nmsgs "$U/mail/Spam")" = 1

newuser subject
printf 'rewrite_header Subject [SPAM]\nreport_safe 0\nadd_header all Score _SCORE_ of _REQD_ _YESNOCAPS_\nadd_header spam Tagged by _HOSTNAME_ [_STARS(+)_]\nadd_header all Status overridden\n' > "$U/home/.hamlet/user_prefs"
deliver "$DATA/gtube.eml"
deliver "$DATA/ham.eml"
check "rewrite_header: spam Subject tagged" grep -q '^Subject: \[SPAM\] test$' "$U/mail/Spam"
check "rewrite_header: ham Subject untouched" grep -q "^Subject: Minutes of Tuesday's meeting$" "$U/mail/inbox"
check "add_header all: on spam" grep -q '^X-Spam-Score: 1000.* of 5.0 YES$' "$U/mail/Spam"
check "add_header all: on ham" grep -q '^X-Spam-Score: .* of 5.0 NO$' "$U/mail/inbox"
check "add_header spam: template tags expanded" grep -q '^X-Spam-Tagged: by test.example' "$U/mail/Spam"
check "add_header: long values folded as SpamAssassin does" grep -q "^$(printf '\t')\[+++++*\]$" "$U/mail/Spam"
check "add_header spam: not on ham" sh -c "! grep -q '^X-Spam-Tagged' '$U/mail/inbox'"
check "add_header cannot replace X-Spam-Status" sh -c "! grep -q 'overridden' '$U/mail/Spam' '$U/mail/inbox'"

newuser lists
printf 'blocklist_from alice@EXAMPLE.org\nwelcomelist_from *@example.com\nscore GTUBE 50\n' > "$U/home/.hamlet/user_prefs"
deliver "$DATA/ham.eml"
deliver "$DATA/gtube.eml"
check "blocklist_from: ham from a blocked sender is spam" grep -q 'USER_IN_BLOCKLIST' "$U/mail/Spam"
check "welcomelist_from: GTUBE from a welcome sender is ham" sh -c "grep -q 'USER_IN_WELCOMELIST' '$U/mail/inbox' && grep -q '^X-Spam-Status: No' '$U/mail/inbox'"
newuser oldnames
printf 'blacklist_from *@example.org\n' > "$U/home/.hamlet/user_prefs"
deliver "$DATA/ham.eml"
check "blacklist_from (old name) works" grep -q 'USER_IN_BLOCKLIST' "$U/mail/Spam"

# the user's Bayes settings (SpamAssassin names) over the site's
newuser bayesprefs
printf 'bayes_auto_learn 1\nbayes_auto_learn_threshold_nonspam 50\nbayes_auto_learn_threshold_spam maybe\n' > "$U/home/.hamlet/user_prefs"
check "site: no auto-learn, no store" test ! -e "$U/home/.hamlet/bayes"
deliver "$DATA/ham.eml"
check "user_prefs bayes_auto_learn 1: learned as ham" grep -q 'autolearn=ham' "$U/mail/inbox"
check "user_prefs bayes_auto_learn 1: store created in ~/.hamlet/bayes" test -d "$U/home/.hamlet/bayes"
check "user_prefs: a bad threshold is logged" grep -q "user_prefs:3: bayes_auto_learn_threshold_spam maybe: .*not a number" "$U/procmail.log"
{ cat "$T/site.conf"; printf 'bayes_min_spam 1\nbayes_min_ham 1\n'; } > "$T/site-b.conf"
SITE="$T/site-b.conf" newuser usebayes
HOME="$U/home" $H train-ham -q -c "$T/site-b.conf" "$DATA/ham.eml" > /dev/null 2>&1
HOME="$U/home" $H train-spam -q -c "$T/site-b.conf" "$DATA/gtube.eml" > /dev/null 2>&1
deliver "$DATA/ham.eml"
check "a trained store: Bayes scores the ham" grep -q 'BAYES_' "$U/mail/inbox"
printf 'use_bayes 0\n' > "$U/home/.hamlet/user_prefs"
: > "$U/mail/inbox"
deliver "$DATA/ham.eml"
check "user_prefs use_bayes 0: no BAYES_ rule" sh -c "grep -q '^X-Spam-Status' '$U/mail/inbox' && ! grep -q 'BAYES_' '$U/mail/inbox'"

# rules in user_prefs: refused unless the site allows them
newuser userrule
printf 'body MY_MINUTES /notes from Tuesday/\nscore MY_MINUTES 20\n' > "$U/home/.hamlet/user_prefs"
deliver "$DATA/ham.eml"
check "user rule refused: ham stays ham" test "$(nmsgs "$U/mail/inbox")" = 1
check "user rule refused: logged with file:line" grep -q "user_prefs:1: 'body' is not allowed" "$U/procmail.log"
{ cat "$T/site.conf"; echo "allow_user_rules yes"; } > "$T/site-allow.conf"
SITE="$T/site-allow.conf" newuser userrule2
cp "$T/userrule/home/.hamlet/user_prefs" "$U/home/.hamlet/user_prefs"
deliver "$DATA/ham.eml"
check "allow_user_rules yes: the user's rule files the ham as spam" grep -q 'MY_MINUTES' "$U/mail/Spam"

# ---- broken preferences and configuration: logged, mail still delivered ------
newuser broken
cp "$P/broken_prefs" "$U/home/.hamlet/user_prefs"
head -c 100000 /dev/zero | tr '\0' 'x' >> "$U/home/.hamlet/user_prefs"
printf '\nrequired_score 2000\n' >> "$U/home/.hamlet/user_prefs"
deliver "$DATA/gtube.eml"; rc=$?
check "broken prefs: procmail exit 0" test $rc = 0
check "broken prefs: delivered" test "$(nmsgs "$U/mail/inbox")" = 1
check "broken prefs: still scanned" grep -q '^X-Spam-Status: No, score=1000' "$U/mail/inbox"
check "broken prefs: good lines after bad ones apply" grep -q 'required=2000.0' "$U/mail/inbox"
check "broken prefs: bad number logged with file:line" grep -q 'user_prefs:[0-9]*: score GTUBE: bad number' "$U/procmail.log"
check "broken prefs: unknown directive logged" grep -q "user_prefs:[0-9]*: 'no_such_setting' is not allowed" "$U/procmail.log"
check "broken prefs: include refused" grep -q "'include' is not allowed" "$U/procmail.log"
check "broken prefs: loadplugin refused" grep -q "'loadplugin' is not allowed" "$U/procmail.log"
check "broken prefs: no X-Hamlet-Error" sh -c "! grep -q '^X-Hamlet-Error' '$U/mail/inbox'"

newuser missing "--prefs $T/no/such/user_prefs"
deliver "$DATA/gtube.eml"
check "missing --prefs file: logged" grep -q 'not read' "$U/procmail.log"
check "missing --prefs file: scanned and filed" test "$(nmsgs "$U/mail/Spam")" = 1

# a user_prefs that is a FIFO, or over 1 MB: not read, mail scanned and filed
newuser fifo
mkfifo "$U/home/.hamlet/user_prefs"
deliver "$DATA/gtube.eml"
check "FIFO user_prefs: not read, logged" grep -q 'user_prefs:0: not read: not a regular file' "$U/procmail.log"
check "FIFO user_prefs: scanned and filed" test "$(nmsgs "$U/mail/Spam")" = 1
newuser huge
{ echo 'required_score 2000'; head -c 1100000 /dev/zero | tr '\0' '#'; } > "$U/home/.hamlet/user_prefs"
deliver "$DATA/gtube.eml"
check "1.1 MB user_prefs: not read, logged" grep -q 'not read: larger than 1 MB' "$U/procmail.log"
check "1.1 MB user_prefs: scanned and filed" test "$(nmsgs "$U/mail/Spam")" = 1

printf 'required_score lots\n' > "$T/bad-site.conf"
SITE="$T/bad-site.conf" newuser badsite
deliver "$DATA/gtube.eml"; rc=$?
check "broken site config: procmail exit 0" test $rc = 0
check "broken site config: delivered into the inbox" test "$(nmsgs "$U/mail/inbox")" = 1
check "broken site config: X-Hamlet-Error names file:line" grep -q '^X-Hamlet-Error: not scanned: .*bad-site.conf:1' "$U/mail/inbox"
check "broken site config: logged" grep -q 'bad-site.conf:1' "$U/procmail.log"
tail -n +2 "$U/mail/inbox" | $S --also-error > "$T/gt.back"
check "broken site config: message unchanged" cmp -n "$(wc -c < "$DATA/gtube.eml")" "$T/gt.back" "$DATA/gtube.eml"

$H check -c "$T/bad-site.conf" --tempfail < "$DATA/gtube.eml" > "$T/tf.out" 2>/dev/null; rc=$?
check "--tempfail: exit 75 and no output" sh -c "test $rc = 75 && test ! -s '$T/tf.out'"
# the recipe of docs/procmail.md: procmail hands EX_TEMPFAIL to the MTA
SITE="$T/bad-site.conf" newuser tempfail --tempfail
printf ':0 e\n{ EXITCODE=75 HOST }\n' > "$T/tf.tail"
sed -i "/^:0:\$/,\$d" "$U/rc"
cat "$T/tf.tail" >> "$U/rc"
deliver "$DATA/gtube.eml"; rc=$?
check "--tempfail under procmail: exit 75 for the MTA to retry" test $rc = 75
check "--tempfail under procmail: nothing delivered" test "$(nmsgs "$U/mail/inbox")" = 0

# the watchdog: a site configuration on a hung file system (a FIFO nobody
# writes: opening it blocks)
mkfifo "$T/hung.conf"
SITE="$T/hung.conf" newuser hung "--timeout 1"
t0=$(date +%s)
deliver "$DATA/gtube.eml"; rc=$?
t1=$(date +%s)
check "watchdog: procmail exit 0" test $rc = 0
check "watchdog: gave up within seconds ($((t1 - t0)) s)" test $((t1 - t0)) -le 10
check "watchdog: delivered with X-Hamlet-Error" grep -q '^X-Hamlet-Error: not scanned: no result within 1 s' "$U/mail/inbox"
check "watchdog: header after the From_ line" sh -c "sed -n 2p '$U/mail/inbox' | grep -q '^X-Hamlet-Error'"
tail -n +2 "$U/mail/inbox" | $S --also-error > "$T/hung.back"
check "watchdog: message unchanged" cmp -n "$(wc -c < "$DATA/gtube.eml")" "$T/hung.back" "$DATA/gtube.eml"
check "watchdog: logged" grep -q 'hamlet: timeout' "$U/procmail.log"

# a store busy for good (a writer stuck inside a transaction): readers go
# on; a delivery that would auto-learn waits, then the watchdog passes the
# message through with X-Hamlet-Error
if command -v cc >/dev/null && cc -o "$T/lmdb_hold" "$P/lmdb_hold.c" -llmdb 2>/dev/null; then
	SITE="$T/site-b.conf" newuser busy "--timeout 2"
	HOME="$U/home" $H train-ham -q -c "$T/site-b.conf" "$DATA/ham.eml" > /dev/null 2>&1
	"$T/lmdb_hold" "$U/home/.hamlet/bayes" > "$T/hold.out" 2>&1 &
	hpid=$!
	i=0; while [ ! -s "$T/hold.out" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	check "helper holds the store's write lock" grep -q locked "$T/hold.out"
	deliver "$DATA/gtube.eml"
	check "store busy: a reading delivery is scanned" grep -q '^X-Spam-Flag: YES' "$U/mail/Spam"
	printf 'bayes_auto_learn 1\nbayes_auto_learn_threshold_nonspam 50\n' > "$U/home/.hamlet/user_prefs"
	sed 's/Tuesday/Monday/' "$DATA/ham.eml" > "$T/ham-other.eml"
	t0=$(date +%s)
	deliver "$T/ham-other.eml"; rc=$?
	t1=$(date +%s)
	kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
	check "store busy: a learning delivery still exits 0" test $rc = 0
	check "store busy: delivered after the timeout ($((t1 - t0)) s)" test "$(nmsgs "$U/mail/inbox")" = 1
	check "store busy: X-Hamlet-Error names the problem" grep -q '^X-Hamlet-Error: not scanned: no result within 2 s' "$U/mail/inbox"
	tail -n +2 "$U/mail/inbox" | $S --also-error > "$T/busy.back"
	check "store busy: message unchanged" cmp -n "$(wc -c < "$T/ham-other.eml")" "$T/busy.back" "$T/ham-other.eml"
else
	echo "(busy store case skipped: no C compiler or liblmdb-dev)"
fi

# a corrupt store: Bayes reports BAYES_ERROR, the rest of the scan stands
SITE="$T/site-b.conf" newuser corrupt
mkdir -p "$U/home/.hamlet/bayes"
head -c 65536 /dev/urandom > "$U/home/.hamlet/bayes/data.mdb"
deliver "$DATA/ham.eml"; rc=$?
check "corrupt store: exit 0, delivered" sh -c "test $rc = 0 && test \"\$(grep -c '^From ' '$U/mail/inbox')\" = 1"
check "corrupt store: scanned, BAYES_ERROR in the tests" grep -q 'tests=.*BAYES_ERROR' "$U/mail/inbox"
check "corrupt store: logged" grep -q 'bayes: .*hamlet/bayes' "$U/procmail.log"

# memory exhaustion at any point: under a sweep of address-space limits
# the message always comes out whole, tagged or with X-Hamlet-Error, exit 0
# (not under ASan, which needs its own address space)
if ! ldd "$H" 2>/dev/null | grep -q asan && command -v prlimit >/dev/null; then
	python3 -c "
import sys
sys.stdout.write('From: a@example.com\nSubject: big\n\n')
for i in range(100000):
    sys.stdout.write('line %d of a long message with some words in it\n' % i)
" > "$T/big.eml"
	lost=0; oom=0; tagged=0
	# (hamlet maps about 25 MB before it reads the message: the sweep
	# starts just above that; it started at 80 when libclamav, ICU and
	# libstdc++ were linked in and took 48 MB more)
	for mb in 32 40 48 56 64 72 112; do
		prlimit --as=$((mb * 1024 * 1024)) $H check -c "$T/site.conf" \
		    --no-user-prefs --set max_decoded_bytes=1G --set scan_max_size=900M \
		    --set max_text_bytes=900M < "$T/big.eml" > "$T/big.out" 2> "$T/big.err"
		rc=$?
		$S --also-error < "$T/big.out" > "$T/big.back"
		if [ $rc != 0 ] || ! cmp -s "$T/big.back" "$T/big.eml"; then
			lost=$((lost + 1)); echo "limit $mb MB: rc=$rc, $(head -c 200 "$T/big.err")"
		elif grep -q '^X-Hamlet-Error: not scanned: .*out of memory' "$T/big.out"; then
			oom=$((oom + 1))
		elif grep -q '^X-Spam-Status: ' "$T/big.out"; then
			tagged=$((tagged + 1))
		fi
	done
	check "memory limits: no message lost or cut ($oom passed through, $tagged tagged)" test $lost = 0
	check "memory limits: the out-of-memory pass-through was reached" test $oom -ge 1
fi

# ---- a per-user Bayes store, as an unprivileged user -------------------------
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$H"; then
	NB="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	chmod 711 "$T"
	printf 'rules_dir %s\nbayes_auto_learn yes\nbayes_auto_learn_ham 50\nbayes_min_spam 1\nbayes_min_ham 1\n' \
	    "$ROOT/rules/default" > "$T/site-user.conf"
	chmod 644 "$T/site-user.conf"
	SITE="$T/site-user.conf" newuser nobody
	chown -R nobody:nogroup "$U"
	chown root "$U/rc"; chmod 644 "$U/rc"
	check "no store before the first delivery" test ! -e "$U/home/.hamlet/bayes"
	$NB env HOME="$U/home" procmail -f sender@example.org -m "$U/rc" < "$DATA/ham.eml" 2>/dev/null
	check "store created in ~/.hamlet/bayes on first use" test -d "$U/home/.hamlet/bayes"
	check "store owned by the user" test "$(stat -c %U "$U/home/.hamlet/bayes")" = nobody
	check "auto-learned as ham" grep -q 'autolearn=ham' "$U/mail/inbox"
	$NB env HOME="$U/home" procmail -f sender@example.org -m "$U/rc" < "$DATA/gtube.eml" 2>/dev/null
	$NB env HOME="$U/home" $H train-spam -q -c "$T/site-user.conf" "$U/mail/Spam" > "$T/nb.train" 2>&1
	check "train-spam ~/mail/Spam as the user" grep -q 'learned 1 spam' "$T/nb.train"
	$NB env HOME="$U/home" $H bayes stats -c "$T/site-user.conf" > "$T/nb.stats" 2>&1
	check "the user's store: 1 spam, 1 ham" grep -q '^messages *1 spam, 1 ham' "$T/nb.stats"
	check "the user's store is in ~/.hamlet/bayes" grep -q "$U/home/.hamlet/bayes" "$T/nb.stats"
else
	echo "(per-user store as another user skipped: not root or no setpriv)"
fi

# ---- ten deliveries at once on one store, with a trainer running ----------
printf 'rules_dir %s\nbayes_path ~/.hamlet/bayes\nbayes_auto_learn yes\nbayes_auto_learn_ham 50\nbayes_min_spam 5\nbayes_min_ham 5\n' \
    "$ROOT/rules/default" > "$T/site-conc.conf"
SITE="$T/site-conc.conf" newuser conc
mkdir -p "$T/spam0" "$T/ham0" "$T/bulk" "$T/in"
i=0
while [ $i -lt 150 ]; do
	i=$((i + 1))
	w=$((i % 17))
	printf 'From: seller%d@promo%d.example\nTo: you@example.org\nSubject: cheap offer %d\nMessage-ID: <s%d@promo.example>\n\nBuy cheap pills now, offer w%d casino winner prize %d money.\n' \
	    $i $w $i $i $w $i > "$T/bulk/$i"
	if [ $i -le 20 ]; then
		cp "$T/bulk/$i" "$T/spam0/$i"
		printf 'From: friend%d@example.org\nTo: you@example.org\nSubject: meeting notes %d\nMessage-ID: <h%d@example.org>\n\nHi, the minutes of meeting %d are attached; review on thursday w%d.\n' \
		    $i $i $i $i $w > "$T/ham0/$i"
	fi
	if [ $i -le 10 ]; then
		printf 'From: colleague%d@example.org\nTo: you@example.org\nSubject: lunch %d\nMessage-ID: <c%d@example.org>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n\nShall we have lunch on day %d and discuss the review w%d?\n' \
		    $i $i $i $i $w > "$T/in/$i"
	fi
done
HOME="$U/home" $H train-spam -q -c "$T/site-conc.conf" "$T/spam0" > /dev/null 2>&1
HOME="$U/home" $H train-ham -q -c "$T/site-conc.conf" "$T/ham0" > /dev/null 2>&1
# the trainer: flips the bulk folder between spam and ham until told to stop
# (the cap only bounds a runaway: a round takes a few tens of ms, and the
# deliveries below wait on the store while it writes)
(
	n=0
	while [ ! -e "$T/stop" ] && [ $n -lt 2000 ]; do
		n=$((n + 1))
		HOME="$U/home" $H train-ham -q -c "$T/site-conc.conf" "$T/bulk" || exit 1
		HOME="$U/home" $H train-spam -q -c "$T/site-conc.conf" "$T/bulk" || exit 1
	done
	echo "$n" > "$T/rounds"
) > "$T/trainer.log" 2>&1 &
tpid=$!
sleep 0.2
pids=""
for f in "$T"/in/*; do
	procmail -f sender@example.org -m "$U/rc" < "$f" &
	pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
touch "$T/stop"
wait $tpid; trc=$?
check "10 concurrent deliveries: every procmail exit 0" test $bad = 0
check "trainer ran alongside ($(cat "$T/rounds" 2>/dev/null) rounds) and succeeded" test $trc = 0
check "trainer was still running when the deliveries ended" test "$(cat "$T/rounds" 2>/dev/null || echo 2000)" -lt 2000
got=$(( $(nmsgs "$U/mail/inbox") + $(nmsgs "$U/mail/Spam") ))
check "10 concurrent deliveries: 10 messages delivered ($got)" test $got = 10
check "10 concurrent deliveries: each one scanned" test "$(cat "$U/mail/inbox" "$U/mail/Spam" 2>/dev/null | grep -c '^X-Spam-Status: ')" = 10
check "10 concurrent deliveries: no X-Hamlet-Error" sh -c "! cat '$U/mail/inbox' '$U/mail/Spam' 2>/dev/null | grep -q '^X-Hamlet-Error'"
nal=$(cat "$U/mail/inbox" "$U/mail/Spam" 2>/dev/null | grep -c 'autolearn=ham')
check "auto-learn wrote while the trainer did ($nal learned)" test "$nal" -ge 1
HOME="$U/home" $H bayes stats -c "$T/site-conc.conf" > "$T/conc.stats" 2>&1
check "store consistent after it all" grep -q '^consistent *yes' "$T/conc.stats"
check "no learning lost: 150 spam, $((20 + nal)) ham" grep -q "^messages *150 spam, $((20 + nal)) ham" "$T/conc.stats"
check "no error in the procmail log" sh -c "! grep -qi 'error\|failure' '$U/procmail.log'"

finish
