#!/bin/sh
# 30-rules.sh - rule files: lint counts on the Debian SpamAssassin rule set
# and on hamlet's default set, SpamAssassin's regression_tests.cf through
# `hamlet rules test`, and a fixture message hitting known rules.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SA=/usr/share/spamassassin
FIX=$DATA/rules/spam1.eml

# hamlet's own default set
"$HAMLET" rules lint --rules "$ROOT/rules/default" >"$T/lint.def" 2>&1
n=$(sed -n 's/^non-eval rules: \([0-9]*\), compiled and active: \([0-9]*\).*/\2/p' "$T/lint.def")
m=$(sed -n 's/^meta rules: [0-9]*, active: \([0-9]*\).*/\1/p' "$T/lint.def")
if [ "${n:-0}" -ge 200 ] && [ "$((n + ${m:-0}))" -ge 250 ]; then ok "default set: $n regex + $m meta rules active"
else fail "default set too small: $(cat "$T/lint.def")"; fi
grep -q "failed: 0" "$T/lint.def" && ok "default set: no failed pattern" || fail "default set has failed patterns"

"$HAMLET" check --report --rules "$ROOT/rules/default" --set use_bayes=no "$FIX" >"$T/def.rep" 2>&1
grep -q "HL_B_DEAR_FRIEND" "$T/def.rep" && grep -q "verdict: spam" "$T/def.rep" \
	&& ok "default set: fixture is spam with HL_B_DEAR_FRIEND" || fail "default set fixture: $(cat "$T/def.rep")"
grep -q "BODY: Impersonal greeting" "$T/def.rep" && ok "report shows area and description" \
	|| fail "report lacks area/description"

if [ -d "$SA" ]; then
	"$HAMLET" rules lint --rules "$SA" >"$T/lint.sa" 2>&1
	line=$(grep '^non-eval rules:' "$T/lint.sa")
	tot=$(echo "$line" | sed 's/^non-eval rules: \([0-9]*\),.*/\1/')
	act=$(echo "$line" | sed 's/.*compiled and active: \([0-9]*\).*/\1/')
	if [ "${tot:-0}" -gt 1000 ] && [ $((act * 100 / tot)) -ge 95 ]; then
		ok "SpamAssassin set: $line"
	else fail "SpamAssassin set: $line"; fi
	grep -q "unknown directives: 0" "$T/lint.sa" && ok "SpamAssassin set: every directive known" \
		|| fail "unknown directives: $(grep unknown "$T/lint.sa")"
	"$HAMLET" rules test --rules "$SA" "$SA/regression_tests.cf" >"$T/reg" 2>&1
	last=$(tail -1 "$T/reg")
	case "$last" in
	*" passed, 0 failed"*) ok "regression_tests.cf: $last" ;;
	*) fail "regression_tests.cf: $last" ;;
	esac
	"$HAMLET" check --report --rules "$SA" --set use_bayes=no "$FIX" >"$T/sa.rep" 2>&1
	for r in DEAR_FRIEND GUARANTEED_100_PERCENT XPRIO NORMAL_HTTP_TO_IP; do
		grep -q " $r " "$T/sa.rep" && ok "SpamAssassin rule $r hits the fixture" \
			|| fail "SpamAssassin rule $r missing: $(cat "$T/sa.rep")"
	done
	"$HAMLET" rules lint --rules "$SA" --verify --verify-jit "$FIX" "$DATA"/*.eml >"$T/verify" 2>&1
	grep -q "prefilter verify: 0 mismatch" "$T/verify" && ok "prefilter changes no hit (SpamAssassin set)" \
		|| fail "prefilter: $(tail -3 "$T/verify")"
	grep -q "compared, 0 JIT mismatch(es), 0 start-gate" "$T/verify" \
		&& ok "JIT finds what the interpreter finds (SpamAssassin set)" \
		|| fail "jit: $(grep -E 'jit (mismatch|verify)' "$T/verify" | head -5)"
fi

# rules hits lists __sub-rules too
"$HAMLET" rules hits --rules "$ROOT/rules/default" "$FIX" >"$T/hits" 2>&1
grep -q "__HL_HAS_MSGID" "$T/hits" && grep -q "HL_B_DEAR_FRIEND" "$T/hits" \
	&& ok "rules hits shows sub-rules and rules" || fail "rules hits: $(cat "$T/hits")"

# HL_RCVD_COUNT_1 means exactly one Received header, HL_RCVD_MANY eight or
# more, on headers long enough that a backtracking pattern would run into
# PCRE2's match limit (the rules once did, and then did not fire)
rcvd_msg() {	# rcvd_msg N: N long Received headers, then 60 others
	i=0
	while [ $i -lt "$1" ]; do
		printf 'Received: from relay%d.example.net (relay%d.example.net [192.0.2.%d]) by mx.example.org with ESMTP id abcdefghijklmnop%d for <user@example.org>; Mon, 2 Nov 2026 10:00:%02d +0000\n' $i $i $i $i $((i % 60))
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 60 ]; do
		printf 'X-Filler-%d: more header text, so the header block is long %d\n' $i $i
		i=$((i + 1))
	done
	printf 'From: a@example.net\nTo: user@example.org\nSubject: hop count\nMessage-ID: <r%d@example.net>\nDate: Mon, 2 Nov 2026 10:00:00 +0000\n\nbody\n' "$1"
}
for n in 0 1 2 7 8 9 40; do
	rcvd_msg $n > "$T/rcvd$n.eml"
	"$HAMLET" rules hits --rules "$ROOT/rules/default" "$T/rcvd$n.eml" > "$T/rcvd$n.hits" 2>&1
	one=0; many=0
	grep -qw HL_RCVD_COUNT_1 "$T/rcvd$n.hits" && one=1
	grep -qw HL_RCVD_MANY "$T/rcvd$n.hits" && many=1
	want_one=0; want_many=0
	[ $n -eq 1 ] && want_one=1
	[ $n -ge 8 ] && want_many=1
	if [ $one = $want_one ] && [ $many = $want_many ]; then
		ok "$n Received headers: HL_RCVD_COUNT_1=$one HL_RCVD_MANY=$many"
	else fail "$n Received headers: HL_RCVD_COUNT_1=$one HL_RCVD_MANY=$many: $(cat "$T/rcvd$n.hits")"; fi
done

# a missing --rules directory is a configuration error
if "$HAMLET" check --rules "$T/nonexistent" "$FIX" >/dev/null 2>&1; then
	# check passes mail through on errors; the report mode must fail
	"$HAMLET" rules lint --rules "$T/nonexistent" >/dev/null 2>&1 \
		&& fail "missing rules dir accepted" || ok "missing rules dir refused"
else ok "missing rules dir refused"; fi

# a rule file with problems still loads; lint names file:line
printf 'body GOOD /hello/\nbody BAD /a(b/\nfrobnicate 1\n' >"$T/x.cf"
"$HAMLET" rules lint -v --rules "$T/x.cf" >"$T/lint.x" 2>&1
grep -q "x.cf:2: BAD: regex does not compile" "$T/lint.x" && grep -q "x.cf:3: unknown directive 'frobnicate'" "$T/lint.x" \
	&& ok "lint names file:line of bad rules" || fail "lint output: $(cat "$T/lint.x")"
finish
