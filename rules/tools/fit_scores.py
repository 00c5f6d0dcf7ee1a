#!/usr/bin/python3
"""fit_scores.py - fit the scores of hamlet's default rules on the TRAIN
part of the corpus split (tests/bench/split.sh) and write 90_scores.cf.

usage: fit_scores.py HAMLET CORPUS_DIR [RULES_DIR] [OUT]

1. Runs `hamlet check --batch` with the rules of RULES_DIR (default
   rules/default) minus 90_scores.cf (so every rule runs with the default
   score) and Bayes off, on the training messages only.
2. Fits one score per rule by L2-regularised logistic regression with
   the decision fixed at SpamAssassin's threshold:
       P(spam) = sigmoid(sum(score_i * hit_i) - 5)
   Ham errors weigh HAM_WEIGHT times more than spam errors, as
   SpamAssassin's own score fitting prefers false negatives to false
   positives. Full-batch gradient descent; Debian python3 only.
   Scores are bounded the way SpamAssassin's rule QA bounds them, so the
   set generalises beyond this one corpus: a rule scores in [0, MAX_SCORE]
   unless it is marked `tflags NAME nice`, then in [NICE_MIN, 0] (HAM_MIN
   is the floor of the others: 0, as in SpamAssassin). A free
   negative weight would turn corpus quirks a spammer can copy (a Re:
   subject, In-Reply-To, a mail client's User-Agent, .org senders) into
   large bonuses; ham evidence comes from Bayes, authentication and the
   welcome lists instead.
3. Writes OUT (default RULES_DIR/90_scores.cf). The test part is never
   read here: tests/bench/bench_rules.sh measures it.
"""
import glob
import hashlib
import math
import os
import shutil
import subprocess
import sys
import tempfile

HAM_WEIGHT = 3.0
L2 = 0.002
EPOCHS = 400
RATE = 0.5
MAX_SCORE = 4.0
HAM_MIN = 0.0
NICE_MIN = -2.0


def nice_rules(rules_dir):
    """names with tflags nice in the rule files"""
    nice = set()
    for f in glob.glob(os.path.join(rules_dir, "*.cf")):
        for line in open(f, encoding="utf-8", errors="replace"):
            t = line.split()
            if len(t) >= 3 and t[0] == "tflags" and "nice" in t[2:]:
                nice.add(t[1])
    return nice


def part(path):
    h = int(hashlib.md5(os.path.basename(path).encode()).hexdigest()[:4], 16)
    return "train" if h % 100 < 70 else "test"


def main():
    hamlet, corpus = sys.argv[1], sys.argv[2]
    rules = sys.argv[3] if len(sys.argv) > 3 else "rules/default"
    out = sys.argv[4] if len(sys.argv) > 4 else os.path.join(rules, "90_scores.cf")
    files = []
    for cls in ("ham", "spam"):
        for p in sorted(glob.glob(os.path.join(corpus, cls, "*"))):
            if part(p) == "train":
                files.append((p, 1 if cls == "spam" else 0))
    tmp = tempfile.mkdtemp(prefix="hamlet-fit.")
    try:
        for f in glob.glob(os.path.join(rules, "*.cf")):
            if os.path.basename(f) != "90_scores.cf":
                shutil.copy(f, tmp)
        res = subprocess.run([hamlet, "check", "--batch", "--rules", tmp,
                              "--set", "use_bayes=no"],
                             input="\n".join(p for p, _ in files) + "\n",
                             capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(tmp)
    label = dict(files)
    rows = []
    names = {}
    for line in res.stdout.splitlines():
        f = line.split("\t")
        if len(f) < 3 or f[0] not in label:
            continue
        hits = [r for r in (f[3].split(",") if len(f) > 3 else [])
                if r.startswith("HL_")]
        idx = sorted(set(names.setdefault(r, len(names)) for r in hits))
        rows.append((idx, label[f[0]]))
    n = len(names)
    if not rows:
        sys.exit("fit_scores: no batch output (%s)" % res.stderr[:300])
    nice = nice_rules(rules)
    inv0 = sorted(names, key=lambda k: names[k])
    lo = [NICE_MIN if inv0[i] in nice else HAM_MIN for i in range(n)]
    hi = [0.0 if inv0[i] in nice else MAX_SCORE for i in range(n)]
    w = [0.0] * n
    tot = sum(HAM_WEIGHT if y == 0 else 1.0 for _, y in rows)
    for epoch in range(EPOCHS):
        g = [0.0] * n
        for idx, y in rows:
            z = sum(w[i] for i in idx) - 5.0
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            c = (p - y) * (HAM_WEIGHT if y == 0 else 1.0)
            for i in idx:
                g[i] += c
        for i in range(n):
            w[i] -= RATE * (g[i] / tot * 100.0 + L2 * w[i])
            w[i] = max(lo[i], min(hi[i], w[i]))
    correct = fp = fn = 0
    for idx, y in rows:
        s = sum(w[i] for i in idx)
        pred = 1 if s >= 5.0 else 0
        correct += pred == y
        fp += pred == 1 and y == 0
        fn += pred == 0 and y == 1
    inv = sorted(names, key=lambda k: names[k])
    with open(out, "w") as fp_out:
        fp_out.write("# hamlet default rule scores, fitted by rules/tools/"
                     "fit_scores.py on the TRAIN\n# part of the SpamAssassin "
                     "corpus split (%d messages): logistic regression,\n"
                     "# threshold 5, ham errors weighted %.0fx, scores in "
                     "[0, %.1f] (nice rules [%.1f, 0]).\n# Do not edit "
                     "by hand; re-run the script.\n" % (len(rows), HAM_WEIGHT,
                     MAX_SCORE, NICE_MIN))
        fp_out.write("# train accuracy %.2f%% (false positives %d, false "
                     "negatives %d)\n" % (100.0 * correct / len(rows), fp, fn))
        for name in sorted(inv):
            s = w[names[name]]
            if abs(s) < 0.001:
                s = 0.001 if s >= 0 else -0.001
            fp_out.write("score %-28s %.3f\n" % (name, s))
    print("fit_scores: %d train messages, %d rules hit; train accuracy "
          "%.2f%% (FP %d, FN %d); wrote %s" %
          (len(rows), n, 100.0 * correct / len(rows), fp, fn, out))


main()
