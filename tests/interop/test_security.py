"""Security checks of the example server (issue 10, item 5).

One postroom example server for the module, with its data directory four
levels below a private temporary root so that every name that tries to
climb out of the data directory would land inside that root, where the
tests look for it. Users `alice` and `bob` are added with `useradd` while
the server runs; bob keeps `INBOX.Private` with messages.

- Failed logins (IMAP LOGIN, IMAP AUTHENTICATE PLAIN with SASL-IR, POP3
  USER/PASS, POP3 AUTH PLAIN, APOP) give the same bytes for an unknown user
  as for a wrong password, and each answer comes no sooner than the
  documented failure delay (2 s: `ConnectionLimits::default().login_delay`
  for IMAP, `pop3::Config::new(..).login_delay` for POP3). An IMAP session
  goes on after a failure; POP3 closes after the documented 3 failures
  (`pop3::Config::max_login_failures`).
- User names (LOGIN, POP3 USER, `useradd`, `deliver --user`) and mailbox
  names (CREATE, SELECT, RENAME, APPEND, COPY, STATUS, DELETE, SUBSCRIBE,
  SETACL) that try to leave the data directory or the user's Maildir are
  refused, and the file tree shows nothing created anywhere else.
- Without ACL rights alice cannot list, open, query or write bob's folders,
  and every answer equals the answer for a folder that does not exist
  (RFC 4314 §4 and §6); after `SETACL ... alice lr` she can list and read
  but not flag, expunge or append; after DELETEACL the folder is hidden
  again. POP3 as alice never shows bob's mail.
- TLS 1.0 and 1.1 handshakes fail and TLS 1.2 and 1.3 succeed on IMAPS,
  POP3S, IMAP STARTTLS and POP3 STLS.

The failed logins run in parallel, each from its own loopback address
(127.0.0.N): IMAP failure delays are counted per client address and double
with each failure from one address, which would make a sequential run slow.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import warnings
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

import servers

# The documented failed-login delays (a lower bound is asserted, never an
# upper one): IMAP `ConnectionLimits::default().login_delay` (per client
# address, doubling to 15 s, reset by a successful login); POP3
# `pop3::Config::new(..).login_delay` (per connection).
IMAP_FAILURE_DELAY = 2.0
POP3_FAILURE_DELAY = 2.0
# `pop3::Config::new(..).max_login_failures`: the connection closes after
# this many failed logins.
POP3_MAX_FAILURES = 3

ALICE, ALICE_PW = "alice", "alice-secret"
BOB, BOB_PW = "bob", "bob-secret"
SECRET = "bob-private-marker-7f3a"

# Loopback source addresses handed out to connections that fail logins.
_next_source = [10]


def _source() -> str:
    _next_source[0] += 1
    n = _next_source[0]
    return f"127.0.{n // 250}.{n % 250 + 2}"


# --- a raw line client -------------------------------------------------------

class Raw:
    """A byte-level IMAP or POP3 client: sends what it is given, returns
    what the server answered, unparsed (so answers can be compared byte for
    byte)."""

    def __init__(self, port: int, tls: Optional[ssl.SSLContext] = None,
                 source: Optional[str] = None, greeting: bool = True):
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=40,
            source_address=(source, 0) if source else None)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.n = 0
        self.greeting = self.line() if greeting else b""

    def starttls(self, ctx: ssl.SSLContext) -> None:
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def closed(self) -> bool:
        """Whether the server closed the connection (EOF within 5 s)."""
        self.sock.settimeout(5)
        try:
            return self.sock.recv(1) == b"" and not self.buf
        except (socket.timeout, ssl.SSLError, OSError):
            return False

    # IMAP

    def response(self) -> bytes:
        out = b""
        while True:
            line = self.line()
            out += line
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return out
            out += b"\r\n" + self.exact(int(m.group(1)))

    def imap(self, cmd: bytes) -> Tuple[List[bytes], bytes]:
        """Sends `TAG cmd` (which may hold LITERAL+ literals) and returns
        (untagged responses, tagged status without the tag)."""
        self.n += 1
        tag = b"S%d" % self.n
        self.sock.sendall(tag + b" " + cmd + b"\r\n")
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag + b" "):
                return untagged, r[len(tag) + 1:]
            untagged.append(r)

    def timed_imap(self, cmd: bytes) -> Tuple[bytes, float]:
        t = time.monotonic()
        _, status = self.imap(cmd)
        return status, time.monotonic() - t

    # POP3

    def pop(self, cmd: bytes) -> bytes:
        self.sock.sendall(cmd + b"\r\n")
        return self.line()

    def timed_pop(self, cmd: bytes) -> Tuple[bytes, float]:
        t = time.monotonic()
        r = self.pop(cmd)
        return r, time.monotonic() - t

    def pop_multi(self, cmd: bytes) -> Tuple[bytes, bytes]:
        first = self.pop(cmd)
        if not first.startswith(b"+OK"):
            return first, b""
        lines = []
        while True:
            ln = self.line()
            if ln == b".":
                return first, b"\r\n".join(lines)
            lines.append(ln[1:] if ln.startswith(b".") else ln)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def quote(s: str) -> bytes:
    return b'"' + s.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def literal(b: bytes) -> bytes:
    """A LITERAL+ (non-synchronizing) literal."""
    return b"{%d+}\r\n" % len(b) + b


def plain_ir(user: str, password: str) -> bytes:
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())


# --- the server ---------------------------------------------------------------

class World:
    def __init__(self, root: Path, srv: servers.Server):
        self.root = root
        self.srv = srv
        self.workdir = Path(srv.workdir)
        self.data = self.workdir / "data"
        self.users_file = self.workdir / "users"
        self.exe = srv.process.args[0]
        self.common = ["--data", str(self.data), "--users", str(self.users_file)]

    def maildir(self, user: str) -> Path:
        return self.data / "mail" / user

    def ctx(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.srv.ca_cert)

    def login(self, user: str, password: str) -> Raw:
        c = Raw(self.srv.imaps_port, self.ctx())
        _, st = c.imap(b"LOGIN " + quote(user) + b" " + quote(password))
        assert st.startswith(b"OK"), st
        return c

    def run(self, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
        return subprocess.run([self.exe, *self.common, *args], input=stdin,
                              capture_output=True, timeout=60, cwd=self.workdir)


def snapshot(root: Path) -> dict:
    """Every path under `root` (relative) -> 'd' (directory) or 'f'."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "d"
        for f in filenames:
            p = os.path.join(dirpath, f)
            rel = os.path.relpath(p, root)
            if not rel.endswith("server.log"):
                out[rel] = "f"
    return out


