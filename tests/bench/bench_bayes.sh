#!/bin/sh
# bench_bayes.sh HAMLET CORPUS - Bayes alone: hamlet against bogofilter on
# the fixed split (split.sh: 70% train, 30% test by file-name hash),
# trained and tested in the same run on the same messages, one core each.
#
# Reports per filter: FP% and FN% at the default threshold (hamlet: Bayes
# probability > 0.5, the decision boundary of a probability, fixed before
# looking at any result; bogofilter: its own verdict at its default
# spam_cutoff), (1-AUC)% over the raw scores (hamlet: its log-odds
# rank, the same order as its probability at full resolution;
# bogofilter: its printed probability), lam% (logistic
# average misclassification, TREC), training and classification
# messages per CPU second (user+sys; the machine is shared); then
# hamlet/bogofilter ratios.
# CORPUS has ham/ and spam/ with one file per message.
set -eu
HAMLET=$1
CORPUS=$(cd "$2" && pwd)	# the symlinks below need an absolute path
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-bayes.XXXXXX")
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
# pin to one core when taskset exists
if command -v taskset >/dev/null 2>&1; then ONE="taskset -c 0"; else ONE=""; fi

# the split, as symlink folders so both filters read the same files
for c in ham spam; do
	mkdir -p "$W/train/$c" "$W/test/$c"
	find "$CORPUS/$c" -type f ! -name '.*' | sort | sh "$HERE/split.sh" |
	while IFS="$(printf '\t')" read -r part path; do
		ln -s "$path" "$W/$part/$c/$(basename "$path")"
	done
	ls "$W/test/$c" | sed "s|^|$W/test/$c/|" > "$W/test_$c.lst"
done
cat "$W/test_ham.lst" "$W/test_spam.lst" > "$W/test.lst"
ntrain=$(( $(ls "$W/train/ham" | wc -l) + $(ls "$W/train/spam" | wc -l) ))
ntest=$(wc -l < "$W/test.lst")

# CPU seconds (user + system, children included) of one command: the
# machine is shared, so rates are messages per CPU second on one core
tm() { out=$1; shift; /usr/bin/time -f "%U %S" -o "$W/time.$out" "$@"; }

# hamlet
tm htrain_s $ONE "$HAMLET" train-spam -q --db "$W/hdb" "$W/train/spam" >/dev/null || true
tm htrain_h $ONE "$HAMLET" train-ham -q --db "$W/hdb" "$W/train/ham" >/dev/null || true
tm hclass xargs $ONE "$HAMLET" bayes classify --db "$W/hdb" < "$W/test.lst" > "$W/hamlet.raw"
cut -f1,2,3 "$W/hamlet.raw" > "$W/hamlet.out"

# bogofilter (bulk mode, Berkeley DB as packaged)
mkdir -p "$W/bdb"
(cd "$W/train/spam" && ls > "$W/bs.lst" && tm btrain_s xargs $ONE bogofilter -d "$W/bdb" -s -B < "$W/bs.lst")
(cd "$W/train/ham" && ls > "$W/bh.lst" && tm btrain_h xargs $ONE bogofilter -d "$W/bdb" -n -B < "$W/bh.lst")
tm bclass xargs $ONE bogofilter -d "$W/bdb" -t -B < "$W/test.lst" > "$W/bogo.raw" || true
paste "$W/test.lst" "$W/bogo.raw" | awk -F'\t' '{ split($2, a, " ");
    printf "%s\t%s\t%s\n", $1, a[2], a[1] }' > "$W/bogo.out"
cpu() { cat "$@" | awk '{ s += $1 + $2 } END { printf "%.3f", s }'; }
t_ht=$(cpu "$W/time.htrain_s" "$W/time.htrain_h")
t_hc=$(cpu "$W/time.hclass")
t_bt=$(cpu "$W/time.btrain_s" "$W/time.btrain_h")
t_bc=$(cpu "$W/time.bclass")


