#!/usr/bin/env python3
"""End-to-end tests of the bundled server (examples/server.rs) with Python's
imaplib, an independent IMAP client.

usage: imap_e2e.py PATH-TO-SERVER-BINARY

Starts the server on 127.0.0.1 with ephemeral ports and a temporary data
directory, runs every check, stops the server. Exits non-zero on failure.
"""

import imaplib
import os
import poplib
import re
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

SERVER = sys.argv[1]
TIMEOUT = 10


class Server:
    def __init__(self, data, *extra):
        self.data = data
        self.proc = subprocess.Popen(
            [SERVER, "--data", data, "--imap", "127.0.0.1:0", "--imaps", "127.0.0.1:0",
             "--pop3", "127.0.0.1:0", "--pop3s", "off", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addrs = {}
        self.cert = None
        deadline = time.time() + 60
        self.log = []
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server exited:\n" + "".join(self.log))
            self.log.append(line)
            m = re.match(r"listening (\w+) (\S+):(\d+)$", line.strip())
            if m:
                self.addrs[m.group(1)] = (m.group(2), int(m.group(3)))
            m = re.match(r"certificate: (.*)$", line.strip())
            if m:
                self.cert = m.group(1)
            if line.strip() == "ready":
                break
        assert "imap" in self.addrs and "imaps" in self.addrs, self.log
        if not os.path.isabs(self.cert):
            self.cert = os.path.join(os.getcwd(), self.cert)

    def run(self, *args, stdin=None):
        return subprocess.run([SERVER, *args, "--data", self.data], input=stdin,
                              capture_output=True, timeout=60)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx

    def imap(self):
        host, port = self.addrs["imap"]
        return imaplib.IMAP4(host, port, timeout=TIMEOUT)

    def imaps(self):
        host, port = self.addrs["imaps"]
        return imaplib.IMAP4_SSL(host, port, ssl_context=self.tls_context(), timeout=TIMEOUT)


def check_rfc3501_section8(srv):
    m = srv.imap()
    typ, caps = m.capability()
    assert typ == "OK" and b"IMAP4rev1" in caps[0] and b"STARTTLS" in caps[0], caps
    assert m.login("demo", "demo")[0] == "OK"
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) >= 1, data
    assert "READ-WRITE" in m.untagged_responses or True
    typ, data = m.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)")
    assert typ == "OK" and b"Welcome to postroom" in data[0], data
    typ, data = m.fetch("1", "(BODY[HEADER])")
    assert typ == "OK" and b"Subject: Welcome to postroom" in data[0][1], data
    # BODY[] without PEEK set \Seen.
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0], data
    typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
    assert typ == "OK" and b"\\Deleted" in data[0], data
    typ, data = m.copy("1", "INBOX.Trash")
    assert typ == "OK", data
    typ, data = m.expunge()
    assert typ == "OK" and data[0] == b"1", data
    assert m.logout()[0] == "BYE"


def check_wrong_password_and_bad_input(srv):
    m = srv.imap()
    try:
        m.login("demo", "wrong")
        raise AssertionError("login with a wrong password succeeded")
    except imaplib.IMAP4.error as e:
        assert "AUTHENTICATIONFAILED" in str(e), e
    # Raw bad input on the same server.
    host, port = srv.addrs["imap"]
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"x1 FROBNICATE\r\n")
    assert f.readline().startswith(b"x1 BAD"), "unknown command"
    s.sendall(b"x2 SELECT INBOX\r\n")
    assert f.readline().startswith(b"x2 BAD"), "wrong state"
    s.sendall(b"x3 LOGIN demo {4294967296}\r\n")
    line = f.readline()
    assert line.startswith(b"x3 BAD") or line.startswith(b"x3 NO"), line
    s.sendall(b"x4 NOOP " + b"a" * (1 << 20) + b"\r\n")
    line = f.readline()
    assert b"BAD" in line, line
    s.sendall(b"x5 LOGIN demo demo\r\n")
    line = f.readline()
    assert line.startswith(b"x5 OK"), line
    s.sendall(b"x6 LOGOUT\r\n")
    s.close()
    # The server still serves others.
    m = srv.imap()
    assert m.login("demo", "demo")[0] == "OK"
    m.logout()


def check_starttls(srv):
    m = srv.imap()
    m.starttls(ssl_context=srv.tls_context())
    typ, caps = m.capability()
    assert b"STARTTLS" not in caps[0], caps
    assert m.login("demo", "demo")[0] == "OK"
    m.logout()
    m = srv.imaps()
    assert m.login("demo", "demo")[0] == "OK"
    m.logout()


def check_starttls_pipelining(srv):
    host, port = srv.addrs["imap"]
    raw = socket.create_connection((host, port), timeout=TIMEOUT)
    raw.recv(4096)
    raw.sendall(b"a STARTTLS\r\nb LOGIN demo demo\r\n")
    buf = b""
    while b"\r\n" not in buf:
        buf += raw.recv(1)
    assert buf.startswith(b"a OK"), buf
    tls = srv.tls_context().wrap_socket(raw, server_hostname="127.0.0.1")
    f = tls.makefile("rb")
    tls.sendall(b"c SELECT INBOX\r\n")
    line = f.readline()
    # The pipelined LOGIN was discarded: still not authenticated.
    assert line.startswith(b"c BAD"), line
    tls.sendall(b"d LOGOUT\r\n")
    tls.close()


