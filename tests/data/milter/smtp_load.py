#!/usr/bin/env python3
"""smtp_load.py - push message files through an SMTP server on loopback.

Usage: smtp_load.py --port N [--concurrency C] [--new-connection] [--out TSV] < list-of-files

Each of C threads keeps one SMTP connection and sends its share of the
files (a leading mbox "From " line is dropped, line ends become CRLF).
Every message ends as exactly one of: ok (250), reject (5xx), tempfail
(4xx, at MAIL FROM, RCPT TO or end of data), error (connection
trouble, after one reconnect). Per message the
TSV gets: file, outcome, SMTP code, seconds for the transaction, and the
server's text for refusals.
Prints one summary line: "sent N ok N reject N tempfail N error N wall S".
Bounded: each file is tried at most twice; targets 127.0.0.1 only.
"""
import argparse, re, smtplib, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--concurrency", type=int, default=4)
ap.add_argument("--out", default=None)
ap.add_argument("--sender", default="load@test.example")
ap.add_argument("--rcpt", default="rcpt@test.example")
ap.add_argument("--new-connection", action="store_true",
                help="one SMTP connection per message (like MX traffic)")
args = ap.parse_args()

files = [l.rstrip("\n") for l in sys.stdin if l.strip()]
results = [None] * len(files)
lock = threading.Lock()
nexti = [0]
EOL = re.compile(rb"\r?\n")


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"From "):
        nl = data.find(b"\n")
        data = data[nl + 1:] if nl >= 0 else b""
    return EOL.sub(b"\r\n", data)


def connect():
    s = smtplib.SMTP("127.0.0.1", args.port, timeout=120)
    s.ehlo("load.test.example")
    return s


def worker():
    s = None
    while True:
        with lock:
            i = nexti[0]
            if i >= len(files):
                break
            nexti[0] += 1
        data = load(files[i])
        outcome, code, t, why = "error", 0, 0.0, ""

        for attempt in range(2):
            try:
                if s is None:
                    s = connect()
                t0 = time.monotonic()
                try:
                    s.sendmail(args.sender, [args.rcpt], data)
                    outcome, code = "ok", 250
                except smtplib.SMTPDataError as e:
                    outcome = "reject" if 500 <= e.smtp_code < 600 else "tempfail"
                    code, why = e.smtp_code, e.smtp_error
                except smtplib.SMTPSenderRefused as e:
                    # refused at MAIL FROM (e.g. milter unavailable)
                    outcome = "reject" if e.smtp_code >= 500 else "tempfail"
                    code, why = e.smtp_code, e.smtp_error
                except smtplib.SMTPRecipientsRefused as e:
                    c, why = list(e.recipients.values())[0]
                    outcome = "reject" if c >= 500 else "tempfail"
                    code = c
                t = time.monotonic() - t0
                break
            except (smtplib.SMTPServerDisconnected, OSError, smtplib.SMTPException):
                try:
                    if s is not None:
                        s.close()
                except Exception:
                    pass
                s = None
        if isinstance(why, bytes):
            why = why.decode("latin-1")
        results[i] = (files[i], outcome, code, t,
                      " ".join(str(why).split())[:200])
        if args.new_connection and s is not None:
            try:
                s.quit()
            except Exception:
                pass
            s = None
    if s is not None:
        try:
            s.quit()
        except Exception:
            pass


t0 = time.monotonic()
ths = [threading.Thread(target=worker) for _ in range(max(1, args.concurrency))]
for th in ths:
    th.start()
for th in ths:
    th.join()
wall = time.monotonic() - t0
count = {"ok": 0, "reject": 0, "tempfail": 0, "error": 0}
for r in results:
    count[r[1]] += 1
if args.out:
    with open(args.out, "w") as f:
        for r in results:
            f.write("%s\t%s\t%d\t%.6f\t%s\n" % r)
print("sent %d ok %d reject %d tempfail %d error %d wall %.3f" % (
    len(files), count["ok"], count["reject"], count["tempfail"], count["error"], wall))
