"""mbsync (isync): two-way sync of INBOX and two folders over IMAPS.

Flags and deletions made on either side must arrive on the other; the
server's state is checked over IMAP afterwards.
"""

import os
import subprocess
from pathlib import Path

from conftest import need_tool
import mail

FOLDERS = ["INBOX", "INBOX.Work", "INBOX.Lists"]


def maildir_state(root: Path):
    """Message-ID -> (maildir flag letters, bytes) for one local Maildir."""
    out = {}
    for sub in ("cur", "new"):
        d = root / sub
        if not d.is_dir():
            continue
        for f in d.iterdir():
            info = f.name.split(":2,", 1)[1] if ":2," in f.name else ""
            raw = f.read_bytes()
            out[mail.message_id(raw)] = (set(info), f)
    return out


def strip_tuid(raw: bytes) -> bytes:
    """mbsync adds an X-TUID header to the copies it stores (its own
    bookkeeping for finding a stored message's UID); drop it to compare."""
    raw = mail.to_lf(raw)
    head, sep, body = raw.partition(b"\n\n")
    keep = [h for h in head.split(b"\n") if not h.lower().startswith(b"x-tuid:")]
    return b"\n".join(keep) + sep + body


def local_dir(base: Path, folder: str) -> Path:
    return base / ("INBOX" if folder == "INBOX" else folder.split(".", 1)[1])


def run_mbsync(cfg: Path):
    r = subprocess.run(["mbsync", "-c", str(cfg), "-a"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, f"mbsync failed:\n{r.stdout}\n{r.stderr}"
    return r


def test_mbsync_two_way(server, tmp_path):
    need_tool("mbsync")
    c = server.imap()
    mail.load(c, "INBOX", [(mail.message(1), []), (mail.message(2), [b"\\Seen"]),
                           (mail.message(3), [b"\\Flagged"])])
    mail.load(c, "INBOX.Work", [(mail.message(4, folder="Work"), [b"\\Seen"]),
                                (mail.message(5, folder="Work"), [])])
    mail.load(c, "INBOX.Lists", [(mail.multipart(6), [b"\\Answered", b"\\Seen"])])
    c.logout()

    local = tmp_path / "mail"
    local.mkdir()
    cfg = tmp_path / "mbsyncrc"
    cfg.write_text(f"""
IMAPAccount test
Host {server.tls_name}
Port {server.imaps_port}
User {server.user}
Pass {server.password}
SSLType IMAPS
CertificateFile {server.ca_cert}
PipelineDepth 20

IMAPStore remote
Account test
Path INBOX.

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns INBOX Work Lists
Create Both
Expunge Both
SyncState *
""")
    # First sync: everything arrives locally with its flags.
    run_mbsync(cfg)
    inbox = maildir_state(local_dir(local, "INBOX"))
    work = maildir_state(local_dir(local, "INBOX.Work"))
    lists = maildir_state(local_dir(local, "INBOX.Lists"))
    assert len(inbox) == 3 and len(work) == 2 and len(lists) == 1
    assert inbox[b"<msg-2-INBOX@example.org>"][0] == {"S"}
    assert inbox[b"<msg-3-INBOX@example.org>"][0] == {"F"}
    assert inbox[b"<msg-1-INBOX@example.org>"][0] == set()
    assert lists[b"<mp-6@example.org>"][0] == {"R", "S"}
    c = server.imap()
    srv = mail.snapshot(c, "INBOX.Lists")
    c.logout()
    assert strip_tuid(lists[b"<mp-6@example.org>"][1].read_bytes()) == \
        mail.to_lf(srv[b"<mp-6@example.org>"][1])

    # Local changes: flag msg 1 seen+flagged, delete msg 3, add a message to Work.
    _, f1 = inbox[b"<msg-1-INBOX@example.org>"]
    f1.rename(f1.parent.parent / "cur" / (f1.name.split(":2,")[0] + ":2,FS"))
    inbox[b"<msg-3-INBOX@example.org>"][1].unlink()
    new_local = mail.message(7, folder="Work")
    (local_dir(local, "INBOX.Work") / "new" / "1700000000.P1Q1.local").write_bytes(
        mail.to_lf(new_local))
    # Server changes: msg 5 answered, msg 4 deleted+expunged, new message in Lists.
    c = server.imap()
    c.select_folder("INBOX.Work")
    by_id = {mail.message_id(d[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]): u for u, d in
             c.fetch(c.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).items()}
    c.add_flags([by_id[b"<msg-5-Work@example.org>"]], [b"\\Answered"])
    c.add_flags([by_id[b"<msg-4-Work@example.org>"]], [b"\\Deleted"])
    c.expunge()
    c.close_folder()
    mail.load(c, "INBOX.Lists", [(mail.message(8, folder="Lists"), [b"\\Flagged"])])
    c.logout()

    run_mbsync(cfg)

    # Server state over IMAP.
    c = server.imap()
    s_inbox = mail.snapshot(c, "INBOX")
    s_work = mail.snapshot(c, "INBOX.Work")
    s_lists = mail.snapshot(c, "INBOX.Lists")
    c.logout()
    assert set(s_inbox) == {b"<msg-1-INBOX@example.org>", b"<msg-2-INBOX@example.org>"}
    assert s_inbox[b"<msg-1-INBOX@example.org>"][0] == {b"\\Seen", b"\\Flagged"}
    assert set(s_work) == {b"<msg-5-Work@example.org>", b"<msg-7-Work@example.org>"}
    assert s_work[b"<msg-5-Work@example.org>"][0] == {b"\\Answered"}
    assert strip_tuid(s_work[b"<msg-7-Work@example.org>"][1]) == mail.to_lf(new_local)
    assert set(s_lists) == {b"<mp-6@example.org>", b"<msg-8-Lists@example.org>"}

    # Local state.
    inbox = maildir_state(local_dir(local, "INBOX"))
    work = maildir_state(local_dir(local, "INBOX.Work"))
    lists = maildir_state(local_dir(local, "INBOX.Lists"))
    assert set(inbox) == set(s_inbox)
    assert set(work) == set(s_work)
    assert work[b"<msg-5-Work@example.org>"][0] == {"R"}
    assert set(lists) == set(s_lists)
    assert lists[b"<msg-8-Lists@example.org>"][0] == {"F"}
    for mid, (_, raw) in s_lists.items():
        assert strip_tuid(lists[mid][1].read_bytes()) == mail.to_lf(raw)