def new_paths(before: dict, after: dict) -> List[str]:
    return sorted(p for p in after if p not in before)


def _wait_reload(log: Path, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count("reloaded") >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"the server did not reload its user file:\n{log.read_text()[-2000:]}")


def _message(subject: str, body: str) -> bytes:
    return (f"From: someone@example.org\r\nTo: bob@example.org\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\n{body}\r\n").encode()


@pytest.fixture(scope="module")
def world():
    root = Path(servers.new_workdir("security"))
    workdir = root / "l1" / "l2" / "l3" / "srv"
    try:
        srv = servers.start_postroom(str(workdir))
    except servers.Unavailable as e:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"postroom example server unavailable: {e}")
    w = World(root, srv)
    try:
        log = w.workdir / "server.log"
        reloads = log.read_text(errors="replace").count("reloaded")
        for user, pw in ((ALICE, ALICE_PW), (BOB, BOB_PW)):
            r = w.run("useradd", user, "--password", pw)
            assert r.returncode == 0, r.stderr
        # The server re-reads the user file within 0.5 s of a change; both
        # additions are in once it reloaded and one more period passed.
        _wait_reload(log, reloads + 1)
        time.sleep(1.2)
        bob = w.login(BOB, BOB_PW)
        _, st = bob.imap(b"CREATE INBOX.Private")
        assert st.startswith(b"OK"), st
        for i in range(2):
            msg = _message(f"private-{i}", f"{SECRET} number {i}")
            _, st = bob.imap(b"APPEND INBOX.Private " + literal(msg))
            assert st.startswith(b"OK"), st
        bob.imap(b"LOGOUT")
        bob.close()
        r = w.run("deliver", "--user", BOB, stdin=_message("bob-inbox", f"{SECRET} in INBOX"))
        assert r.returncode == 0, r.stderr
        alice = w.login(ALICE, ALICE_PW)
        _, st = alice.imap(b"APPEND INBOX " + literal(_message("alice-1", "alice's own mail")))
        assert st.startswith(b"OK"), st
        alice.imap(b"LOGOUT")
        alice.close()
        yield w
    finally:
        srv.stop_fn()
        if os.environ.get("INTEROP_KEEP") is None:
            shutil.rmtree(root, ignore_errors=True)


