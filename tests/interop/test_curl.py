"""curl as IMAP client (over IMAPS) and POP3 client (over STLS and POP3S)."""

import re
import subprocess

import pytest

from conftest import need_tool
import mail


def curl(server, url: str, *args: str, check: bool = True):
    r = subprocess.run(["curl", "-sS", "-v", "--cacert", server.ca_cert,
                        "-u", f"{server.user}:{server.password}", *args, url],
                       capture_output=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r


def load_inbox(server):
    msgs = [mail.message(1), mail.multipart(2), mail.message(3, subject="needle in haystack")]
    c = server.imap()
    mail.load(c, "INBOX", [(m, []) for m in msgs])
    mail.load(c, "INBOX.Work", [(mail.message(4, folder="Work"), [])])
    c.select_folder("INBOX", readonly=True)
    uids = sorted(c.search("ALL"))
    c.close_folder()
    c.logout()
    return msgs, uids


def test_curl_imap(server, tmp_path):
    need_tool("curl")
    msgs, uids = load_inbox(server)
    base = f"imaps://{server.tls_name}:{server.imaps_port}"

    # LIST: the root URL lists every mailbox.
    out = curl(server, base + "/").stdout.decode()
    names = set(re.findall(r'^\* LIST \([^)]*\) "\." "?([^"\r\n]+)"?\r?$', out, re.M))
    assert {"INBOX", "INBOX.Work"} <= names, out

    # EXAMINE: counts from the untagged responses.
    out = curl(server, base + "/INBOX", "-X", "EXAMINE INBOX").stdout.decode()
    assert re.search(r"^\* 3 EXISTS", out, re.M), out
    assert re.search(r"^\* OK \[UIDVALIDITY \d+\]", out, re.M), out

    # FETCH whole message, a MIME section, the header, and partials.
    whole = curl(server, f"{base}/INBOX;UID={uids[0]}").stdout
    assert whole == msgs[0]
    part = curl(server, f"{base}/INBOX;UID={uids[1]};SECTION=1.1").stdout
    assert part == b"plain text part 2"
    part = curl(server, f"{base}/INBOX;UID={uids[1]};SECTION=2").stdout
    assert part == b"AAECAwQFBgcICQ=="
    head = curl(server, f"{base}/INBOX;UID={uids[1]};SECTION=HEADER").stdout
    assert head == msgs[1].split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    partial = curl(server, f"{base}/INBOX;UID={uids[2]};PARTIAL=0.25").stdout
    assert partial == msgs[2][:25]
    partial = curl(server, f"{base}/INBOX;UID={uids[2]};SECTION=TEXT;PARTIAL=5.10").stdout
    assert partial == msgs[2].split(b"\r\n\r\n", 1)[1][5:15]
    # curl fetches with BODY[], not BODY.PEEK[]: RFC 3501 §6.4.5 sets \Seen.
    c = server.imap()
    c.select_folder("INBOX", readonly=True)
    flags = c.get_flags(uids)
    c.logout()
    assert b"\\Seen" in flags[uids[0]] and b"\\Seen" in flags[uids[2]]

    # APPEND a file, then check the stored bytes.
    new = mail.message(9, subject="uploaded by curl")
    f = tmp_path / "upload.eml"
    f.write_bytes(new)
    curl(server, f"{base}/INBOX", "-T", str(f))
    c = server.imap()
    snap = mail.snapshot(c, "INBOX")
    c.logout()
    assert snap[b"<msg-9-INBOX@example.org>"][1] == new
    assert len(snap) == 4

    # UID SEARCH.
    out = curl(server, f"{base}/INBOX", "-X", 'UID SEARCH SUBJECT "needle"').stdout.decode()
    assert re.search(rf"^\* SEARCH {uids[2]}\r?$", out, re.M), out
    out = curl(server, f"{base}/INBOX", "-X", "UID SEARCH ALL").stdout.decode()
    found = [int(x) for x in re.search(r"^\* SEARCH([ \d]*)", out, re.M).group(1).split()]
    assert len(found) == 4 and uids == sorted(found)[:3]


@pytest.mark.parametrize("mode", ["STLS", "POP3S"])
def test_curl_pop3(server, mode):
    need_tool("curl")
    msgs, _ = load_inbox(server)
    c = server.imap()
    c.select_folder("INBOX", readonly=True)
    sizes = [d[b"RFC822.SIZE"] for _, d in sorted(c.fetch(c.search("ALL"), ["RFC822.SIZE"]).items())]
    c.logout()
    if mode == "STLS":
        base, extra = f"pop3://{server.tls_name}:{server.pop3_port}", ["--ssl-reqd"]
    else:
        base, extra = f"pop3s://{server.tls_name}:{server.pop3s_port}", []

    r = curl(server, base + "/", *extra)
    if mode == "STLS":
        assert b"> STLS" in r.stderr
    listing = [tuple(map(int, l.split())) for l in r.stdout.decode().splitlines() if l.strip()]
    assert listing == [(i + 1, s) for i, s in enumerate(sizes)]
    assert sizes == [len(m) for m in msgs]

    for i, m in enumerate(msgs, start=1):
        got = curl(server, f"{base}/{i}", *extra).stdout
        # curl removes the dot-stuffing and the terminating ".".
        assert got == m, i

    r = curl(server, base + "/", *extra, "-X", "STAT", "-I")
    m = re.search(rb"< \+OK (\d+) (\d+)", r.stderr)
    assert m, r.stderr
    assert (int(m.group(1)), int(m.group(2))) == (len(msgs), sum(sizes))
