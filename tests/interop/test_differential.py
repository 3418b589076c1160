"""Differential checks: the same corpus in two servers, the same questions,
the answers compared.

The reference is always Dovecot (scripts/dovecot-start). The candidate is
postroom's example server (skipped while it does not build) and a second
Dovecot instance, which proves the harness: Dovecot against itself must
show no difference at all.

Compared: `FETCH 1:* (ENVELOPE BODYSTRUCTURE RFC822.SIZE)`, SEARCH over the
criteria in SEARCHES, SORT on every RFC 5256 key (and REVERSE), THREAD with
both algorithms. Every difference is printed as a unified diff of the two
parsed answers; those matched by an entry of KNOWN_DIFFERENCES (each with
the RFC reason why the candidate's answer is right) are allowed.

Corpora: tests/corpus/mail-parser (vendored) and the notmuch mailing-list
corpora fetched by scripts/fetch-thread-corpus into $POSTROOM_CORPUS_CACHE
(default: a directory under the system temp dir).
"""

from __future__ import annotations

import datetime
import difflib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple

import pytest

import conftest
import rawimap
from servers import REPO, SCRIPTS

CORPUS = REPO / "tests" / "corpus"
DIFF_USER, DIFF_PASSWORD = "test", "test"


class Known(NamedTuple):
    """An allowed difference: `applies(command, ref, cand)` is true for the
    differences it covers; `reason` cites the RFC."""
    name: str
    applies: Callable[[str, object, object], bool]
    reason: str


def _lower_atoms(v):
    if isinstance(v, list):
        return [_lower_atoms(x) for x in v]
    if isinstance(v, bytes):
        return v.lower()
    return v


KNOWN_DIFFERENCES: List[Known] = [
    Known(
        "media-type-case",
        lambda cmd, a, b: cmd.startswith("FETCH") and a != b
        and _lower_atoms(a) == _lower_atoms(b),
        "BODYSTRUCTURE type, subtype, parameter names and encodings are "
        "case-insensitive tokens (RFC 2045 §5.1, §6.1; RFC 3501 §7.4.2 "
        "gives no case); only the letter case differs",
    ),
]


# SEARCH criteria: flags (set deterministically at APPEND), addresses,
# header and body text, sizes, internal and sent dates, boolean forms.
SEARCHES = [
    b"ALL", b"SEEN", b"UNSEEN", b"FLAGGED", b"UNFLAGGED", b"ANSWERED",
    b"UNANSWERED", b"DRAFT", b"KEYWORD $Label1", b"UNKEYWORD $Label1",
    b'FROM "example"', b'FROM "@"', b'TO "kernel"', b'CC "linux"', b'BCC "a"',
    b'SUBJECT "re"', b'SUBJECT "PATCH"', b'SUBJECT "test"',
    b'HEADER "Message-ID" ""', b'HEADER "References" ""', b'HEADER "X-Mailer" "mutt"',
    b'HEADER "Content-Type" "multipart"', b'BODY "the"', b'BODY "attachment"',
    b'TEXT "mail"', b'TEXT "boundary"',
    b"LARGER 4000", b"SMALLER 1500", b"LARGER 100000",
    b"BEFORE 3-Jan-2024", b"ON 2-Jan-2024", b"SINCE 4-Jan-2024",
    b"SENTBEFORE 1-Jan-2005", b"SENTON 23-Jun-2010", b"SENTSINCE 1-Jan-2011",
    b'OR FLAGGED SUBJECT "re"', b'NOT FROM "a"', b"NOT NOT SEEN",
    b"1:10", b"UID 5:20", b"2,4,6:8 UNSEEN", b'(FLAGGED SEEN) OR ANSWERED DRAFT',
]
SORT_KEYS = [b"ARRIVAL", b"CC", b"DATE", b"FROM", b"SIZE", b"SUBJECT", b"TO"]
THREAD_ALGORITHMS = [b"ORDEREDSUBJECT", b"REFERENCES"]