def _parallel(jobs):
    """Runs callables at once; returns their results in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as ex:
        futures = [ex.submit(j) for j in jobs]
        return [f.result() for f in futures]


# --- 1. failed logins --------------------------------------------------------

def _imap_login_failure(w: World, cmd: bytes, tls: bool):
    """One failed IMAP login from a fresh source address, then a correct
    LOGIN on the same connection. Returns (answer, elapsed, after)."""
    if tls:
        c = Raw(w.srv.imaps_port, w.ctx(), source=_source())
    else:
        c = Raw(w.srv.imap_port, source=_source())
    try:
        status, elapsed = c.timed_imap(cmd)
        _, after = c.imap(b"LOGIN " + quote(ALICE) + b" " + quote(ALICE_PW))
        c.imap(b"LOGOUT")
        return status, elapsed, after
    finally:
        c.close()


def _pop3_failure(w: World, steps: List[bytes], then: Tuple[str, str], apop: bool = False):
    """Failed POP3 login (the last of `steps` is timed), then USER/PASS as
    `then` on the same connection (a maildrop is locked by one session, so
    each parallel job logs in as its own user). Returns (answers, elapsed,
    after, greeting)."""
    c = Raw(w.srv.pop3_port, source=_source())
    try:
        answers = []
        for s in steps[:-1]:
            answers.append(c.pop(s))
        last = steps[-1]
        if apop:
            ts = re.search(rb"<[^>]+>", c.greeting)
            assert ts, f"APOP advertised but no timestamp in {c.greeting!r}"
            name, secret = last.split(b" ", 1)
            last = b"APOP " + name + b" " + hashlib.md5(ts.group(0) + secret).hexdigest().encode()
        r, elapsed = c.timed_pop(last)
        answers.append(r)
        after = c.pop(b"USER " + then[0].encode()) + b" / " + c.pop(b"PASS " + then[1].encode())
        c.pop(b"QUIT")
        return answers, elapsed, after, c.greeting
    finally:
        c.close()


def test_failed_logins_look_alike_and_are_delayed(world):
    w = world
    login_bad = b"LOGIN " + quote(ALICE) + b" " + quote("wrong")
    login_unknown = b"LOGIN " + quote("nosuchuser") + b" " + quote("wrong")
    auth_bad = b"AUTHENTICATE PLAIN " + plain_ir(ALICE, "wrong")
    auth_unknown = b"AUTHENTICATE PLAIN " + plain_ir("nosuchuser", "wrong")
    pop_user_bad = [b"USER alice", b"PASS wrong"]
    pop_user_unknown = [b"USER nosuchuser", b"PASS wrong"]
    pop_plain_bad = [b"AUTH PLAIN " + plain_ir(ALICE, "wrong")]
    pop_plain_unknown = [b"AUTH PLAIN " + plain_ir("nosuchuser", "wrong")]
    probe = Raw(w.srv.imap_port)
    caps, _ = probe.imap(b"CAPABILITY")
    probe.close()
    assert b"SASL-IR" in caps[0] and b"AUTH=PLAIN" in caps[0], caps
    jobs = [
        lambda: _imap_login_failure(w, login_bad, tls=True),
        lambda: _imap_login_failure(w, login_unknown, tls=True),
        lambda: _imap_login_failure(w, login_bad, tls=False),
        lambda: _imap_login_failure(w, login_unknown, tls=False),
        lambda: _imap_login_failure(w, auth_bad, tls=True),
        lambda: _imap_login_failure(w, auth_unknown, tls=True),
        lambda: _pop3_failure(w, pop_user_bad, (ALICE, ALICE_PW)),
        lambda: _pop3_failure(w, pop_user_unknown, (BOB, BOB_PW)),
        lambda: _pop3_failure(w, pop_plain_bad, (servers.USER, servers.PASSWORD)),
        lambda: _pop3_failure(w, pop_plain_unknown, (servers.OTHER_USER, servers.OTHER_PASSWORD)),
    ]
    (lb, lu, pb, pu, ab, au, ub, uu, xb, xu) = _parallel(jobs)
    # APOP (a second round: the users' maildrops are free again). alice's
    # password is hashed, so no digest can match; `test` has a plaintext
    # password, so a wrong digest is a wrong password; the unknown user
    # must get the same answer as both.
    apb, apt, apu = _parallel([
        lambda: _pop3_failure(w, [b"alice wrong"], (ALICE, ALICE_PW), apop=True),
        lambda: _pop3_failure(w, [servers.USER.encode() + b" wrong"], (servers.USER, servers.PASSWORD), apop=True),
        lambda: _pop3_failure(w, [b"nosuchuser wrong"], (BOB, BOB_PW), apop=True),
    ])
    assert apt[0] == apu[0], f"APOP: wrong password {apt[0]!r} vs unknown user {apu[0]!r}"
    assert apt[1] >= POP3_FAILURE_DELAY, f"APOP: answered after {apt[1]:.2f} s"

    for name, bad, unknown in (("LOGIN over IMAPS", lb, lu), ("LOGIN over IMAP", pb, pu),
                               ("AUTHENTICATE PLAIN (SASL-IR)", ab, au)):
        assert bad[0].startswith(b"NO"), (name, bad[0])
        assert bad[0] == unknown[0], f"{name}: wrong password {bad[0]!r} vs unknown user {unknown[0]!r}"
        for r in (bad, unknown):
            assert r[1] >= IMAP_FAILURE_DELAY, f"{name}: answered after {r[1]:.2f} s"
            # The session continues after a failed login (no IMAP
            # max-failures disconnect is documented).
            assert r[2].startswith(b"OK"), f"{name}: LOGIN after the failure: {r[2]!r}"
    for name, bad, unknown in (("USER/PASS", ub, uu), ("AUTH PLAIN", xb, xu), ("APOP", apb, apu)):
        assert bad[0][-1].startswith(b"-ERR"), (name, bad[0])
        # Every step, USER included, answers alike.
        assert bad[0] == unknown[0], f"POP3 {name}: wrong password {bad[0]!r} vs unknown user {unknown[0]!r}"
        for r in (bad, unknown):
            assert r[1] >= POP3_FAILURE_DELAY, f"POP3 {name}: answered after {r[1]:.2f} s"
            assert r[2].startswith(b"+OK") and b" / +OK" in r[2], f"POP3 {name}: login after the failure: {r[2]!r}"


def test_pop3_closes_after_the_documented_number_of_failures(world):
    w = world

    def run(user: str):
        c = Raw(w.srv.pop3_port, source=_source())
        answers = []
        for _ in range(POP3_MAX_FAILURES):
            c.pop(b"USER " + user.encode())
            answers.append(c.pop(b"PASS wrong"))
        closed = c.closed()
        c.close()
        return answers, closed

    (bad, bad_closed), (unknown, unknown_closed) = _parallel([lambda: run(ALICE), lambda: run("nosuchuser")])
    assert bad == unknown and all(a.startswith(b"-ERR") for a in bad), (bad, unknown)
    assert bad_closed and unknown_closed, "POP3 stays open after the maximum number of failed logins"


# --- 2. names that try to leave the data directory -----------------------------

HOSTILE_USERS = ["../x", "a/b", "..", ".", "x/../../etc", "/etc/passwd", "../../../../../x",
                 "x\ry", "x\ny", "x\x01y", "x\x7fy", "alice/../bob", "..\\x"]


def _assert_only_inside(before: dict, after: dict, allowed: List[str], what: str) -> None:
    created = new_paths(before, after)
    outside = [p for p in created if not any(p == a or p.startswith(a + os.sep) for a in allowed)]
    assert not outside, f"{what} created outside {allowed}: {outside[:10]}"
    removed = [p for p in before if p not in after]
    assert not [p for p in removed if not any(p.startswith(a + os.sep) for a in allowed)], \
        f"{what} removed {removed[:10]}"


def test_hostile_user_names_are_refused(world):
    w = world
    rel_mail = os.path.relpath(w.data / "mail", w.root)
    # The only paths that may appear: existing users' Maildirs.
    allowed = [os.path.join(rel_mail, u) for u in (ALICE, BOB, servers.USER, servers.OTHER_USER)]
    users_before = w.users_file.read_bytes()
    before = snapshot(w.root)

    # useradd and deliver refuse them (NUL cannot be in an argument).
    for name in HOSTILE_USERS:
        r = w.run("useradd", name, "--password", "pw")
        assert r.returncode != 0, f"useradd {name!r} succeeded: {r.stdout!r}"
        assert b"added user" not in r.stdout
        r = w.run("deliver", "--user", name, stdin=_message("escape", "x"))
        assert r.returncode != 0, f"deliver --user {name!r} succeeded: {r.stdout!r}"
        assert b"delivered" not in r.stdout
    assert w.users_file.read_bytes() == users_before

    # IMAP LOGIN (as literals, so CR, LF and NUL can be sent) and POP3 USER.
    def imap_login(name: bytes):
        c = Raw(w.srv.imap_port, source=_source())
        try:
            return c.imap(b"LOGIN " + literal(name) + b" " + literal(b"pw"))[1]
        finally:
            c.close()

    def pop_login(name: bytes):
        c = Raw(w.srv.pop3_port, source=_source())
        try:
            return c.pop(b"USER " + name), c.pop(b"PASS pw")
        finally:
            c.close()

    names = [n.encode() for n in HOSTILE_USERS] + [b"x\0y", b"\0"]
    pop_names = [n for n in names if b"\r" not in n and b"\n" not in n]
    jobs = [lambda n=n: imap_login(n) for n in names + [b"nosuchuser"]]
    jobs += [lambda n=n: pop_login(n) for n in pop_names + [b"nosuchuser"]]
    results = _parallel(jobs)
    imap_answers = results[:len(names) + 1]
    pop_answers = results[len(names) + 1:]
    unknown_imap = imap_answers[-1]
    assert unknown_imap.startswith(b"NO"), unknown_imap
    for n, a in zip(names, imap_answers):
        assert a.startswith(b"NO") or a.startswith(b"BAD"), f"LOGIN {n!r}: {a!r}"
        if a.startswith(b"NO"):
            assert a == unknown_imap, f"LOGIN {n!r}: {a!r}, an unknown user gets {unknown_imap!r}"
    unknown_pop = pop_answers[-1]
    for n, a in zip(pop_names, pop_answers):
        assert a[1].startswith(b"-ERR"), f"POP3 USER {n!r}: {a!r}"
        if a[0].startswith(b"+OK"):
            assert a == unknown_pop, f"POP3 USER {n!r}: {a!r}, an unknown user gets {unknown_pop!r}"

    after = snapshot(w.root)
    _assert_only_inside(before, after, allowed, "hostile user names")
    assert not (w.data / "mail" / "a").exists() and not (w.data / "x").exists()


HOSTILE_MAILBOXES = [
    b'"INBOX/../x"', b'"INBOX...x"', b'"INBOX./x"', b'"../../x"', b'"INBOX.a/b"', b'"INBOX.."',
    b'"~root"', b'"/etc/passwd"', b'"INBOX.x/../../../../y"', b'"INBOX./"', b'".."', b'"INBOX..."',
    literal(b"INBOX.a\rb"), literal(b"INBOX.a\nb"), literal(b"INBOX.a\x01b"), literal(b"INBOX.a\x7fb"),
    literal(b"INBOX.a\0b"),
    b'"INBOX.&AC8-"', b'"INBOX.&AC4-"', b'"INBOX.&AC4ALg-"', b'"INBOX.a&AC8-b"', b'"&AC4ALgAv-x"',
    b'"INBOX.&AC8ALgAuAC8-x"',
]


def test_hostile_mailbox_names_are_refused(world):
    w = world
    md = w.maildir(ALICE)
    allowed = [os.path.relpath(md, w.root)]
    c = w.login(ALICE, ALICE_PW)
    try:
        _, st = c.imap(b"CREATE INBOX.ok")
        assert st.startswith(b"OK"), st
        _, st = c.imap(b"SELECT INBOX")
        assert st.startswith(b"OK"), st
        folders_before = sorted(p.name for p in md.iterdir() if p.is_dir() and p.name.startswith("."))
        listed_before = sorted(c.imap(b'LIST "" "*"')[0])
        before = snapshot(w.root)
        msg = _message("escape", "x")
        failures = []
        for name in HOSTILE_MAILBOXES:
            cmds = [b"CREATE " + name, b"EXAMINE " + name, b"RENAME INBOX.ok " + name,
                    b"RENAME " + name + b" INBOX.renamed", b"APPEND " + name + b" " + literal(msg),
                    b"COPY 1 " + name, b"MOVE 1 " + name, b"STATUS " + name + b" (MESSAGES)",
                    b"DELETE " + name, b"SUBSCRIBE " + name, b"SETACL " + name + b" bob lr",
                    b"SELECT " + name]
            for cmd in cmds:
                _, st = c.imap(cmd)
                if not (st.startswith(b"NO") or st.startswith(b"BAD")):
                    failures.append((cmd, st))
                # The server closes a connection after a run of BADs (the
                # codec's `max_consecutive_bad`); a good command ends the run.
                c.imap(b"NOOP")
                if cmd.startswith(b"SELECT") or cmd.startswith(b"EXAMINE"):
                    c.imap(b"SELECT INBOX")
        assert not failures, f"accepted: {failures[:10]}"
        listed_after = sorted(c.imap(b'LIST "" "*"')[0])
        assert listed_after == listed_before
        untagged, _ = c.imap(b'LSUB "" "*"')
        assert not [u for u in untagged if b"/" in u or b".." in u or b"~" in u], untagged
        _, st = c.imap(b"SELECT INBOX")
        untagged, st = c.imap(b"FETCH 1:* (UID)")
        assert len(untagged) == 1, f"INBOX changed: {untagged}"
        after = snapshot(w.root)
        _assert_only_inside(before, after, allowed, "hostile mailbox names")
        folders_after = sorted(p.name for p in md.iterdir() if p.is_dir() and p.name.startswith("."))
        assert folders_after == folders_before, f"folders: {folders_before} -> {folders_after}"
    finally:
        c.imap(b"DELETE INBOX.ok")
        c.imap(b"LOGOUT")
        c.close()


# --- 3. isolation of users --------------------------------------------------------

def _normalise(untagged: List[bytes], status: bytes, name: bytes) -> Tuple[List[bytes], bytes]:
    bare = name.strip(b'"')
    return ([u.replace(bare, b"<NAME>") for u in untagged], status.replace(bare, b"<NAME>"))


# `<M>` is the mailbox name, `<M*>` the name as a LIST pattern with `*`.
PROBES = [
    b'LIST "" <M>', b'LIST "" <M*>', b'LSUB "" <M>', b'LSUB "" <M*>',
    b"STATUS <M> (MESSAGES UIDNEXT UNSEEN)", b"SELECT <M>", b"EXAMINE <M>", b"GETACL <M>",
    b"MYRIGHTS <M>", b"LISTRIGHTS <M> alice", b"GETQUOTAROOT <M>",
    b"APPEND <M> " + literal(_message("intrusion", "from alice")),
    b"COPY 1 <M>", b"UID COPY 1 <M>", b"MOVE 1 <M>", b"SUBSCRIBE <M>", b"UNSUBSCRIBE <M>",
    b"CREATE <M>", b"DELETE <M>", b"RENAME <M> INBOX.stolen", b"RENAME INBOX.mine <M>",
    b"SETACL <M> alice lrswipkxtea", b"DELETEACL <M> bob",
    b"ACL STORE <M> user=alice +lr", b"ACL SET <M> user=alice lr", b"ACL DELETE <M> user=alice",
    b'LIST (ACL) "" <M*>',
]
# Quota roots name users (`#shared.bob`): asked for by root name.
QUOTA_PROBES = [b"GETQUOTA <M>", b"SETQUOTA <M> (STORAGE 1)"]


def _probe(c: Raw, template: bytes, name: bytes):
    c.imap(b"SELECT INBOX")
    cmd = template.replace(b"<M*>", name[:-1] + b'*"').replace(b"<M>", name)
    untagged, st = c.imap(cmd)
    return _normalise(untagged, st, name)


def _bob_state(w: World) -> dict:
    """bob's Maildir: every message file (folder, name) and every folder."""
    md = w.maildir(BOB)
    out = {}
    for sub in [md] + [p for p in md.iterdir() if p.is_dir() and p.name.startswith(".")]:
        for part in ("cur", "new"):
            d = sub / part
            if d.is_dir():
                for f in d.iterdir():
                    out[(sub.name, f.name.split(":")[0])] = f.name
    return out