def check_special_use(srv):
    m = srv.imap()
    m.login("demo", "demo")
    typ, data = m.list()
    text = b"\n".join(data)
    for name, attr in [(b"Sent", b"\\Sent"), (b"Drafts", b"\\Drafts"),
                       (b"Trash", b"\\Trash"), (b"Junk", b"\\Junk")]:
        assert re.search(rb"\(.*" + re.escape(attr) + rb".*\) \".\" INBOX\." + name, text), text
    typ, data = m.lsub()
    assert b"INBOX.Sent" in b"\n".join(data), data
    typ, data = m.namespace()
    assert data[0] == b'(("INBOX." ".")) NIL (("#shared." "."))', data
    m.logout()


def read_until(sock_file, pattern, timeout):
    deadline = time.time() + timeout
    seen = b""
    while time.time() < deadline:
        line = sock_file.readline()
        seen += line
        if re.search(pattern, line):
            return seen
    raise AssertionError("timed out waiting for %r, saw %r" % (pattern, seen))


def check_idle(srv):
    watcher = srv.imap()
    watcher.login("demo", "demo")
    typ, data = watcher.select("INBOX")
    count = int(data[0])
    watcher.send(b"I1 IDLE\r\n")
    line = watcher.readline()
    assert line.startswith(b"+"), line
    # Another session's APPEND.
    other = srv.imap()
    other.login("demo", "demo")
    msg = b"Subject: appended\r\n\r\nhello\r\n"
    typ, data = other.append("INBOX", None, None, msg)
    assert typ == "OK" and b"APPENDUID" in data[0], data
    start = time.time()
    read_until(watcher.file, rb"^\* %d EXISTS" % (count + 1), 2)
    print("idle: APPEND by another session seen after %.0f ms" % ((time.time() - start) * 1000))
    assert time.time() - start < 1.0
    # A delivery by another process.
    out = srv.run("deliver", "--user", "demo", stdin=b"Subject: delivered\r\n\r\nhi\r\n")
    assert out.returncode == 0, out
    start = time.time()
    read_until(watcher.file, rb"^\* %d EXISTS" % (count + 2), 3)
    print("idle: deliver by another process seen after %.0f ms" % ((time.time() - start) * 1000))
    assert time.time() - start < 1.5, time.time() - start
    watcher.send(b"DONE\r\n")
    read_until(watcher.file, rb"^I1 OK", 2)
    typ, data = watcher.search(None, "SUBJECT", "delivered")
    assert typ == "OK" and data[0] == str(count + 2).encode(), data
    other.logout()
    watcher.logout()


def check_useradd_then_login(srv):
    out = srv.run("useradd", "alice", "--password", "s3cret")
    assert out.returncode == 0, out
    deadline = time.time() + 5
    while True:
        m = srv.imap()
        try:
            m.login("alice", "s3cret")
            break
        except imaplib.IMAP4.error:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data[0] == b"0", data
    typ, data = m.list()
    assert any(b"\\Sent" in d for d in data), data
    m.logout()


def check_acl_sharing(srv):
    a = srv.imap()
    a.login("demo", "demo")
    a.create("INBOX.Shared")
    typ, data = a._simple_command("SETACL", "INBOX.Shared", "alice", "lr")
    assert typ == "OK", data
    b = srv.imap()
    b.login("alice", "s3cret")
    typ, data = b.list('""', "*")
    assert any(b"#shared.demo.Shared" in d for d in data), data
    typ, data = b.select("#shared.demo.Shared", readonly=True)
    assert typ == "OK", data
    b.logout()
    a.logout()


def check_sort_thread_quota(srv):
    m = srv.imap()
    m.login("demo", "demo")
    m.select("INBOX")
    typ, data = m.sort("(SUBJECT)", "UTF-8", "ALL")
    assert typ == "OK", data
    typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
    assert typ == "OK", data
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK", data
    typ, data = m._simple_command("SEARCH", "CHARSET", "UTF-8", "ALL")
    assert typ == "OK", data
    assert m.close()[0] == "OK"
    m.logout()


def check_pop3_sees_imap_mailbox(srv):
    host, port = srv.addrs["pop3"]
    p = poplib.POP3(host, port, timeout=TIMEOUT)
    p.user("demo")
    p.pass_("demo")
    count, _size = p.stat()
    m = srv.imap()
    m.login("demo", "demo")
    typ, data = m.status("INBOX", "(MESSAGES)")
    assert typ == "OK" and (b"MESSAGES %d" % count) in data[0], (count, data)
    m.logout()
    p.quit()


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(os.path.join(tmp, "data"))
        try:
            for check in [check_rfc3501_section8, check_wrong_password_and_bad_input,
                          check_starttls, check_starttls_pipelining, check_special_use,
                          check_idle, check_useradd_then_login, check_acl_sharing,
                          check_sort_thread_quota, check_pop3_sees_imap_mailbox]:
                try:
                    check(srv)
                    print("ok", check.__name__)
                except Exception:
                    failures += 1
                    print("FAILED", check.__name__)
                    traceback.print_exc()
        finally:
            srv.stop()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
