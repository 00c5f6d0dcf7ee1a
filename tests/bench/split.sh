#!/bin/sh
# split.sh - the fixed train/test split of the corpus: a message is in the
# test part when the first 4 hex digits of md5(file name) mod 100 >= 70.
# Reads paths on stdin, prints "train<TAB>path" or "test<TAB>path".
# Nothing may be fitted on the test part.
python3 -c '
import hashlib, os, sys
for line in sys.stdin:
    p = line.rstrip("\n")
    if not p:
        continue
    h = int(hashlib.md5(os.path.basename(p).encode()).hexdigest()[:4], 16)
    print("%s\t%s" % ("train" if h % 100 < 70 else "test", p))
'