def test_other_users_mail_is_invisible_without_rights(world):
    w = world
    bob_before = _bob_state(w)
    alice = w.login(ALICE, ALICE_PW)
    try:
        untagged, _ = alice.imap(b'LIST "" "*"')
        assert not [u for u in untagged if b"bob" in u.lower() or b"#shared" in u.lower()], untagged
        untagged, _ = alice.imap(b'LIST "" "#shared.*"')
        assert untagged == [], untagged
        untagged, _ = alice.imap(b'LIST "" "%"')
        assert not [u for u in untagged if b"#shared" in u], untagged
        untagged, _ = alice.imap(b'LSUB "" "*"')
        assert not [u for u in untagged if b"bob" in u.lower()], untagged
        _, st = alice.imap(b"CREATE INBOX.mine")
        assert st.startswith(b"OK"), st
        mismatches = []
        for existing, absent in (
            (b'"#shared.bob.Private"', [b'"#shared.bob.Nonexistent"', b'"#shared.nosuchuser.X"']),
            (b'"#shared.bob"', [b'"#shared.nosuchuser"']),
            (b'"#shared.bob.INBOX"', [b'"#shared.nosuchuser.INBOX"']),
        ):
            for template in PROBES:
                seen = _probe(alice, template, existing)
                for other in absent:
                    expect = _probe(alice, template, other)
                    if seen != expect:
                        mismatches.append((template, existing, seen, other, expect))
                if SECRET.encode() in b"".join(seen[0]):
                    mismatches.append((template, existing, "shows bob's mail", seen))
        for template in QUOTA_PROBES:
            seen = _probe(alice, template, b'"#shared.bob"')
            expect = _probe(alice, template, b'"#shared.nosuchuser"')
            if seen != expect:
                mismatches.append((template, seen, expect))
        assert not mismatches, "\n".join(repr(m) for m in mismatches[:12])
        untagged, _ = alice.imap(b'LSUB "" "*"')
        assert not [u for u in untagged if b"bob" in u.lower()], untagged
        untagged, _ = alice.imap(b'LIST "" "*"')
        assert not [u for u in untagged if b"bob" in u.lower() or b"#shared" in u.lower()], untagged
    finally:
        alice.imap(b"DELETE INBOX.mine")
        alice.imap(b"LOGOUT")
        alice.close()
    assert _bob_state(w) == bob_before, "alice's probes changed bob's mail"
    assert not list((w.maildir(BOB)).glob(".stolen*")) and not list(w.maildir(ALICE).glob(".stolen*"))


