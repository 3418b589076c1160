"""Crash test of the whole server (issue 10, item 4).

Several clients APPEND, COPY and EXPUNGE while `deliver` processes write
into the same INBOX; at a random moment the server is killed with SIGKILL
(and so is every `deliver` still running), then restarted on the same data.
After each restart:

- UIDVALIDITY of INBOX and of the copy folder is unchanged;
- every message whose APPENDUID was acknowledged is present exactly once,
  under the acknowledged UID, with its own content;
- every message whose delivery was acknowledged (exit status 0) is present
  exactly once;
- every COPYUID acknowledged is present in the copy folder under its UID,
  unless an EXPUNGE of it was acknowledged;
- no message appears twice, and no UID ever names two different messages
  (UIDs are never reused under one UIDVALIDITY).

The cycle runs CRASH_ROUNDS times (default 50). Postroom only: Dovecot is a
multi-process server whose master cannot be killed in the same way.
"""

from __future__ import annotations

import imaplib
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

import servers

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "50"))
COPIES = "INBOX.Copies"
APPENDUID = re.compile(rb"APPENDUID (\d+) (\d+)")
COPYUID = re.compile(rb"COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)")
MARKER = re.compile(rb"^Message-ID: <(crash-[^>]+)>", re.I | re.M)


def _message(marker: str, size: int) -> bytes:
    body = (f"line of {marker} padding padding padding\r\n" * (size // 40 + 1)).encode()
    return (f"Message-ID: <{marker}>\r\nFrom: crash@example.test\r\n"
            f"Subject: {marker}\r\n\r\n").encode() + body


class Ledger:
    """What the server acknowledged, shared by the worker threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.appended: dict[int, str] = {}        # INBOX uid -> marker
        self.delivered: set[str] = set()
        self.copied: dict[int, str] = {}          # Copies uid -> marker
        self.expunged_copies: set[int] = set()
        # Copies uids an EXPUNGE was sent for: one the crash cut off
        # before its OK may have happened or not.
        self.expunge_attempted: set[int] = set()
        self.copy_attempted: set[int] = set()    # INBOX uids
        self.sent: set[str] = set()               # every marker ever sent
        self.counter = 0

    def next_marker(self, kind: str, rnd: int) -> str:
        with self.lock:
            self.counter += 1
            marker = f"crash-{kind}-{rnd}-{self.counter}@postroom.test"
            self.sent.add(marker)
            return marker


def _login(srv) -> imaplib.IMAP4:
    c = imaplib.IMAP4(srv.host, srv.imap_port, timeout=10)
    c.login(srv.user, srv.password)
    return c


def _appender(srv, ledger: Ledger, rnd: int, stop: threading.Event) -> None:
    try:
        c = _login(srv)
        while not stop.is_set():
            marker = ledger.next_marker("append", rnd)
            msg = _message(marker, random.choice([200, 3000, 40000]))
            typ, data = c.append("INBOX", None, None, msg)
            if typ != "OK":
                continue
            m = APPENDUID.search(data[0] or b"")
            assert m, f"APPEND answered OK without APPENDUID: {data!r}"
            with ledger.lock:
                ledger.appended[int(m.group(2))] = marker
    except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error, EOFError):
        return  # the server was killed under us


def _copier(srv, ledger: Ledger, stop: threading.Event) -> None:
    try:
        c = _login(srv)
        c.select("INBOX")
        while not stop.is_set():
            with ledger.lock:
                # Each message is copied at most once (an unacknowledged
                # copy may still have happened), so a marker is never
                # legitimately twice in the copy folder.
                candidates = [(u, m) for u, m in ledger.appended.items() if u not in ledger.copy_attempted]
                if candidates:
                    uid, marker = random.choice(candidates)
                    ledger.copy_attempted.add(uid)
            if not candidates:
                time.sleep(0.01)
                continue
            # The message was appended by another session: a NOOP makes it
            # part of this session's view (RFC 3501 §6.4.8: a UID outside
            # the view is ignored, so COPY would answer OK with no COPYUID).
            c.noop()
            # imaplib's uid() returns untagged FETCH data for COPY; the
            # COPYUID code is in the tagged response, which the lower-level
            # call returns.
            typ, data = c._simple_command("UID", "COPY", str(uid), COPIES)
            if typ == "OK":
                m = COPYUID.search(data[0] or b"")
                assert m, f"COPY answered OK without COPYUID: {data!r}"
                if m.group(2) == str(uid).encode():
                    with ledger.lock:
                        ledger.copied[int(m.group(3))] = marker
            # Expunge one acknowledged copy now and then.
            if random.random() < 0.3:
                with ledger.lock:
                    live = [u for u in ledger.copied if u not in ledger.expunged_copies]
                if live:
                    victim = random.choice(live)
                    c.select(COPIES)
                    typ, _ = c.uid("STORE", str(victim), "+FLAGS.SILENT", r"(\Deleted)")
                    if typ == "OK":
                        with ledger.lock:
                            ledger.expunge_attempted.add(victim)
                        typ, _ = c.uid("EXPUNGE", str(victim))
                        if typ == "OK":
                            with ledger.lock:
                                ledger.expunged_copies.add(victim)
                    c.select("INBOX")
    except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error, EOFError):
        return


def _deliver_argv(srv) -> list:
    """The example server's `deliver` command line with the server's own
    --data and --users."""
    args = srv.process.args
    return [args[0], "--data", args[args.index("--data") + 1],
            "--users", args[args.index("--users") + 1], "deliver", "--user", srv.user]


def _deliverer(srv, argv: list, ledger: Ledger, rnd: int, stop: threading.Event,
               running: list, running_lock: threading.Lock) -> None:
    while not stop.is_set():
        marker = ledger.next_marker("deliver", rnd)
        p = subprocess.Popen(argv,
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with running_lock:
            running.append(p)
        try:
            p.communicate(_message(marker, random.choice([500, 20000])), timeout=20)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            p.kill()
            p.wait()
        if p.returncode == 0:
            with ledger.lock:
                ledger.delivered.add(marker)


def _folder_state(c: imaplib.IMAP4, folder: str):
    """(uidvalidity, {uid: marker}, [markers in order])"""
    typ, _ = c.select(folder, readonly=True)
    assert typ == "OK", f"SELECT {folder} failed"
    uidvalidity = int(c.response("UIDVALIDITY")[1][0])
    typ, data = c.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    uids: dict[int, str] = {}
    markers: list[str] = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        m_uid = re.search(rb"UID (\d+)", item[0])
        m = MARKER.search(item[1])
        if m_uid and m:
            uids[int(m_uid.group(1))] = m.group(1).decode()
            markers.append(m.group(1).decode())
    return uidvalidity, uids, markers


@pytest.mark.skipif(os.environ.get("CRASH_ROUNDS") == "0", reason="CRASH_ROUNDS=0")
def test_sigkill_during_append_copy_expunge_and_deliver_storm():
    root = servers.new_workdir("crash")
    workdir = os.path.join(root, "srv")
    try:
        srv = servers.start_postroom(workdir)
    except servers.Unavailable as e:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"postroom example server unavailable: {e}")
    ledger = Ledger()
    seen_uids: dict[tuple[str, int], str] = {}   # (folder, uid) -> marker, across rounds
    validity: dict[str, int] = {}
    rng = random.Random(int(os.environ.get("CRASH_SEED", "1")))
    try:
        c = _login(srv)
        c.create(COPIES)
        c.logout()
        for rnd in range(ROUNDS):
            stop = threading.Event()
            running: list = []
            running_lock = threading.Lock()
            workers = [threading.Thread(target=_appender, args=(srv, ledger, rnd, stop)) for _ in range(3)]
            workers.append(threading.Thread(target=_copier, args=(srv, ledger, stop)))
            argv = _deliver_argv(srv)
            workers += [threading.Thread(target=_deliverer, args=(srv, argv, ledger, rnd, stop, running, running_lock))
                        for _ in range(2)]
            for w in workers:
                w.start()
            time.sleep(rng.uniform(0.2, 1.2))
            # The crash: the server and every delivery in flight die at once.
            srv.process.send_signal(signal.SIGKILL)
            with running_lock:
                for p in running:
                    if p.poll() is None:
                        p.send_signal(signal.SIGKILL)
            stop.set()
            for w in workers:
                w.join(60)
            srv.process.wait()
            srv.stop_fn()
            srv = servers.start_postroom(workdir)

            c = _login(srv)
            for folder in ("INBOX", COPIES):
                uidv, uids, markers = _folder_state(c, folder)
                assert validity.setdefault(folder, uidv) == uidv, f"round {rnd}: UIDVALIDITY of {folder} changed"
                dupes = {m for m in markers if markers.count(m) > 1}
                assert not dupes, f"round {rnd}: duplicated in {folder}: {sorted(dupes)[:5]}"
                for uid, marker in uids.items():
                    before = seen_uids.setdefault((folder, uid), marker)
                    assert before == marker, f"round {rnd}: UID {uid} of {folder} reused ({before} then {marker})"
                assert set(markers) <= ledger.sent, f"round {rnd}: unknown message in {folder}"
                if folder == "INBOX":
                    for uid, marker in ledger.appended.items():
                        assert uids.get(uid) == marker, f"round {rnd}: acknowledged APPEND uid {uid} ({marker}) lost"
                    present = set(markers)
                    lost = ledger.delivered - present
                    assert not lost, f"round {rnd}: acknowledged deliveries lost: {sorted(lost)[:5]}"
                else:
                    for uid, marker in ledger.copied.items():
                        if uid in ledger.expunged_copies:
                            assert uid not in uids, f"round {rnd}: acknowledged EXPUNGE of copy {uid} undone"
                        elif uid in ledger.expunge_attempted:
                            # Expunged or not, it is still that message.
                            assert uids.get(uid, marker) == marker, f"round {rnd}: copy {uid} changed"
                        else:
                            assert uids.get(uid) == marker, f"round {rnd}: acknowledged COPY uid {uid} lost"
            c.logout()
        assert ledger.appended and ledger.delivered and ledger.copied, \
            "the storm acknowledged no APPEND, delivery or COPY"
        assert ledger.expunged_copies, "the storm acknowledged no EXPUNGE"
    finally:
        srv.stop_fn()
        if os.environ.get("INTEROP_KEEP") is None:
            shutil.rmtree(root, ignore_errors=True)