# The fixed split's (1-AUC) hangs on a few messages (one long-prose spam
# can move it by 0.1); 5-fold cross-validation over the TRAINING part
# (fold by cksum of the file name) gives a steadier comparison of the
# two filters. BENCH_BAYES_CV=0 skips it. BENCH_BAYES_CV_SEEDS="1 2 3"
# repeats it with other fold assignments (cksum of seed + file name):
# a choice made by cross-validation should hold over several.
if [ "${BENCH_BAYES_CV:-1}" != 0 ]; then
	i=0
	for seed in - ${BENCH_BAYES_CV_SEEDS:-}; do
		[ "$seed" = - ] && seed=""
		for c in ham spam; do
			ls "$W/train/$c" | while read -r n; do
				k=$(printf %s%s "$seed" "$n" | cksum | awk '{print $1 % 5}')
				echo "$k $c $n"
			done
		done > "$W/folds"
		: > "$W/cv_hamlet.$i.out"; : > "$W/cv_bogo.$i.out"
		for k in 0 1 2 3 4; do
			F="$W/cv$i.$k"
			mkdir -p "$F/ham" "$F/spam" "$F/bdb"
			: > "$F/test.lst"
			while read -r fk c n; do
				if [ "$fk" = "$k" ]; then
					echo "$W/train/$c/$n" >> "$F/test.lst"
				else
					ln -s "$W/train/$c/$n" "$F/$c/$n"
				fi
			done < "$W/folds"
			"$HAMLET" train-spam -q --db "$F/hdb" "$F/spam" >/dev/null 2>&1
			"$HAMLET" train-ham -q --db "$F/hdb" "$F/ham" >/dev/null 2>&1
			xargs "$HAMLET" bayes classify --db "$F/hdb" < "$F/test.lst" |
			    cut -f1,2,3 >> "$W/cv_hamlet.$i.out"
			(cd "$F/spam" && ls | xargs bogofilter -d "$F/bdb" -s -B)
			(cd "$F/ham" && ls | xargs bogofilter -d "$F/bdb" -n -B)
			xargs bogofilter -d "$F/bdb" -t -B < "$F/test.lst" |
			    paste "$F/test.lst" - | awk -F'\t' '{ split($2, a, " ");
			    printf "%s\t%s\t%s\n", $1, a[2], a[1] }' >> "$W/cv_bogo.$i.out"
			rm -rf "$F"
		done
		i=$((i + 1))
	done
fi

python3 - "$W" "$ntrain" "$ntest" "$t_ht" "$t_hc" "$t_bt" "$t_bc" <<'PY'
import math, sys
w, ntrain, ntest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t_ht, t_hc, t_bt, t_bc = map(float, sys.argv[4:8])

def load(path, verdict):
    rows = []
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) < 3:
            continue
        spam = "/spam/" in f[0]
        prob = float(f[1])
        if verdict == "hamlet":
            # rank is hamlet's log-odds ln(prob / (1 - prob)) at full
            # resolution (prob prints as 0, 1 or 0.5 long before the
            # evidence stops growing): the order of the AUC
            key = (float(f[2]), 0.0)
            said = prob > 0.5
        else:
            key = (prob, 0.0)
            said = f[2] == "S"
        rows.append((spam, key, said, prob >= 0.99))
    return rows

