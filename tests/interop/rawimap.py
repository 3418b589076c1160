"""A deliberately small IMAP client for the differential test: it sends
commands verbatim and returns the server's responses unparsed, so two
servers' answers can be compared byte for byte, then parsed with `parse`."""

from __future__ import annotations

import re
import socket
import ssl
from typing import List, Tuple, Union

Value = Union[None, bytes, int, list]

_ATOM = re.compile(rb"[^ ()\"{\[\]]*(?:\[[^\]]*\](?:<[0-9.]+>)?)?")
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


class ImapError(Exception):
    pass


class RawImap:
    def __init__(self, host: str, port: int, ctx: ssl.SSLContext, server_hostname: str):
        sock = socket.create_connection((host, port), timeout=60)
        self.sock = ctx.wrap_socket(sock, server_hostname=server_hostname)
        self.buf = b""
        self.n = 0
        self._line()  # greeting

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ImapError("connection closed")
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _response(self) -> bytes:
        """One response line with its literals inlined."""
        out = b""
        while True:
            line = self._line()
            out += line
            m = _LITERAL.search(line)
            if not m:
                return out[:-2]
            out += self._exact(int(m.group(1)))

    def command(self, cmd: bytes, literals: List[bytes] = ()) -> Tuple[List[bytes], bytes]:
        """Run one command; `cmd` holds `{n}` markers for `literals`, which
        are sent as synchronizing literals. Returns (untagged, tagged)."""
        self.n += 1
        tag = b"D%d" % self.n
        parts = cmd.split(b"\x00")
        assert len(parts) == len(literals) + 1
        untagged = []
        for i, part in enumerate(parts):
            if i < len(literals):
                self.sock.sendall((tag + b" " if i == 0 else b"") + part
                                  + b"{%d}\r\n" % len(literals[i]))
                while True:
                    r = self._response()
                    if r.startswith(b"+"):
                        break
                    if r.startswith(tag + b" "):
                        raise ImapError(r.decode(errors="replace"))
                    untagged.append(r)
                self.sock.sendall(literals[i])
            else:
                self.sock.sendall((tag + b" " if i == 0 else b"") + part + b"\r\n")
        while True:
            r = self._response()
            if r.startswith(tag + b" "):
                if not r[len(tag) + 1:].upper().startswith(b"OK"):
                    raise ImapError(f"{cmd[:80]!r}: {r.decode(errors='replace')}")
                return untagged, r
            untagged.append(r)

    def close(self) -> None:
        try:
            self.command(b"LOGOUT")
        except Exception:
            pass
        self.sock.close()


def connect(server, user=None, password=None) -> RawImap:
    c = RawImap(server.host, server.imaps_port, server.ssl_context(), server.tls_name)
    u = (user or server.user).encode()
    p = (password or server.password).encode()
    c.command(b"LOGIN \x00 \x00", [u, p])
    return c


# --- parsing -------------------------------------------------------------

def parse(data: bytes, pos: int = 0) -> Tuple[list, int]:
    """Parse a sequence of IMAP values up to the end or a closing paren.
    Atoms are bytes, numbers int, NIL None, strings bytes (quoted and
    literal alike, as the RFC makes them equivalent), lists lists."""
    out: list = []
    n = len(data)
    while pos < n:
        ch = data[pos:pos + 1]
        if ch == b" ":
            pos += 1
        elif ch == b"(":
            inner, pos = parse(data, pos + 1)
            out.append(inner)
        elif ch == b")":
            return out, pos + 1
        elif ch == b'"':
            pos += 1
            s = bytearray()
            while data[pos:pos + 1] != b'"':
                if data[pos:pos + 1] == b"\\":
                    pos += 1
                s += data[pos:pos + 1]
                pos += 1
            out.append(bytes(s))
            pos += 1
        elif ch == b"{":
            end = data.index(b"}", pos)
            length = int(data[pos + 1:end].rstrip(b"+"))
            start = end + 3  # "}\r\n"
            out.append(data[start:start + length])
            pos = start + length
        else:
            # An atom; a section such as BODY[HEADER.FIELDS (A B)]<0.10>
            # is one token although it holds spaces and parentheses.
            m = _ATOM.match(data, pos)
            tok = m.group(0) or data[pos:pos + 1]
            pos += len(tok)
            if tok.upper() == b"NIL":
                out.append(None)
            elif tok.isdigit():
                out.append(int(tok))
            else:
                out.append(tok)
    return out, pos


def fetch_items(untagged: List[bytes]) -> dict:
    """`* n FETCH (...)` responses -> {n: {ITEM: value}}."""
    out = {}
    for r in untagged:
        m = re.match(rb"\* (\d+) FETCH \(", r)
        if not m:
            continue
        vals, _ = parse(r, m.end() - 1)
        lst = vals[0]
        items = {lst[i].upper(): lst[i + 1] for i in range(0, len(lst) - 1, 2)}
        out.setdefault(int(m.group(1)), {}).update(items)
    return out


def numbers(untagged: List[bytes], keyword: bytes) -> List[int]:
    """The numbers of a `* SEARCH` or `* SORT` response, in order."""
    for r in untagged:
        if r.upper().startswith(b"* " + keyword + b" ") or r.upper() == b"* " + keyword:
            return [int(x) for x in r.split()[2:]]
    raise ImapError(f"no {keyword!r} response")


def thread(untagged: List[bytes]) -> list:
    for r in untagged:
        if r.upper().startswith(b"* THREAD"):
            vals, _ = parse(r[len(b"* THREAD"):])
            return vals
    raise ImapError("no THREAD response")


def show(v: Value, indent: int = 0) -> str:
    """Pretty-print a parsed value, one list element per line when nested,
    so unified diffs point at the differing part."""
    pad = "  " * indent
    if isinstance(v, list):
        if not any(isinstance(x, list) for x in v):
            return pad + "(" + " ".join(show(x).strip() for x in v) + ")"
        return pad + "(\n" + "\n".join(show(x, indent + 1) for x in v) + "\n" + pad + ")"
    if v is None:
        return pad + "NIL"
    if isinstance(v, int):
        return pad + str(v)
    return pad + repr(v)[1:]
