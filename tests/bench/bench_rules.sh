#!/bin/sh
# bench_rules.sh HAMLET CORPUS_DIR - rules: speed against SpamAssassin,
# verdict agreement with `spamassassin -L`, prefilter effect, and the
# accuracy of hamlet's default rule set on the TEST part of the split.
#
# CPU time (user+sys) of one `hamlet check --batch` process over a sample
# of the test part (HAMLET_BENCH_SA_N messages, default 300): without
# rules (parsing only), with hamlet's default rules, with the Debian
# SpamAssassin 4.0 rule set; and of SpamAssassin itself (one Perl process
# through Mail::SpamAssassin, local tests only, no Bayes, no AWL:
# rules/tools/sa_oracle.pl) on the same messages, its start-up (rule
# compilation) measured apart and subtracted. Prints ms/message and the
# ratio SpamAssassin / hamlet. hamlet's run with the SpamAssassin set and
# its start-up are medians of 3 (its start-up is a fifth of the run), and
# so is SpamAssassin's run.
set -u
H=${1:?usage: bench_rules.sh HAMLET CORPUS_DIR}
CORPUS=${2:?usage: bench_rules.sh HAMLET CORPUS_DIR}
N=${HAMLET_BENCH_SA_N:-300}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SA=/usr/share/spamassassin
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/norules"

ls "$CORPUS"/ham/* "$CORPUS"/spam/* | sh "$HERE/split.sh" |
	awk -F'\t' '$1 == "test" { print $2 }' >"$TMP/test.txt"
# an even sample of the test part (every k-th message)
awk -v n="$N" 'NR == FNR { t++; next } FNR == 1 { k = int(t / n); if (k < 1) k = 1 }
	(FNR - 1) % k == 0 && c < n { print; c++ }' "$TMP/test.txt" "$TMP/test.txt" >"$TMP/sample.txt"
ns=$(wc -l <"$TMP/sample.txt")

# cpu SECONDS of a command (children's user+sys), output to $TMP/out
cpu() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys
inp = open(sys.argv[1], "rb")
out = open(sys.argv[2], "wb")
subprocess.run(sys.argv[3:], stdin=inp, stdout=out, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f" % (r.ru_utime + r.ru_stime))
PY
}

echo "== rules: CPU per message on $ns messages of the test part =="
t0=$(cpu "$TMP/sample.txt" "$TMP/h0.tsv" "$H" check --batch --rules "$TMP/norules" --set use_bayes=no)
td=$(cpu "$TMP/sample.txt" "$TMP/hd.tsv" "$H" check --batch --rules "$ROOT/rules/default" --set use_bayes=no)
printf '%-44s %8.3f ms/msg\n' "hamlet, no rules (parse + scan frame)" "$(echo "$t0 $ns" | awk '{print 1000*$1/$2}')"
printf '%-44s %8.3f ms/msg\n' "hamlet, default rules" "$(echo "$td $ns" | awk '{print 1000*$1/$2}')"
if [ ! -d "$SA" ] || ! perl -MMail::SpamAssassin -e1 2>/dev/null; then
	echo "SpamAssassin not installed: no comparison"; exit 0
fi
: >"$TMP/empty.txt"
# the ratio's denominator: the run and its start-up (about a fifth of
# it, subtracted) each the median of 3, alternated, on a shared machine
med3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
ts1=$(cpu "$TMP/sample.txt" "$TMP/hs.tsv" "$H" check --batch --rules "$SA" --set use_bayes=no)
s01=$(cpu "$TMP/empty.txt" "$TMP/hs0.tsv" "$H" check --batch --rules "$SA" --set use_bayes=no)
ts2=$(cpu "$TMP/sample.txt" "$TMP/hs.tsv" "$H" check --batch --rules "$SA" --set use_bayes=no)
s02=$(cpu "$TMP/empty.txt" "$TMP/hs0.tsv" "$H" check --batch --rules "$SA" --set use_bayes=no)
ts3=$(cpu "$TMP/sample.txt" "$TMP/hs.tsv" "$H" check --batch --rules "$SA" --set use_bayes=no)
s03=$(cpu "$TMP/empty.txt" "$TMP/hs0.tsv" "$H" check --batch --rules "$SA" --set use_bayes=no)
ts=$(med3 "$ts1" "$ts2" "$ts3")
ts0=$(med3 "$s01" "$s02" "$s03")
printf '%-44s %8.3f ms/msg (start-up %.2f s not counted)\n' "hamlet, SpamAssassin rule set" \
	"$(echo "$ts $ts0 $ns" | awk '{print 1000*($1-$2)/$3}')" "$ts0"
ts=$(echo "$ts $ts0" | awk '{print $1-$2}')
# SpamAssassin's run too is the median of 3 (it moves by 10-20% between
# runs on a shared machine); its start-up is under a twentieth of it
tsa0=$(cpu "$TMP/empty.txt" "$TMP/sa0.tsv" perl "$ROOT/rules/tools/sa_oracle.pl")
tsa1=$(cpu "$TMP/sample.txt" "$TMP/sa.tsv" perl "$ROOT/rules/tools/sa_oracle.pl")
tsa2=$(cpu "$TMP/sample.txt" "$TMP/sa.tsv" perl "$ROOT/rules/tools/sa_oracle.pl")
tsa3=$(cpu "$TMP/sample.txt" "$TMP/sa.tsv" perl "$ROOT/rules/tools/sa_oracle.pl")
tsa=$(med3 "$tsa1" "$tsa2" "$tsa3")
printf '%-44s %8.3f ms/msg (start-up %.1f s not counted)\n' "SpamAssassin 4.0 (-L, no Bayes)" \
	"$(echo "$tsa $tsa0 $ns" | awk '{print 1000*($1-$2)/$3}')" "$tsa0"
echo "$tsa $tsa0 $ts $ns" | awk '{ printf "ratio SpamAssassin / hamlet (same rules):   %.1fx (target >= 50x)\n", ($1-$2)/$3 }'
echo "runs (CPU s, $ns messages): hamlet $ts1 $ts2 $ts3 (start-up $s01 $s02 $s03), SpamAssassin $tsa1 $tsa2 $tsa3 (start-up $tsa0)"
echo "$tsa $tsa0 $ts $t0 $ns" | awk '{ if ($3 > $4) printf "ratio on rule matching alone (minus parse):  %.1fx\n", ($1-$2)/($3-$4) }'

echo "== rules: verdict agreement with spamassassin -L (same rules, no Bayes) =="
python3 "$ROOT/rules/tools/compare_sa.py" "$TMP/sa.tsv" "$TMP/hs.tsv" | head -20

echo "== rules: prefilter on the SpamAssassin set (same sample) =="
xargs "$H" rules lint --rules "$SA" <"$TMP/sample.txt" 2>/dev/null | grep -E "^prefilter"

echo "== rules: hamlet default rules on the whole test part (never fitted on) =="
"$H" check --batch --rules "$ROOT/rules/default" --set use_bayes=no <"$TMP/test.txt" >"$TMP/dt.tsv" 2>/dev/null
awk -F'\t' '{ c = ($1 ~ /\/spam\//) ? "spam" : "ham"; n++; if (c == $2) ok++
	if (c == "ham") { h++; if ($2 == "spam") fp++ } else { s++; if ($2 == "ham") fn++ } }
	END { printf "messages %d: accuracy %.2f%%, false positives %d of %d ham (%.2f%%), false negatives %d of %d spam (%.2f%%)\n",
	n, 100 * ok / n, fp, h, 100 * fp / h, fn, s, 100 * fn / s }' "$TMP/dt.tsv"