def test_sasl_authorization_identity_is_never_another_user(world):
    """AUTHENTICATE/AUTH PLAIN as alice asking to act as bob (RFC 4616
    authzid): refused, and the answer is the same with alice's right
    password and with a wrong one (no password oracle)."""
    w = world

    def imap(password: str):
        c = Raw(w.srv.imap_port, source=_source())
        try:
            ir = base64.b64encode(b"bob\0alice\0" + password.encode())
            _, st = c.imap(b"AUTHENTICATE PLAIN " + ir)
            _, ns = c.imap(b"MYRIGHTS INBOX")
            return st, ns
        finally:
            c.close()

    def pop(password: str):
        c = Raw(w.srv.pop3_port, source=_source())
        try:
            ir = base64.b64encode(b"bob\0alice\0" + password.encode())
            answer = c.pop(b"AUTH PLAIN " + ir)
            stat = c.pop(b"STAT")
            return answer, stat
        finally:
            c.close()

    good, bad, pgood, pbad = _parallel([lambda: imap(ALICE_PW), lambda: imap("wrong"),
                                         lambda: pop(ALICE_PW), lambda: pop("wrong")])
    assert good[0].startswith(b"NO") and good == bad, (good, bad)
    assert good[1].startswith(b"BAD"), f"a command after the refusal ran logged in: {good[1]!r}"
    assert pgood[0].startswith(b"-ERR") and pgood == pbad, (pgood, pbad)
    assert pgood[1].startswith(b"-ERR"), f"STAT after the refusal: {pgood[1]!r}"