def corpus_sets() -> Dict[str, List[bytes]]:
    sets: Dict[str, List[bytes]] = {}
    mp = sorted((CORPUS / "mail-parser").glob("*/*.eml"))
    # A message holding a NUL byte cannot be sent in an IMAP4rev1 literal
    # (RFC 3501 §9: literal = "{" number "}" CRLF *CHAR8, and CHAR8 excludes
    # %x00; only BINARY's literal8 may carry NUL, RFC 3516 §4.2). postroom
    # refuses it with BAD; Dovecot is lenient and stores it. Such messages
    # are left out of both servers' sets.
    sets["mailparser"] = [m for m in (p.read_bytes() for p in mp) if b"\x00" not in m]
    cache = Path(os.environ.get("POSTROOM_CORPUS_CACHE",
                                Path(tempfile.gettempdir()) / "postroom-corpus-cache"))
    r = subprocess.run([str(SCRIPTS / "fetch-thread-corpus"), str(cache)],
                       capture_output=True, text=True)
    if r.returncode == 0:
        for sub in ("default", "lkml", "threading"):
            files = sorted((cache / "notmuch" / sub).glob("*.eml"))
            sets[f"notmuch_{sub}"] = [p.read_bytes() for p in files]
    else:
        sets["notmuch_unavailable"] = []
        sets["_why"] = [r.stderr.encode()]
    return sets


