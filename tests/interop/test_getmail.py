"""getmail6: POP3S and IMAPS retrieval into a Maildir, content checked."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import need_tool
import mail

MSGS = [mail.message(1), mail.multipart(2), mail.message(3)]


def maildir_messages(root: Path):
    out = {}
    for sub in ("new", "cur"):
        for f in (root / sub).iterdir():
            raw = f.read_bytes()
            # getmail records the envelope sender it was told (none here) as
            # a first Return-Path: trace line (RFC 5321 §4.4); not server data.
            if raw.startswith(b"Return-Path:"):
                raw = raw.split(b"\n", 1)[1]
            out[mail.message_id(raw)] = raw
    return out


@pytest.mark.parametrize("kind", ["POP3S", "IMAPS"])
def test_getmail_maildir(server, tmp_path, kind, request):
    need_tool("getmail")
    c = server.imap()
    mail.load(c, "INBOX", [(m, []) for m in MSGS])
    if kind == "IMAPS":
        c.select_folder("INBOX")
        for uid, d in c.fetch(c.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).items():
            if b"msg-3-" in d[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]:
                c.add_flags([uid], [b"\\Deleted"])
        c.unselect_folder()
    c.logout()
    c = server.imap()
    held = mail.snapshot(c, "INBOX")
    c.logout()

    # getmail refuses to deliver as root; as root it delivers as nobody
    # (`user =`) into a Maildir that nobody can reach.
    as_user = ""
    if os.geteuid() == 0:
        outer = Path(tempfile.mkdtemp(prefix="postroom-getmail-"))
        outer.chmod(0o755)
        if os.environ.get("INTEROP_KEEP") is None:
            request.addfinalizer(lambda: shutil.rmtree(outer, ignore_errors=True))
        md = outer / "Maildir"
        as_user = "user = nobody\n"
    else:
        md = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (md / sub).mkdir(parents=True)
        if as_user:
            shutil.chown(md / sub, "nobody")
    gdir = tmp_path / "getmail"
    gdir.mkdir()
    if kind == "POP3S":
        retr = f"type = SimplePOP3SSLRetriever\nport = {server.pop3s_port}\n"
    else:
        retr = (f"type = SimpleIMAPSSLRetriever\nport = {server.imaps_port}\n"
                f"mailboxes = (\"INBOX\",)\nrecord_mailbox = false\n")
    (gdir / "getmailrc").write_text(f"""
[retriever]
{retr}server = {server.tls_name}
username = {server.user}
password = {server.password}
ca_certs = {server.ca_cert}

[destination]
type = Maildir
path = {md}/
{as_user}
[options]
read_all = true
delete = false
delivered_to = false
received = false
message_log = {tmp_path}/getmail.log
""")
    r = subprocess.run(["getmail", "--getmaildir", str(gdir), "--rcfile", "getmailrc"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"getmail failed:\n{r.stdout}\n{r.stderr}"
    got = maildir_messages(md)
    assert set(got) == set(held)
    for mid, (_f, raw) in held.items():
        # getmail writes local line endings (LF). It re-generates multipart
        # messages with Python's email package, which puts an empty line
        # after each closing boundary; compare those without empty lines.
        want = mail.to_lf(raw)
        if b"multipart/" in want:
            assert got[mid].replace(b"\n\n", b"\n") == want.replace(b"\n\n", b"\n"), mid
        else:
            assert got[mid] == want, mid
    if kind == "IMAPS":
        # getmail opens the mailbox read-only (EXAMINE) and ends with CLOSE,
        # which must not expunge after EXAMINE (RFC 3501 §6.4.2): the
        # message marked \Deleted beforehand is still there.
        c = server.imap()
        after = mail.snapshot(c, "INBOX")
        c.logout()
        assert set(after) == set(held)
        assert b"\\Deleted" in after[b"<msg-3-INBOX@example.org>"][0]
