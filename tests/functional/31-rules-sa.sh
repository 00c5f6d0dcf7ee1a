#!/bin/sh
# 31-rules-sa.sh - SpamAssassin compatibility on the fixture messages:
# with the Debian SpamAssassin rule set and no Bayes, hamlet's verdicts
# must equal `spamassassin -L`'s (rules/tools/sa_oracle.pl), and on the
# fixtures whose facts hamlet fully models the rules hit must be the same.
# Skipped (counted as passed with a note) when SpamAssassin is absent.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SA=/usr/share/spamassassin
if [ ! -d "$SA" ] || ! perl -MMail::SpamAssassin -e1 2>/dev/null; then
	ok "SpamAssassin not installed: comparison skipped"
	finish; exit $?
fi
ls "$DATA"/*.eml "$DATA"/rules/*.eml >"$T/list"
perl "$ROOT/rules/tools/sa_oracle.pl" <"$T/list" >"$T/sa.tsv" 2>/dev/null
"$HAMLET" check --batch --rules "$SA" --set use_bayes=no <"$T/list" >"$T/h.tsv" 2>/dev/null
n=$(wc -l <"$T/list")
[ "$(wc -l <"$T/sa.tsv")" = "$n" ] && [ "$(wc -l <"$T/h.tsv")" = "$n" ] \
	&& ok "both scanned $n fixtures" || fail "scan counts: $(wc -l <"$T/sa.tsv") $(wc -l <"$T/h.tsv") of $n"
python3 - "$T/sa.tsv" "$T/h.tsv" >"$T/cmp" <<'PY'
import sys
def load(p, spam_col):
    d = {}
    for l in open(p, encoding="utf-8", errors="replace"):
        f = l.rstrip("\n").split("\t")
        rules = set(x for x in (f[3].split(",") if len(f) > 3 else []) if x)
        d[f[0]] = (spam_col(f), rules)
    return d
sa = load(sys.argv[1], lambda f: f[2] == "1")
h = load(sys.argv[2], lambda f: f[1] == "spam")
exact = ("ham.eml", "nul-bytes.eml", "gtube-crlf.eml", "spam1.eml", "8bit-headers.eml")
for k in sorted(sa):
    name = k.rsplit("/", 1)[-1]
    v = "same" if sa[k][0] == h.get(k, (None, set()))[0] else "DIFFERENT"
    print("verdict %s %s" % (name, v))
    if name in exact:
        d = sa[k][1] ^ h.get(k, (None, set()))[1]
        print("rules %s %s" % (name, "same" if not d else "DIFFERENT " + ",".join(sorted(d))))
PY
while read -r kind name res rest; do
	case "$res" in
	same) ok "$kind agree on $name" ;;
	*) fail "$kind differ on $name: $rest" ;;
	esac
done <"$T/cmp"
finish
