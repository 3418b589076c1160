"""neomutt driven through tmux: open INBOX over IMAPS, tag all messages and
copy them to a local mbox; the mbox must hold every message intact."""

import os
import re
import subprocess
import time
import uuid

from conftest import need_tool
import mail

MSGS = [mail.message(1), mail.multipart(2), mail.message(3, subject="third")]


def tmux(sock: str, *args: str) -> str:
    r = subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return r.stdout


def wait_screen(sock: str, needle: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux(sock, "capture-pane", "-p", "-t", "mutt")
        if needle in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} did not appear; screen:\n{screen}")


def parse_mbox_content_length(data: bytes):
    """Split neomutt's mbox: it writes a Content-Length: header and does not
    quote "From " lines in bodies, so each body is taken by its length."""
    msgs = []
    pos = 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        assert data[pos:nl].startswith(b"From "), data[pos:pos + 80]
        head_end = data.index(b"\n\n", nl) + 2
        head = data[nl + 1:head_end]
        m = re.search(rb"(?im)^content-length: *(\d+)$", head)
        assert m, head
        end = head_end + int(m.group(1))
        msgs.append(data[nl + 1:end])
        pos = end
        while data[pos:pos + 1] == b"\n":
            pos += 1
    return msgs


def test_neomutt_copy_all_to_mbox(server, tmp_path):
    need_tool("neomutt")
    need_tool("tmux")
    c = server.imap()
    mail.load(c, "INBOX", [(m, []) for m in MSGS])
    c.logout()

    home = tmp_path / "home"
    home.mkdir()
    mbox = tmp_path / "copied.mbox"
    rc = home / "muttrc"
    rc.write_text(f"""
set imap_user = "{server.user}"
set imap_pass = "{server.password}"
set folder = "imaps://{server.tls_name}:{server.imaps_port}/"
set spoolfile = "+INBOX"
set certificate_file = "{server.ca_cert}"
set ssl_force_tls = yes
set ssl_verify_host = yes
set mbox_type = mbox
set confirmcreate = no
set confirmappend = no
set header_cache = ""
set message_cachedir = ""
set quit = yes
set wait_key = no
set sort = date
set index_format = "%4C %-20.20F %s"
""")
    sock = f"postroom-interop-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, HOME=str(home), TERM="xterm-256color")
    subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d",
                    "-s", "mutt", "-x", "160", "-y", "40",
                    f"neomutt -n -F {rc} -f imaps://{server.tls_name}:{server.imaps_port}/INBOX"],
                   check=True, env=env, timeout=10)
    try:
        wait_screen(sock, "third")
        tmux(sock, "send-keys", "-t", "mutt", "T")
        wait_screen(sock, "Tag messages matching")
        tmux(sock, "send-keys", "-t", "mutt", "~A", "Enter")
        # ";" alone would end the tmux command: send it literally (-l).
        tmux(sock, "send-keys", "-t", "mutt", "-l", ";C")
        wait_screen(sock, "Copy tagged to mailbox")
        tmux(sock, "send-keys", "-t", "mutt", str(mbox), "Enter")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if len(parse_mbox_content_length(mbox.read_bytes())) >= len(MSGS):
                    break
            except (OSError, ValueError, AssertionError):
                pass  # not written yet, or partly
            time.sleep(0.2)
        tmux(sock, "send-keys", "-t", "mutt", "q")
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)

    got = parse_mbox_content_length(mbox.read_bytes())
    assert len(got) == len(MSGS)
    by_id = {mail.message_id(m): m for m in got}
    for m in MSGS:
        copy = by_id[mail.message_id(m)]
        # neomutt keeps the message and may add its Status:/X-Status:
        # (mbox) and Lines/Content-Length headers; everything else is intact.
        want = mail.to_lf(m)
        w_head, w_body = want.split(b"\n\n", 1)
        g_head, g_body = copy.split(b"\n\n", 1)
        assert g_body == w_body
        extra = set(g_head.split(b"\n")) - set(w_head.split(b"\n"))
        assert all(h.split(b":")[0].lower() in (b"status", b"x-status", b"lines", b"content-length")
                   for h in extra), extra
        assert set(w_head.split(b"\n")) <= set(g_head.split(b"\n"))
