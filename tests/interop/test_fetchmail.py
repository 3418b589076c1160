"""fetchmail: POP3 with STLS and IMAP (STARTTLS) into an mbox, byte for byte
equal to what the server holds; then a run that deletes on the server."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need_tool
import mail

HERE = Path(__file__).resolve().parent


def server_messages(server):
    c = server.imap()
    snap = mail.snapshot(c, "INBOX")
    c.logout()
    return snap


def fetchmail(server, tmp_path, proto: str, port: int, keep: bool, tag: str):
    home = tmp_path / "fmhome"
    home.mkdir(exist_ok=True)
    mbox = tmp_path / "mbox"
    rc = tmp_path / f"fetchmailrc-{tag}"
    rc.write_text(f"""
set no syslog
set no bouncemail
poll {server.tls_name} service {port} protocol {proto} auth password
  user "{server.user}" password "{server.password}" is root here
  sslproto tls1.2+ sslcertck sslcertfile "{server.ca_cert}"
  fetchall {"keep" if keep else "nokeep"} no rewrite
  mda "{sys.executable} {HERE / 'mda_mbox.py'} {mbox}"
""")
    rc.chmod(0o600)
    env = dict(os.environ, FETCHMAILHOME=str(home), HOME=str(home))
    r = subprocess.run(["fetchmail", "-f", str(rc), "-v", "--nodetach",
                        "--pidfile", str(home / "pid"), "-i", str(home / "ids")],
                       capture_output=True, text=True, env=env, timeout=120)
    # 0: mail retrieved; 1: no mail.
    assert r.returncode in (0, 1), f"fetchmail failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout + r.stderr, mbox


def invisible_strip(raw: bytes) -> bytes:
    """fetchmail prepends its own Received: header (trace field, RFC 5322
    §3.6.7) unless `invisible`; that option also changes delivery, so the
    header is removed here instead."""
    lines = raw.split(b"\n")
    assert lines[0].startswith(b"Received: from "), lines[:3]
    i = 1
    while lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\n".join(lines[i:])


MSGS = [mail.message(1), mail.message(2), mail.multipart(3), mail.message(4, subject="x" * 200)]


@pytest.mark.parametrize("proto", ["POP3", "IMAP"])
def test_fetchmail_mbox(server, tmp_path, proto):
    need_tool("fetchmail")
    c = server.imap()
    mail.load(c, "INBOX", [(m, []) for m in MSGS])
    c.logout()
    held = server_messages(server)
    port = server.pop3_port if proto == "POP3" else server.imap_port

    out, mbox = fetchmail(server, tmp_path, proto, port, keep=True, tag="keep")
    # STARTTLS/STLS was negotiated on the plain port.
    cmd = r"POP3> STLS\n" if proto == "POP3" else r"IMAP> A\d+ STARTTLS\n"
    assert re.search(cmd, out), out
    got = [invisible_strip(m) for m in mail.parse_mbox(mbox.read_bytes())]
    assert len(got) == len(MSGS)
    by_id = {mail.message_id(m): m for m in got}
    assert set(by_id) == set(held)
    for mid, (_flags, raw) in held.items():
        assert by_id[mid] == mail.to_lf(raw), mid
    # keep: the server still holds everything.
    assert set(server_messages(server)) == set(held)

    # Second run deletes on the server and fetches the same messages again
    # (fetchall), appending them to the mbox once more.
    out, mbox = fetchmail(server, tmp_path, proto, port, keep=False, tag="delete")
    got = [invisible_strip(m) for m in mail.parse_mbox(mbox.read_bytes())]
    assert len(got) == 2 * len(MSGS)
    assert got[len(MSGS):] == got[:len(MSGS)]
    assert server_messages(server) == {}
