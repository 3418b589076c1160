"""Test messages and server-state snapshots shared by the interop cases."""

from __future__ import annotations

import datetime
from typing import Dict, List, Tuple


def message(n: int, subject: str = "", folder: str = "INBOX", extra: str = "") -> bytes:
    """A small, distinct RFC 5322 message with CRLF line endings."""
    subject = subject or f"test message {n} in {folder}"
    date = datetime.datetime(2024, 1, 1 + (n % 28), 10, n % 60, 0,
                             tzinfo=datetime.timezone.utc)
    lines = [
        f"From: Sender {n} <sender{n}@example.org>",
        "To: Test User <test@example.org>",
        f"Subject: {subject}",
        f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
        f"Message-ID: <msg-{n}-{folder.replace('.', '-')}@example.org>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if extra:
        lines.append(extra)
    body = [
        "",
        f"Body of message {n} in {folder}.",
        "From here on the body has a line starting with From, for mbox quoting.",
        "",
        "From the start of a line.",
        "." + "x" * 70,
        "",
    ]
    return ("\r\n".join(lines + body)).encode()


def multipart(n: int) -> bytes:
    """A nested multipart message: mixed(alternative(plain, html), attachment)."""
    return (
        f"From: Alice <alice@example.org>\r\n"
        f"To: Bob <bob@example.org>, carol@example.org\r\n"
        f"Cc: Dave <dave@example.org>\r\n"
        f"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= number {n}\r\n"
        f"Date: Tue, 02 Jan 2024 12:00:0{n % 10} +0100\r\n"
        f"Message-ID: <mp-{n}@example.org>\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
        f"\r\n"
        f"preamble\r\n"
        f"--outer\r\n"
        f"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
        f"\r\n"
        f"--inner\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n"
        f"plain text part {n}\r\n"
        f"--inner\r\n"
        f"Content-Type: text/html; charset=utf-8\r\n"
        f"\r\n"
        f"<p>html part {n}</p>\r\n"
        f"--inner--\r\n"
        f"--outer\r\n"
        f"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
        f"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n"
        f"\r\n"
        f"AAECAwQFBgcICQ==\r\n"
        f"--outer--\r\n"
    ).encode()


def to_lf(b: bytes) -> bytes:
    return b.replace(b"\r\n", b"\n")


def snapshot(client, folder: str) -> Dict[bytes, Tuple[frozenset, bytes]]:
    """Message-ID -> (flags without \\Recent, full message bytes)."""
    client.select_folder(folder, readonly=True)
    uids = client.search("ALL")
    out = {}
    if uids:
        data = client.fetch(uids, ["FLAGS", "BODY.PEEK[]"])
        for uid, d in data.items():
            body = d[b"BODY[]"]
            mid = message_id(body)
            flags = frozenset(f for f in d[b"FLAGS"] if f != b"\\Recent")
            out[mid] = (flags, body)
    client.close_folder()
    return out


def message_id(raw: bytes) -> bytes:
    for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
        if not line:
            break
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip()
    raise AssertionError(f"message without Message-ID: {raw[:200]!r}")


def load(client, folder: str, msgs: List[Tuple[bytes, list]]) -> None:
    """Create `folder` if needed and APPEND the (bytes, flags) pairs."""
    if folder.upper() != "INBOX" and not client.folder_exists(folder):
        client.create_folder(folder)
        client.subscribe_folder(folder)
    for raw, flags in msgs:
        client.append(folder, raw, flags=flags,
                      msg_time=datetime.datetime(2024, 2, 1, 8, 0, 0,
                                                 tzinfo=datetime.timezone.utc))


def parse_mbox(data: bytes) -> List[bytes]:
    """Split an mbox into messages (LF line endings), undoing mboxrd quoting
    (">From " -> "From ", one level)."""
    msgs: List[bytes] = []
    cur: List[bytes] = []
    started = False
    for line in data.split(b"\n"):
        if line.startswith(b"From "):
            if started:
                msgs.append(_finish(cur))
            cur = []
            started = True
            continue
        cur.append(line)
    if started:
        msgs.append(_finish(cur))
    return msgs


def _finish(lines: List[bytes]) -> bytes:
    # The mbox separator adds one empty line after each message.
    while lines and lines[-1] == b"":
        lines.pop()
    out = []
    for line in lines:
        stripped = line.lstrip(b">")
        if stripped.startswith(b"From ") and line.startswith(b">"):
            line = line[1:]
        out.append(line)
    return b"\n".join(out) + b"\n"
