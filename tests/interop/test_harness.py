"""Self-tests of the harness pieces that need no server: the response
parser, the difference report and its whitelist, the mbox quoting."""

import subprocess
import sys
from pathlib import Path

import pytest

import mail
import rawimap
import test_differential as diff


def test_parse_fetch_with_literal_and_nil():
    line = (b'* 3 FETCH (RFC822.SIZE 120 ENVELOPE ("Mon, 1 Jan 2024 00:00:00 +0000" '
            b'{5}\r\nhe)l" ((NIL NIL "a" "b.org")) NIL NIL NIL NIL NIL NIL "<x@y>") '
            b'BODY[HEADER.FIELDS (SUBJECT)] {4}\r\nab\r\n FLAGS (\\Seen $Label1))')
    items = rawimap.fetch_items([line])[3]
    assert items[b"RFC822.SIZE"] == 120
    env = items[b"ENVELOPE"]
    assert env[1] == b'he)l"' and env[2] == [[None, None, b"a", b"b.org"]]
    assert env[3:9] == [None] * 6 and env[9] == b"<x@y>"
    assert items[b"BODY[HEADER.FIELDS (SUBJECT)]"] == b"ab\r\n"
    assert items[b"FLAGS"] == [b"\\Seen", b"$Label1"]


def test_parse_thread_and_numbers():
    assert rawimap.thread([b"* THREAD (2)(3 6 (4 23)(44 7 96))"]) == \
        [[2], [3, 6, [4, 23], [44, 7, 96]]]
    assert rawimap.numbers([b"* SORT 5 3 4"], b"SORT") == [5, 3, 4]
    assert rawimap.numbers([b"* SEARCH"], b"SEARCH") == []


class FakeServer:
    def __init__(self, name):
        self.name = name


class FakePair:
    ref = FakeServer("reference")
    cand = FakeServer("candidate")
    kind = "postroom"


def test_report_shows_a_readable_diff(tmp_path, monkeypatch):
    monkeypatch.setenv("POSTROOM_DIFF_REPORT_DIR", str(tmp_path))
    rep = diff.Report(FakePair())
    rep.compare("THREAD REFERENCES", [[1, 2], [3]], [[1, [2], [3]]])
    rep.compare("SORT (DATE)", [1, 2, 3], [1, 2, 3])
    assert len(rep.diffs) == 1
    with pytest.raises(pytest.fail.Exception) as e:
        rep.check("selftest")
    text = str(e.value)
    assert "### THREAD REFERENCES" in text and "--- reference" in text
    assert "+++ candidate" in text and "\n-" in text and "\n+" in text
    assert "### THREAD REFERENCES" in (tmp_path / "postroom-differential-selftest.txt").read_text()


def test_known_difference_is_allowed_only_where_it_applies():
    rep = diff.Report(FakePair())
    a = [b"TEXT", b"PLAIN", [b"CHARSET", b"us-ascii"], None, None, b"7BIT", 10, 1]
    b = [b"text", b"plain", [b"charset", b"us-ascii"], None, None, b"7bit", 10, 1]
    rep.compare("FETCH x #1 BODYSTRUCTURE", a, b)
    assert rep.diffs == [] and rep.allowed == {"media-type-case": 1}
    rep.compare("FETCH x #1 BODYSTRUCTURE", a, b[:-1] + [2])
    assert len(rep.diffs) == 1
    rep.compare("SORT (SUBJECT)", [b"A"], [b"a"])
    assert len(rep.diffs) == 2
    for k in diff.KNOWN_DIFFERENCES:
        assert "RFC" in k.reason


def test_each_known_difference_takes_out_only_its_kind():
    rep = diff.Report(FakePair())
    fetch = "FETCH x #1 BODYSTRUCTURE"
    # RFC 2231: Dovecot's raw `name*` against postroom's decoded value.
    a = [b"text", b"plain", [b"charset", b"us-ascii", b"name*", b"iso-8859-1''Fr%F6sche"],
         None, None, b"7bit", 10, 1]
    b = a[:2] + [[b"charset", b"us-ascii", b"name", "Frösche".encode()]] + a[3:]
    rep.compare(fetch, a, b)
    assert rep.diffs == [] and rep.allowed == {"rfc2231-decoded": 1}
    # ... but a different file name is still a difference.
    rep.compare(fetch, a, a[:2] + [[b"charset", b"us-ascii", b"name", b"x"]] + a[3:])
    assert len(rep.diffs) == 1
    # A message/rfc822 part: 2 octets and 1 line more in Dovecot, nothing else.
    env = [None] * 10
    inner = [b"text", b"plain", None, None, None, b"7bit", 3, 0]
    a = [[b"message", b"rfc822", None, None, None, b"7bit", 44, env, inner, 1]]
    a.append(b"mixed")
    b = [[b"message", b"rfc822", None, None, None, b"7bit", 42, env, inner, 0], b"mixed"]
    rep.compare(fetch, a, b)
    assert len(rep.diffs) == 1 and rep.allowed.get("rfc822-part-crlf") == 1
    b[0] = b[0][:6] + [41] + b[0][7:]
    rep.compare(fetch, a, b)
    assert len(rep.diffs) == 2
    # ENVELOPE white space: tabs and runs of blanks only.
    e1 = [b"d", b"a  b\tc", None, None, None, None, None, None, None, None]
    rep.compare("FETCH x #1 m ENVELOPE", [b"d", b"a b c"] + e1[2:], e1)
    assert len(rep.diffs) == 2
    rep.compare("FETCH x #1 m ENVELOPE", [b"d", b"a b d"] + e1[2:], e1)
    assert len(rep.diffs) == 3


