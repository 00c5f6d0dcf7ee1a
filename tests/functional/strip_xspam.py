#!/usr/bin/python3
# strip_xspam.py [--also-error] < tagged > original
# Removes X-Spam-* header fields (with their continuation lines) from the
# header block of a message read as bytes; everything else is copied as is.
# With --also-error, X-Hamlet-Error too. Used to prove byte-exact passthrough.
import sys
data = sys.stdin.buffer.read()
names = [b"x-spam-"]
if "--also-error" in sys.argv:
    names.append(b"x-hamlet-error:")
out = bytearray()
i = 0
n = len(data)
skipping = False
in_headers = True
while i < n:
    j = data.find(b"\n", i)
    j = n if j < 0 else j + 1
    line = data[i:j]
    if in_headers:
        if line in (b"\n", b"\r\n"):
            in_headers = False
        elif line[:1] in (b" ", b"\t") and skipping:
            i = j
            continue
        else:
            skipping = any(line.lower().startswith(p) for p in names)
            if skipping:
                i = j
                continue
    out += line
    i = j
sys.stdout.buffer.write(bytes(out))