def _pop3_messages(w: World, user: str, pw: str) -> List[bytes]:
    c = Raw(w.srv.pop3_port)
    try:
        assert c.pop(b"USER " + user.encode()).startswith(b"+OK")
        assert c.pop(b"PASS " + pw.encode()).startswith(b"+OK")
        first, listing = c.pop_multi(b"LIST")
        assert first.startswith(b"+OK"), first
        out = []
        for ln in listing.split(b"\r\n"):
            if ln.strip():
                n = ln.split()[0]
                first, body = c.pop_multi(b"RETR " + n)
                assert first.startswith(b"+OK")
                out.append(body)
        c.pop(b"QUIT")
        return out
    finally:
        c.close()


def test_acl_grant_and_revoke(world):
    w = world
    bob = w.login(BOB, BOB_PW)
    alice = w.login(ALICE, ALICE_PW)
    try:
        _, st = bob.imap(b"SETACL INBOX.Private alice lr")
        assert st.startswith(b"OK"), st
        untagged, _ = alice.imap(b'LIST "" "#shared.*"')
        assert any(u.endswith(b"#shared.bob.Private") for u in untagged), untagged
        # Only the granted folder: not bob's INBOX, which stays a
        # \Noselect hierarchy name at most.
        for u in untagged:
            if u.endswith(b"#shared.bob"):
                assert b"Noselect" in u, u
        untagged, _ = alice.imap(b"MYRIGHTS #shared.bob.Private")
        assert untagged and untagged[0].split()[-1] in (b"lr", b'"lr"'), untagged
        untagged, st = alice.imap(b"SELECT #shared.bob.Private")
        assert st.startswith(b"OK"), st
        assert b"* 2 EXISTS" in untagged, untagged
        untagged, st = alice.imap(b"FETCH 1:* (BODY.PEEK[TEXT])")
        assert st.startswith(b"OK"), st
        assert sum(SECRET.encode() in u for u in untagged) == 2, untagged
        # No `w`, `t`, `e`, `i`: no flags, no expunge, no append, no copy in.
        _, st = alice.imap(b"STORE 1 +FLAGS (\\Deleted)")
        untagged, _ = alice.imap(b"FETCH 1 (FLAGS)")
        assert st.startswith(b"NO") or b"\\Deleted" not in b"".join(untagged), (st, untagged)
        _, st = alice.imap(b"EXPUNGE")
        assert st.startswith(b"NO"), st
        _, st = alice.imap(b"APPEND #shared.bob.Private " + literal(_message("intrusion", "x")))
        assert st.startswith(b"NO"), st
        _, st = alice.imap(b"SELECT INBOX")
        _, st = alice.imap(b"COPY 1 #shared.bob.Private")
        assert st.startswith(b"NO"), st
        # bob's INBOX stays hidden.
        _, st = alice.imap(b"SELECT #shared.bob")
        assert st.startswith(b"NO"), st
        untagged, st = bob.imap(b"EXAMINE INBOX.Private")
        assert b"* 2 EXISTS" in untagged, untagged
        untagged, _ = bob.imap(b"FETCH 1:* (FLAGS)")
        assert not [u for u in untagged if b"\\Deleted" in u], untagged

        _, st = bob.imap(b"DELETEACL INBOX.Private alice")
        assert st.startswith(b"OK"), st
        untagged, _ = alice.imap(b'LIST "" "#shared.*"')
        assert untagged == [], untagged
        for template in (b"SELECT NAME", b"STATUS NAME (MESSAGES)", b"MYRIGHTS NAME"):
            assert _probe(alice, template.replace(b"NAME", b"<M>"), b'"#shared.bob.Private"') == \
                _probe(alice, template.replace(b"NAME", b"<M>"), b'"#shared.bob.Nonexistent"'), template
    finally:
        for c in (alice, bob):
            c.imap(b"LOGOUT")
            c.close()