def crlf(raw: bytes) -> bytes:
    """IMAP messages are CRLF text (RFC 3501 §2.3.1.1 / RFC 5322 §2.1)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def flags_for(i: int) -> bytes:
    f = []
    if i % 3 == 0:
        f.append(b"\\Seen")
    if i % 5 == 0:
        f.append(b"\\Flagged")
    if i % 7 == 0:
        f.append(b"\\Answered")
    if i % 11 == 0:
        f.append(b"\\Draft")
    if i % 4 == 1:
        f.append(b"$Label1")
    return b" ".join(f)


def internaldate(i: int) -> bytes:
    d = datetime.datetime(2024, 1, 1, 0, 0, 0) + datetime.timedelta(hours=7 * i)
    return d.strftime("%d-%b-%Y %H:%M:%S +0000").encode()


def load(server, sets) -> Dict[str, List[str]]:
    """APPEND each set into its own mailbox; returns, per set, the messages
    this server refused (index: reason)."""
    c = rawimap.connect(server, DIFF_USER, DIFF_PASSWORD)
    refused: Dict[str, List[str]] = {}
    try:
        for name, msgs in sets.items():
            if name.startswith("_") or not msgs:
                continue
            box = b"INBOX.diff_" + name.encode()
            c.command(b"CREATE " + box)
            refused[name] = []
            for i, raw in enumerate(msgs):
                try:
                    c.command(b"APPEND " + box + b" (" + flags_for(i) + b') "'
                              + internaldate(i) + b'" \x00', [crlf(raw)])
                except rawimap.ImapError as e:
                    refused[name].append(f"{i}: {e}")
    finally:
        c.close()
    return refused


class Pair(NamedTuple):
    ref: object
    cand: object
    sets: dict
    refused: dict


@pytest.fixture(scope="module", params=["dovecot", "postroom"])
def pair(request):
    ref = conftest.start("dovecot", "diffref")
    try:
        cand = conftest.start(request.param, "diffcand")
    except BaseException:
        conftest.stop(ref)
        raise
    try:
        sets = corpus_sets()
        refused = {"ref": load(ref, sets), "cand": load(cand, sets)}
        yield Pair(ref, cand, sets, refused)
    finally:
        conftest.stop(cand)
        conftest.stop(ref)


def set_names(pair) -> List[str]:
    return [n for n, m in pair.sets.items() if m and not n.startswith("_")]


class Report:
    def __init__(self, pair):
        self.pair = pair
        self.diffs: List[str] = []
        self.allowed: Dict[str, int] = {}

    def compare(self, command: str, ref, cand) -> None:
        if ref == cand:
            return
        for k in KNOWN_DIFFERENCES:
            if k.applies(command, ref, cand):
                self.allowed[k.name] = self.allowed.get(k.name, 0) + 1
                return
        a = rawimap.show(ref).splitlines()
        b = rawimap.show(cand).splitlines()
        diff = "\n".join(difflib.unified_diff(
            a, b, f"{self.pair.ref.name}", f"{self.pair.cand.name}", lineterm="", n=2))
        self.diffs.append(f"### {command}\n{diff}")

    def check(self, what: str) -> None:
        if not self.diffs:
            return
        out_dir = Path(os.environ.get("POSTROOM_DIFF_REPORT_DIR", tempfile.gettempdir()))
        out = out_dir / f"postroom-differential-{what}.txt"
        out.write_text("\n\n".join(self.diffs))
        shown = "\n\n".join(self.diffs[:12])
        more = len(self.diffs) - 12
        pytest.fail(
            f"{len(self.diffs)} differences between {self.pair.ref.name} and "
            f"{self.pair.cand.name} ({what}); all in {out}\n\n{shown}"
            + (f"\n\n... and {more} more" if more > 0 else ""), pytrace=False)


def session(server):
    return rawimap.connect(server, DIFF_USER, DIFF_PASSWORD)


def test_corpus_loaded(pair):
    """Both servers accepted the same messages; the notmuch corpus was
    fetched (otherwise the reason is shown)."""
    assert "notmuch_unavailable" not in pair.sets, pair.sets.get("_why")
    assert pair.refused["ref"] == pair.refused["cand"]
    total = sum(len(m) for n, m in pair.sets.items() if not n.startswith("_"))
    assert total > 300
    # Every set is in both servers, minus the messages both refused.
    r = session(pair.ref)
    try:
        for name in set_names(pair):
            st = r.command(b"STATUS INBOX.diff_" + name.encode() + b" (MESSAGES)")[0]
            count = int(st[0].rsplit(b"MESSAGES ", 1)[1].rstrip(b")"))
            assert count == len(pair.sets[name]) - len(pair.refused["ref"][name])
    finally:
        r.close()
    print({k: len(v) for k, v in pair.sets.items()}, pair.refused["ref"])


def each_box(pair):
    r, c = session(pair.ref), session(pair.cand)
    try:
        for name in set_names(pair):
            box = b"INBOX.diff_" + name.encode()
            r.command(b"EXAMINE " + box)
            c.command(b"EXAMINE " + box)
            yield name, r, c
    finally:
        r.close()
        c.close()


def test_fetch_envelope_bodystructure_size(pair):
    rep = Report(pair)
    for name, r, c in each_box(pair):
        q = b"FETCH 1:* (ENVELOPE BODYSTRUCTURE RFC822.SIZE)"
        a = rawimap.fetch_items(r.command(q)[0])
        b = rawimap.fetch_items(c.command(q)[0])
        # The reference answered for every message with all three items.
        assert len(a) == len(pair.sets[name]) - len(pair.refused["ref"][name])
        assert all(len(v) == 3 for v in a.values()), name
        rep.compare(f"{name}: message count", len(a), len(b))
        for n in sorted(set(a) | set(b)):
            env = a.get(n, {}).get(b"ENVELOPE") or [None] * 10
            mid = env[9].decode(errors="replace") if isinstance(env[9], bytes) else "-"
            for item in (b"ENVELOPE", b"BODYSTRUCTURE", b"RFC822.SIZE"):
                rep.compare(f"FETCH {name} #{n} {mid} {item.decode()}",
                            a.get(n, {}).get(item), b.get(n, {}).get(item))
    rep.check("fetch")


def test_search(pair):
    rep = Report(pair)
    for name, r, c in each_box(pair):
        for crit in SEARCHES:
            q = b"SEARCH " + crit
            rep.compare(f"{name}: {q.decode()}",
                        rawimap.numbers(r.command(q)[0], b"SEARCH"),
                        rawimap.numbers(c.command(q)[0], b"SEARCH"))
        q = b"SEARCH CHARSET UTF-8 TEXT \x00"
        lit = ["Grüße".encode()]
        rep.compare(f"{name}: SEARCH CHARSET UTF-8 TEXT Grüße",
                    rawimap.numbers(r.command(q, lit)[0], b"SEARCH"),
                    rawimap.numbers(c.command(q, lit)[0], b"SEARCH"))
    rep.check("search")


def test_sort(pair):
    rep = Report(pair)
    for name, r, c in each_box(pair):
        for key in SORT_KEYS:
            for crit in (key, b"REVERSE " + key):
                q = b"SORT (" + crit + b") UTF-8 ALL"
                rep.compare(f"{name}: {q.decode()}",
                            rawimap.numbers(r.command(q)[0], b"SORT"),
                            rawimap.numbers(c.command(q)[0], b"SORT"))
        q = b"SORT (SUBJECT REVERSE DATE FROM) UTF-8 UNSEEN"
        rep.compare(f"{name}: {q.decode()}",
                    rawimap.numbers(r.command(q)[0], b"SORT"),
                    rawimap.numbers(c.command(q)[0], b"SORT"))
    rep.check("sort")


@pytest.mark.parametrize("algorithm", THREAD_ALGORITHMS)
def test_thread(pair, algorithm):
    rep = Report(pair)
    for name, r, c in each_box(pair):
        for crit in (b"ALL", b"SEEN"):
            q = b"THREAD " + algorithm + b" UTF-8 " + crit
            rep.compare(f"{name}: {q.decode()}",
                        rawimap.thread(r.command(q)[0]),
                        rawimap.thread(c.command(q)[0]))
    rep.check(f"thread-{algorithm.decode().lower()}")
