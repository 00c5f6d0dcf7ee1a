#!/usr/bin/python3
"""compare_sa.py - verdict agreement between hamlet and SpamAssassin.

usage: compare_sa.py ORACLE.tsv HAMLET_BATCH.tsv [SPLIT]

ORACLE.tsv comes from sa_oracle.pl (path, score, is_spam, rules);
HAMLET_BATCH.tsv from `hamlet check --batch` (path, spam|ham, score,
rules). SPLIT (train|test|all, default all) selects messages by
tests/bench/split.sh's rule. Prints the agreement and the rules that
differ most on the messages whose verdicts disagree.
"""
import collections
import hashlib
import os
import sys


def part(path):
    h = int(hashlib.md5(os.path.basename(path).encode()).hexdigest()[:4], 16)
    return "train" if h % 100 < 70 else "test"


def main():
    oracle, batch = sys.argv[1], sys.argv[2]
    split = sys.argv[3] if len(sys.argv) > 3 else "all"
    sa = {}
    for line in open(oracle, encoding="utf-8", errors="replace"):
        f = line.rstrip("\n").split("\t")
        if len(f) < 3:
            continue
        rules = set(r for r in (f[3].split(",") if len(f) > 3 else []) if r)
        sa[os.path.basename(f[0])] = (float(f[1]), f[2] == "1", rules)
    n = agree = 0
    diff = collections.Counter()
    cls = collections.Counter()
    for line in open(batch, encoding="utf-8", errors="replace"):
        f = line.rstrip("\n").split("\t")
        if len(f) < 3:
            continue
        key = os.path.basename(f[0])
        if key not in sa or (split != "all" and part(key) != split):
            continue
        score, spam, srules = sa[key]
        hspam = f[1] == "spam"
        hrules = set(r for r in (f[3].split(",") if len(f) > 3 else []) if r)
        n += 1
        if hspam == spam:
            agree += 1
            continue
        cls["sa=%s hamlet=%s" % ("spam" if spam else "ham",
                                 "spam" if hspam else "ham")] += 1
        for r in srules - hrules:
            diff["only SA: " + r] += 1
        for r in hrules - srules:
            diff["only hamlet: " + r] += 1
    print("messages: %d, verdicts agree: %d (%.2f%%)" %
          (n, agree, 100.0 * agree / n if n else 0))
    for k, v in cls.most_common():
        print("  %s: %d" % (k, v))
    print("rules differing most on disagreements:")
    for k, v in diff.most_common(25):
        print("  %5d %s" % (v, k))


try:
    main()
except BrokenPipeError:
    pass