def test_pop3_shows_only_the_users_own_mail(world):
    w = world
    alice = _pop3_messages(w, ALICE, ALICE_PW)
    assert alice and not [m for m in alice if SECRET.encode() in m], alice
    c = w.login(ALICE, ALICE_PW)
    untagged, _ = c.imap(b"STATUS INBOX (MESSAGES)")
    c.imap(b"LOGOUT")
    c.close()
    assert b"MESSAGES %d" % len(alice) in untagged[0], (untagged, len(alice))
    bob = _pop3_messages(w, BOB, BOB_PW)
    assert [m for m in bob if SECRET.encode() in m], "bob's own INBOX message is missing"


# --- 4. TLS versions -------------------------------------------------------------

VERSIONS = ["TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3"]


def _client_ctx(w: World, version: str) -> ssl.SSLContext:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(w.srv.ca_cert)
        v = getattr(ssl.TLSVersion, version)
        ctx.minimum_version = v
        ctx.maximum_version = v
        if version in ("TLSv1", "TLSv1_1"):
            # OpenSSL 3 refuses these below security level 0.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def _client_can_offer(w: World, version: str) -> Optional[str]:
    """None if this Python/OpenSSL completes a `version` handshake with
    itself (over a socketpair, with the server's own key), else why not."""
    key = Path(w.srv.ca_cert).with_name("key.pem")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(w.srv.ca_cert, key)
        v = getattr(ssl.TLSVersion, version)
        sctx.minimum_version = v
        sctx.maximum_version = v
        if version in ("TLSv1", "TLSv1_1"):
            sctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)
    err = []

    def serve():
        try:
            s = sctx.wrap_socket(b, server_side=True)
            s.recv(1)
            s.close()
        except Exception as e:  # noqa: BLE001 - reported below
            err.append(e)

    t = threading.Thread(target=serve)
    t.start()
    try:
        s = _client_ctx(w, version).wrap_socket(a, server_hostname="localhost")
        got = s.version()
        s.sendall(b"x")
        s.close()
        t.join(10)
        return None if got == version.replace("_", ".") else f"negotiated {got}"
    except (ssl.SSLError, OSError) as e:
        t.join(10)
        return f"local OpenSSL cannot do {version}: {e}"
    finally:
        a.close()
        b.close()


