#!/usr/bin/env python3
"""A minimal MDA for the tests: append stdin to an mbox (mboxrd quoting).

Usage: mda_mbox.py MBOX. Lines matching ^>*From  in the message get one more
'>'; each message is preceded by a 'From ' separator line and followed by an
empty line. mail.parse_mbox undoes exactly this.
"""
import re
import sys

data = sys.stdin.buffer.read().replace(b"\r\n", b"\n")
if not data.endswith(b"\n"):
    data += b"\n"
quoted = re.sub(rb"(?m)^(>*From )", rb">\1", data)
with open(sys.argv[1], "ab") as f:
    f.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + quoted + b"\n")
