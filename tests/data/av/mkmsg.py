#!/usr/bin/python3
# mkmsg.py OUTDIR - write the AV test messages into OUTDIR.
#
# The EICAR test string is assembled here at run time, so no file in the
# tree is itself a test virus. Messages:
#   eicar-b64.eml      EICAR as a base64 attachment
#   eicar-zip.eml      EICAR inside a deflated zip attachment
#   eicar-zipzip.eml   EICAR inside a zip inside a zip
#   eicar-body.eml     EICAR in the text body (quoted-printable)
#   clean.eml          a clean zip and a clean binary attachment
#   corrupt-zip.eml    a zip attachment with its middle overwritten
#   trunc-zip.eml      a zip attachment cut after the local header
#   blob.eml           an attachment only the reload test's .hdb knows
# and blob.hdb (md5:size:name of that attachment, sigtool --md5 format).
import hashlib
import io
import os
import sys
import zipfile
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

out = sys.argv[1]
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" +
         b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
BLOB = b"hamlet av reload blob, not a virus until the database says so\n"


def zipped(name, data):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return b.getvalue()


def message(subject, attachments, body="Please see the attachment.\n"):
    m = MIMEMultipart()
    m["From"] = "sender@example.test"
    m["To"] = "rcpt@example.test"
    m["Subject"] = subject
    m["Message-ID"] = "<%s@example.test>" % subject.replace(" ", "-")
    m["Date"] = "Mon, 23 Nov 2026 06:00:00 +0000"
    m.attach(MIMEText(body))
    for name, data in attachments:
        a = MIMEApplication(data, Name=name)
        a["Content-Disposition"] = 'attachment; filename="%s"' % name
        m.attach(a)
    return m.as_bytes()


def write(name, data):
    with open(os.path.join(out, name), "wb") as fp:
        fp.write(data)


z = zipped("eicar.com", EICAR)
clean_zip = zipped("readme.txt", b"Quarterly figures attached.\n" * 50)
corrupt = bytearray(clean_zip)
mid = len(corrupt) // 2
corrupt[mid:mid + 16] = b"\xff" * 16

write("eicar-b64.eml", message("eicar b64", [("eicar.com", EICAR)]))
write("eicar-zip.eml", message("eicar zip", [("eicar.zip", z)]))
write("eicar-zipzip.eml", message("eicar zipzip",
                                  [("outer.zip", zipped("inner.zip", z))]))
m = MIMEText("", "plain")
del m["Content-Transfer-Encoding"]
m.set_payload(EICAR.decode() + "\n")
m["Content-Transfer-Encoding"] = "7bit"
m["From"] = "sender@example.test"
m["To"] = "rcpt@example.test"
m["Subject"] = "eicar body"
write("eicar-body.eml", m.as_bytes())
write("clean.eml", message("clean", [("report.zip", clean_zip),
                                     ("data.bin", bytes(range(256)) * 8)]))
write("corrupt-zip.eml", message("corrupt zip", [("broken.zip",
                                                  bytes(corrupt))]))
write("trunc-zip.eml", message("trunc zip", [("cut.zip", clean_zip[:40])]))
write("blob.eml", message("blob", [("blob.bin", BLOB)]))
write("blob.hdb", ("%s:%d:Hamlet.Test.Blob\n" %
                   (hashlib.md5(BLOB).hexdigest(), len(BLOB))).encode())