def _handshake(w: World, where: str, version: str):
    """Connects to `where` with a client limited to `version`; returns the
    negotiated version or raises ssl.SSLError / OSError / EOFError."""
    ctx = _client_ctx(w, version)
    if where == "imaps":
        c = Raw(w.srv.imaps_port, ctx)
        assert c.greeting.startswith(b"* OK"), c.greeting
    elif where == "pop3s":
        c = Raw(w.srv.pop3s_port, ctx)
        assert c.greeting.startswith(b"+OK"), c.greeting
    elif where == "imap+starttls":
        c = Raw(w.srv.imap_port)
        _, st = c.imap(b"STARTTLS")
        assert st.startswith(b"OK"), st
        c.starttls(ctx)
        caps, st = c.imap(b"CAPABILITY")
        assert st.startswith(b"OK") and b"STARTTLS" not in caps[0], caps
    else:
        c = Raw(w.srv.pop3_port)
        assert c.pop(b"STLS").startswith(b"+OK")
        c.starttls(ctx)
        first, capa = c.pop_multi(b"CAPA")
        assert first.startswith(b"+OK") and b"STLS" not in capa, capa
    try:
        return c.sock.version()
    finally:
        c.close()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("where", ["imaps", "pop3s", "imap+starttls", "pop3+stls"])
def test_tls_versions(world, where, version):
    w = world
    if version in ("TLSv1", "TLSv1_1"):
        why = _client_can_offer(w, version)
        if why:
            pytest.skip(f"the client side cannot offer {version}: {why}")
        # Refused by the server: an alert in answer to the client hello.
        with pytest.raises(ssl.SSLError, match="ALERT"):
            got = _handshake(w, where, version)
            pytest.fail(f"{where}: {version} handshake succeeded ({got})")
    else:
        assert _handshake(w, where, version) == version.replace("_", ".")


@pytest.mark.parametrize("flag,accepted", [("-tls1", False), ("-tls1_1", False),
                                           ("-tls1_2", True), ("-tls1_3", True)])
def test_tls_versions_with_openssl_s_client(world, flag, accepted):
    """A second witness: `openssl s_client` on the IMAPS port."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    w = world
    r = subprocess.run(
        ["openssl", "s_client", "-ign_eof", flag, "-cipher", "DEFAULT:@SECLEVEL=0",
         "-connect", f"127.0.0.1:{w.srv.imaps_port}", "-CAfile", w.srv.ca_cert,
         "-servername", "localhost", "-verify_return_error"],
        input=b"a LOGOUT\r\n", capture_output=True, timeout=30)
    out = r.stdout + r.stderr
    if accepted:
        assert r.returncode == 0 and b"* OK" in out, out[-2000:]
        assert re.search(rb"Protocol\s*:\s*TLSv1\.[23]", out) or b"New, TLSv1.3" in out \
            or b"New, TLSv1.2" in out, out[-2000:]
    else:
        if b"no protocols available" in out or b"unknown option" in out:
            pytest.skip(f"this openssl cannot offer {flag}: {out[-300:]!r}")
        assert r.returncode != 0 and b"* OK" not in out, out[-2000:]
        # The refusal came from the server (an alert), not from the client.
        assert b"alert" in out.lower() or b"wrong version" in out.lower() \
            or b"unsupported protocol" in out.lower(), out[-2000:]