def test_placement_entries_drop_only_the_messages_they_name():
    dated = b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nDate: x\r\n\r\n"
    box = (b"Subject: a\r\n\r\n", dated, b"Date: Mon, 1 Jan 2001 00:00:00 +0000\r\n\r\n")
    ctx = diff.Ctx(box=box)
    rep = diff.Report(FakePair())
    rep.compare("m: SORT (DATE) UTF-8 ALL", [1, 2, 3], [2, 1, 3], ctx)
    assert rep.diffs == [] and rep.allowed == {"duplicate-date-order": 1}
    rep.compare("m: SORT (DATE) UTF-8 ALL", [1, 2, 3], [3, 1, 2], ctx)
    assert len(rep.diffs) == 1
    assert diff.drop_ids([[1, [2], [3]], [4]], {3}) == [[1, 2], [4]]
    assert diff.drop_ids([[1, 2], [3]], {3}) == [[1, 2]]
    # SENTBEFORE: only messages without a usable Date may be missing.
    rep.compare("m: SEARCH SENTBEFORE 1-Jan-2005", [1, 3], [], ctx)
    assert len(rep.diffs) == 2
    rep.compare("m: SEARCH SENTBEFORE 1-Jan-2005", [1, 3], [3], ctx)
    assert len(rep.diffs) == 2 and rep.allowed.get("sentbefore-without-date") == 1


def test_ambiguous_boundaries():
    ok = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n"
    assert not diff.has_ambiguous_boundaries(ok)
    assert diff.has_ambiguous_boundaries(ok.replace(b"--a\r\n\r\nx", b"--ab\r\n\r\nx"))
    nested = ok.replace(b"\r\n\r\nx", b"\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\nx")
    assert diff.has_ambiguous_boundaries(nested)


def test_mbox_quoting_round_trip(tmp_path):
    mda = Path(__file__).with_name("mda_mbox.py")
    box = tmp_path / "mbox"
    msgs = [mail.message(1), b"Subject: x\r\n\r\nFrom me\r\n>From you\r\n"]
    for m in msgs:
        subprocess.run([sys.executable, str(mda), str(box)], input=m, check=True)
    assert b"\n>From me\n>>From you\n" in box.read_bytes()
    assert mail.parse_mbox(box.read_bytes()) == [mail.to_lf(m) for m in msgs]


def test_parse_example_server_startup():
    import servers
    out = (
        "postroom example server\n"
        "certificate: /tmp/x/data/tls/cert.pem (key /tmp/x/data/tls/key.pem)\n"
        "IMAP (STARTTLS) listening on 127.0.0.1:40001\n"
        "IMAPS listening on 127.0.0.1:40002\n"
        "pop3 on 127.0.0.1:40003\n"
        "  pop3s: 127.0.0.1:40004\n"
        "connect with: imap://demo@127.0.0.1:1143\n"
    )
    ports, cert = servers.parse_startup(out)
    assert ports == {"imap": 40001, "imaps": 40002, "pop3": 40003, "pop3s": 40004}
    assert cert == "/tmp/x/data/tls/cert.pem"


def test_postroom_fixture_wiring_with_a_stand_in(monkeypatch):
    """The postroom fixture's start-up parsing, deliver and stop, run
    against a stand-in that takes the example server's command line."""
    import shutil

    import conftest
    import servers

    if shutil.which("dovecot") is None:
        pytest.skip("dovecot not installed (run scripts/install-test-deps)")
    monkeypatch.setenv("POSTROOM_SERVER_BIN", str(Path(__file__).with_name("standin_server.sh")))
    srv = conftest.start("postroom", "standin")
    try:
        assert srv.name == "postroom"
        assert len({srv.imap_port, srv.imaps_port, srv.pop3_port, srv.pop3s_port}) == 4
        srv.deliver(srv.user, mail.message(1))
        c = srv.imap()
        assert list(mail.snapshot(c, "INBOX")) == [b"<msg-1-INBOX@example.org>"]
        c.logout()
        srv.reset()
        c = srv.imap()
        assert mail.snapshot(c, "INBOX") == {}
        c.logout()
        c = srv.imap(servers.OTHER_USER, servers.OTHER_PASSWORD)
        c.logout()
    finally:
        conftest.stop(srv)