def metrics(rows):
    ham = [r for r in rows if not r[0]]
    spam = [r for r in rows if r[0]]
    fp = sum(1 for r in ham if r[2])
    fn = sum(1 for r in spam if not r[2])
    # AUC = P(score(spam) > score(ham)), ties count one half
    allr = sorted(rows, key=lambda r: r[1])
    i, rank_sum = 0, 0.0
    while i < len(allr):
        j = i
        while j < len(allr) and allr[j][1] == allr[i][1]:
            j += 1
        avg = (i + 1 + j) / 2.0
        rank_sum += avg * sum(1 for r in allr[i:j] if r[0])
        i = j
    ns, nh = len(spam), len(ham)
    auc = (rank_sum - ns * (ns + 1) / 2.0) / (ns * nh) if ns and nh else 0
    fpr = (fp + 0.5) / (nh + 1)
    fnr = (fn + 0.5) / (ns + 1)
    lg = lambda p: math.log(p / (1 - p))
    lam = 1 / (1 + math.exp(-(lg(fpr) + lg(fnr)) / 2))
    fp99 = sum(1 for r in ham if r[3])
    fn99 = sum(1 for r in spam if not r[3])
    return (100.0 * fp / max(nh, 1), 100.0 * fn / max(ns, 1),
            100.0 * (1 - auc), 100.0 * lam, len(rows), fp, fn,
            100.0 * fp99 / max(nh, 1), 100.0 * fn99 / max(ns, 1))

h = metrics(load(w + "/hamlet.out", "hamlet"))
b = metrics(load(w + "/bogo.out", "bogo"))
ht, hc = ntrain / max(t_ht, 1e-9), ntest / max(t_hc, 1e-9)
bt, bc = ntrain / max(t_bt, 1e-9), ntest / max(t_bc, 1e-9)
print("bayes bench: %d train, %d test messages (split.sh); rates are "
      "messages per CPU second (user+sys)" % (ntrain, ntest))
print("%-12s %8s %8s %9s %8s %10s %10s" %
      ("", "FP%", "FN%", "(1-AUC)%", "lam%", "train/s", "classify/s"))
for name, m, tr, cl in (("hamlet", h, ht, hc), ("bogofilter", b, bt, bc)):
    print("%-12s %8.3f %8.3f %9.4f %8.3f %10.0f %10.0f   (%d scored, %d FP, %d FN)" %
          (name, m[0], m[1], m[2], m[3], tr, cl, m[4], m[5], m[6]))
print("at one cutoff for both (prob >= 0.99, bogofilter's spam_cutoff): "
      "hamlet FP %.3f%% FN %.3f%%, bogofilter FP %.3f%% FN %.3f%%" %
      (h[7], h[8], b[7], b[8]))
def ratio(a, b):
    return "%.2f" % (a / b) if b else "n/a"
print("hamlet/bogofilter: (1-AUC) %s, lam %s, train speed %s, classify speed %s" %
      (ratio(h[2], b[2]), ratio(h[3], b[3]), ratio(ht, bt), ratio(hc, bc)))
import os
cvh, cvb = [], []
i = 0
while os.path.exists("%s/cv_hamlet.%d.out" % (w, i)):
    ch = metrics(load("%s/cv_hamlet.%d.out" % (w, i), "hamlet"))
    cb = metrics(load("%s/cv_bogo.%d.out" % (w, i), "bogo"))
    print("5-fold CV on the training part%s (%d messages): (1-AUC)%% hamlet %.4f, "
          "bogofilter %.4f (ratio %s); lam%% hamlet %.3f, bogofilter %.3f" %
          ("" if i == 0 else ", fold assignment %d" % i, ch[4], ch[2], cb[2],
           ratio(ch[2], cb[2]), ch[3], cb[3]))
    cvh.append(ch[2]); cvb.append(cb[2])
    i += 1
if len(cvh) > 1:
    mh, mb = sum(cvh) / len(cvh), sum(cvb) / len(cvb)
    print("5-fold CV, mean of %d fold assignments: (1-AUC)%% hamlet %.4f, "
          "bogofilter %.4f (ratio %s)" % (len(cvh), mh, mb, ratio(mh, mb)))
print("targets: hamlet (1-AUC)%% <= 0.05: %s; FP%% <= 0.1: %s; speed >= bogofilter: %s" %
      ("yes" if h[2] <= 0.05 else "NO", "yes" if h[0] <= 0.1 else "NO",
       "yes" if ht >= bt and hc >= bc else "NO"))
PY
