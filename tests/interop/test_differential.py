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
import email.utils
import os
import re
import subprocess
import tempfile
import urllib.parse
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Tuple

import pytest

import conftest
import rawimap
from servers import REPO, SCRIPTS

CORPUS = REPO / "tests" / "corpus"
DIFF_USER, DIFF_PASSWORD = "test", "test"


class Known(NamedTuple):
    """An allowed kind of difference. `normalize(command, ref, cand, ctx)`
    returns the two answers with exactly that kind of difference taken out
    (and nothing else changed); `reason` cites the RFC for why the
    candidate's answer is right. `ctx` is the message (FETCH) or the
    mailbox's messages by sequence number (SEARCH, SORT, THREAD) as
    appended, so an entry can look at what the difference is about."""
    name: str
    normalize: Callable[[str, object, object, "Ctx"], Tuple[object, object]]
    reason: str


class Ctx(NamedTuple):
    """What the compared answer is about: one message (`raw`) for FETCH,
    the mailbox's messages by sequence number (`box`, index = seq - 1)
    otherwise."""
    raw: bytes = b""
    box: Tuple[bytes, ...] = ()


# --- reading the corpus messages (for the predicates) ----------------------

def header_fields(raw: bytes) -> List[Tuple[bytes, bytes]]:
    """(lowercase name, unfolded value) of the top-level header fields."""
    end = raw.find(b"\r\n\r\n")
    head = raw[: end + 2] if end >= 0 else raw
    out: List[Tuple[bytes, bytes]] = []
    for line in re.split(rb"\r\n(?![ \t])", head):
        name, sep, value = line.partition(b":")
        if sep:
            out.append((name.strip().lower(), value.replace(b"\r\n", b"").strip()))
    return out


def field_values(raw: bytes, name: bytes) -> List[bytes]:
    return [v for n, v in header_fields(raw) if n == name]


def has_unparsable_date(raw: bytes) -> bool:
    dates = field_values(raw, b"date")
    return not dates or email.utils.parsedate_tz(dates[0].decode("latin-1")) is None


def has_two_dates(raw: bytes) -> bool:
    return len(field_values(raw, b"date")) > 1


def subject_has_tab(raw: bytes) -> bool:
    return any(b"\t" in v for v in field_values(raw, b"subject"))


def boundaries(raw: bytes) -> List[bytes]:
    return [m.group(1) or m.group(2) for m in
            re.finditer(rb'(?i)boundary\s*=\s*(?:"([^"]*)"|([^\s;"]+))', raw)]


def has_ambiguous_boundaries(raw: bytes) -> bool:
    """RFC 2046 §5.1.1 matches a delimiter by prefix, and §5.1.2 wants
    a nested multipart's boundary to differ from the enclosing ones: here
    one multipart's boundary equals or begins with another's, or a line
    begins with a boundary and goes on with something that is not `--`
    or padding, so which multipart a delimiter line ends is undefined."""
    bs = [b for b in boundaries(raw) if b]
    if any(a != b and b.startswith(a) for a in bs for b in bs) or len(set(bs)) < len(bs):
        return True
    for b in set(bs):
        for m in re.finditer(rb"(?m)^--" + re.escape(b) + rb"(.*?)\r?$", raw):
            rest = m.group(1)
            if rest.strip() not in (b"", b"--"):
                return True
    return False


def embedded_header_has(raw: bytes, needle: bytes) -> bool:
    """`needle` (case-insensitive) in the header of an encapsulated message
    (message/rfc822, or a part of a multipart/digest)."""
    n = needle.lower()
    digest = re.search(rb"(?i)multipart/digest", raw) is not None
    for m in re.finditer(rb"(?is)(message/rfc822.*?\r\n\r\n|\r\n--[^\r\n]*\r\n\r\n)(.*?)\r\n\r\n", raw):
        if (digest or m.group(1).lower().startswith(b"message/rfc822")) and n in m.group(2).lower():
            return True
    return False


# --- BODYSTRUCTURE walking --------------------------------------------------

def is_multipart(bs) -> bool:
    return isinstance(bs, list) and bool(bs) and isinstance(bs[0], list)


def ext_start(bs) -> int:
    """Index of the first extension field of a single part."""
    t = bs[0].lower() if isinstance(bs[0], bytes) else b""
    st = bs[1].lower() if isinstance(bs[1], bytes) else b""
    if t == b"message" and st == b"rfc822" and len(bs) > 9 and isinstance(bs[8], list):
        return 10
    if t == b"text":
        return 8
    return 7


def map_parts(bs, f):
    """`f` applied to every part (multipart and single), children first."""
    if not isinstance(bs, list):
        return bs
    bs = list(bs)
    if is_multipart(bs):
        k = next(i for i, x in enumerate(bs) if not isinstance(x, list))
        bs[:k] = [map_parts(p, f) for p in bs[:k]]
    elif ext_start(bs) == 10:
        bs[8] = map_parts(bs[8], f)
    return f(bs)


def map_pairs(a, b, f):
    """`f(a_part, b_part)` over two structures of the same shape, children
    first; where the shapes differ the parts are left as they are."""
    if not (isinstance(a, list) and isinstance(b, list)) or is_multipart(a) != is_multipart(b):
        return a, b
    a, b = list(a), list(b)
    if is_multipart(a):
        ka = next(i for i, x in enumerate(a) if not isinstance(x, list))
        kb = next(i for i, x in enumerate(b) if not isinstance(x, list))
        if ka == kb:
            for i in range(ka):
                a[i], b[i] = map_pairs(a[i], b[i], f)
    elif ext_start(a) == 10 and ext_start(b) == 10:
        a[8], b[8] = map_pairs(a[8], b[8], f)
    return f(a, b)


def ext_fields(bs) -> Tuple[int, int]:
    """(index of the parameter list or -1, index of the disposition)."""
    if is_multipart(bs):
        k = next(i for i, x in enumerate(bs) if not isinstance(x, list))
        return k + 1, k + 2
    return 2, ext_start(bs) + 1


def lower_tokens(bs):
    bs = list(bs)
    low = lambda v: v.lower() if isinstance(v, bytes) else v
    params_at, disp_at = ext_fields(bs)
    if is_multipart(bs):
        k = params_at - 1
        bs[k] = low(bs[k])
    else:
        bs[0], bs[1], bs[5] = low(bs[0]), low(bs[1]), low(bs[5])
    if params_at < len(bs) and isinstance(bs[params_at], list):
        p = list(bs[params_at])
        p[0::2] = [low(x) for x in p[0::2]]
        # Charset names are case-insensitive too (RFC 2046 §4.1.2).
        p[1::2] = [low(v) if k == b"charset" else v for k, v in zip(p[0::2], p[1::2])]
        bs[params_at] = p
    if disp_at < len(bs) and isinstance(bs[disp_at], list) and bs[disp_at]:
        d = list(bs[disp_at])
        d[0] = low(d[0])
        if len(d) > 1 and isinstance(d[1], list):
            d[1] = [low(x) if i % 2 == 0 else x for i, x in enumerate(d[1])]
        bs[disp_at] = d
    return bs


def language_as_list(bs):
    bs = list(bs)
    _, disp_at = ext_fields(bs)
    lang = disp_at + 1
    if lang < len(bs) and isinstance(bs[lang], bytes):
        bs[lang] = [bs[lang]]
    return bs


def rfc2231_decoded(params: list) -> list:
    """RFC 2231 §3, §4 applied to an IMAP parameter list: `name*N` sections
    joined in order, `*`-marked ones percent-decoded and converted from their
    charset to UTF-8, under the plain name at the first section's place."""
    names = [p.decode("latin-1") if isinstance(p, bytes) else "" for p in params[0::2]]
    if not any("*" in n for n in names):
        return params
    out: list = []
    groups: Dict[str, list] = {}
    for n, v in zip(names, params[1::2]):
        m = re.fullmatch(r"([^*]+)\*(?:(\d+)(\*)?|)", n)
        if not m or not isinstance(v, bytes):
            out += [n.encode("latin-1"), v]
            continue
        base = m.group(1)
        ext = m.group(2) is None or m.group(3) is not None
        if base not in groups:
            groups[base] = []
            out += [base.encode(), ("group", base)]
        groups[base].append((int(m.group(2) or 0), ext, v))
    result = []
    for x in out:
        if isinstance(x, tuple):
            parts = sorted(groups[x[1]], key=lambda t: t[0])
            charset, data = None, b""
            for i, (_, ext, v) in enumerate(parts):
                if ext:
                    if i == 0 and v.count(b"'") >= 2:
                        cs, _lang, v = v.split(b"'", 2)
                        charset = cs.decode("latin-1")
                    data += urllib.parse.unquote_to_bytes(v)
                else:
                    data += v
            try:
                data = data.decode(charset).encode() if charset else data
            except (LookupError, UnicodeDecodeError):
                pass
            result.append(data)
        else:
            result.append(x)
    return result


def decode_2231(bs):
    bs = list(bs)
    params_at, disp_at = ext_fields(bs)
    if params_at < len(bs) and isinstance(bs[params_at], list):
        bs[params_at] = rfc2231_decoded(bs[params_at])
    if disp_at < len(bs) and isinstance(bs[disp_at], list) and len(bs[disp_at]) > 1 \
            and isinstance(bs[disp_at][1], list):
        d = list(bs[disp_at])
        d[1] = rfc2231_decoded(d[1])
        bs[disp_at] = d
    return bs


def only_fetch(item: str, f):
    """A normalizer for one FETCH item, applied to both answers."""
    def norm(cmd, a, b, ctx):
        if not cmd.startswith("FETCH") or not cmd.endswith(" " + item):
            return a, b
        return f(a, b, ctx)
    return norm


def both_parts(f):
    return lambda a, b, ctx: (map_parts(a, f), map_parts(b, f))


def rfc822_part_crlf(a, b, ctx):
    def f(x, y):
        if (ext_start(x) == 10 and ext_start(y) == 10 and isinstance(x[6], int)
                and isinstance(y[6], int) and x[6] == y[6] + 2 and x[9] == y[9] + 1):
            x = list(x)
            x[6], x[9] = y[6], y[9]
        return x, y
    return map_pairs(a, b, f)


def invalid_cte(a, b, ctx):
    def f(x, y):
        if (not is_multipart(x) and not is_multipart(y) and x[5] == b"7bit"
                and isinstance(y[5], bytes) and not re.fullmatch(rb"[!#-'*+\-.0-9A-Z^-~]+", y[5])):
            y = list(y)
            y[5] = x[5]
        return x, y
    return map_pairs(a, b, f)


def invalid_content_type(a, b, ctx):
    def f(x, y):
        if (not is_multipart(x) and x[0] == b"" and x[1] == b"" and not is_multipart(y)
                and y[0] == b"text" and y[1] == b"plain" and x[6] == y[6]):
            x = y
        return x, y
    return map_pairs(a, b, f)


def trailing_bare_cr(a, b, ctx):
    if not (ctx.raw.endswith(b"\r")):
        return a, b
    if isinstance(a, int) and b == a + 1:
        return a, a
    if isinstance(a, list) and isinstance(b, list) and not is_multipart(a) and not is_multipart(b) \
            and isinstance(a[6], int) and b[6] == a[6] + 1:
        b = list(b)
        b[6] = a[6]
    return a, b


def whole_if(pred):
    """For a message with property `pred`, the whole item may differ."""
    return lambda a, b, ctx: (a, a) if pred(ctx.raw) else (a, b)


def for_humans(v):
    if not isinstance(v, bytes):
        return v
    return re.sub(rb"[ \t]+", b" ", v).strip(b" ")


def envelope_whitespace(a, b, ctx):
    def norm(env):
        if not isinstance(env, list) or len(env) < 8:
            return env
        env = list(env)
        env[1] = for_humans(env[1])
        for i in range(2, 8):
            if isinstance(env[i], list):
                env[i] = [[for_humans(x[0])] + list(x[1:]) if isinstance(x, list) and x else x
                          for x in env[i]]
        return env
    return norm(a), norm(b)


def envelope_duplicate_date(a, b, ctx):
    dates = field_values(ctx.raw, b"date")
    if len(dates) > 1 and isinstance(a, list) and isinstance(b, list) \
            and a[0] in dates and b[0] in dates:
        b = list(b)
        b[0] = a[0]
    return a, b


def drop_ids(v, ids):
    """A SORT/SEARCH list or THREAD forest without the messages `ids`, in
    canonical form (RFC 5256 §4: a single child is written as a chain)."""
    if not isinstance(v, list):
        return v
    if all(isinstance(x, int) for x in v) and not any(isinstance(x, list) for x in v):
        return [x for x in v if x not in ids]

    def node(lst):
        chain = [x for x in lst if isinstance(x, int) and x not in ids]
        subs = [s for s in (node(x) for x in lst if isinstance(x, list)) if s]
        if len(subs) == 1:
            return chain + subs[0]
        return chain + subs
    return [t for t in (node(x) for x in v) if t]


def messages_placed(pred, commands):
    """SORT/THREAD: the messages with property `pred` may be placed
    differently; everything else must agree."""
    def norm(cmd, a, b, ctx):
        if not any(c in cmd for c in commands):
            return a, b
        ids = {i + 1 for i, raw in enumerate(ctx.box) if pred(raw)}
        if not ids:
            return a, b
        return drop_ids(a, ids), drop_ids(b, ids)
    return norm


def sent_before_without_date(cmd, a, b, ctx):
    if "SENTBEFORE" not in cmd or not (isinstance(a, list) and isinstance(b, list)):
        return a, b
    extra = set(a) - set(b)
    if set(b) <= set(a) and all(has_unparsable_date(ctx.box[i - 1]) for i in extra):
        return b, b
    return a, b


def body_in_embedded_header(cmd, a, b, ctx):
    m = re.search(r"SEARCH BODY \"(.*)\"$", cmd)
    if not m or not (isinstance(a, list) and isinstance(b, list)):
        return a, b
    extra = set(b) - set(a)
    if set(a) <= set(b) and all(embedded_header_has(ctx.box[i - 1], m.group(1).encode())
                                for i in extra):
        return a, a
    return a, b


KNOWN_DIFFERENCES: List[Known] = [
    Known(
        "media-type-case",
        only_fetch("BODYSTRUCTURE", both_parts(lower_tokens)),
        "BODYSTRUCTURE type, subtype, parameter names, encodings and "
        "disposition types and charset names are case-insensitive (RFC 2045 "
        "§5.1, §6.1; RFC 2046 §4.1.2; RFC 2183 §2; RFC 3501 §7.4.2 gives no "
        "case); only their letter case differs",
    ),
    Known(
        "language-string",
        only_fetch("BODYSTRUCTURE", both_parts(language_as_list)),
        "one body language may be sent as a string or a one-element list: "
        "RFC 3501 §9 body-fld-lang = nstring / \"(\" string *(SP string) \")\"",
    ),
    Known(
        "rfc2231-decoded",
        only_fetch("BODYSTRUCTURE", both_parts(decode_2231)),
        "postroom joins RFC 2231 parameter sections and converts their "
        "charset to UTF-8, as RFC 9051 §7.5.2 says servers SHOULD; Dovecot "
        "sends `name*` as written",
    ),
    Known(
        "rfc822-part-crlf",
        only_fetch("BODYSTRUCTURE", rfc822_part_crlf),
        "the CRLF before a multipart delimiter belongs to the delimiter "
        "(RFC 2046 §5.1.1), so a message/rfc822 part's size and lines "
        "(RFC 3501 §7.4.2) do not count it; Dovecot counts it for "
        "message/rfc822 parts (2 octets, 1 line more)",
    ),
    Known(
        "invalid-transfer-encoding",
        only_fetch("BODYSTRUCTURE", invalid_cte),
        "a Content-Transfer-Encoding that is not an RFC 2045 §6.1 token "
        "(`8 bit`) is reported as written (RFC 3501 §7.4.2: the body "
        "encoding is the header's value); Dovecot reports `7bit`, which the "
        "message never stated",
    ),
    Known(
        "invalid-content-type",
        only_fetch("BODYSTRUCTURE", invalid_content_type),
        "a syntactically invalid Content-Type is read as text/plain; "
        "charset=us-ascii (RFC 2045 §5.2); Dovecot sends an empty type and "
        "subtype, which are not media types (RFC 2045 §5.1)",
    ),
    Known(
        "ambiguous-boundaries",
        only_fetch("BODYSTRUCTURE", whole_if(has_ambiguous_boundaries)),
        "the message breaks RFC 2046 §5.1.1/§5.1.2 (a boundary equal to or "
        "a prefix of another, or delimiter lines with trailing text): which "
        "multipart a delimiter line closes is not defined; postroom lets the "
        "enclosing boundary win unless a nested multipart declares the "
        "longer one, Dovecot tries the innermost first",
    ),
    Known(
        "trailing-bare-cr",
        lambda cmd, a, b, ctx: (trailing_bare_cr(a, b, ctx)
                                if cmd.startswith("FETCH") and not cmd.endswith("ENVELOPE")
                                else (a, b)),
        "the appended message ends in a bare CR: postroom keeps every "
        "appended octet, so RFC822.SIZE and the body size are the literal's "
        "size (RFC 3501 §6.3.11, §6.4.5: RFC822.SIZE is the message's size); "
        "Dovecot drops the CR",
    ),
    Known(
        "envelope-whitespace",
        only_fetch("ENVELOPE", envelope_whitespace),
        "ENVELOPE subject and address names are the header's text unfolded "
        "(RFC 5322 §2.2.3: only the CRLF is removed; RFC 3501 §7.4.2); "
        "Dovecot turns tabs into spaces, joins runs of white space and trims "
        "the ends",
    ),
    Known(
        "duplicate-date",
        only_fetch("ENVELOPE", envelope_duplicate_date),
        "the message has two Date fields (RFC 5322 §3.6 allows one); "
        "postroom uses the first in ENVELOPE, SORT and THREAD alike, Dovecot "
        "the last; no RFC chooses",
    ),
    Known(
        "duplicate-date-order",
        messages_placed(has_two_dates, ("SORT (DATE)", "SORT (REVERSE DATE)", "THREAD")),
        "as duplicate-date: a message with two Date fields sorts by the "
        "first one in postroom (an unparsable first one means INTERNALDATE, "
        "RFC 5256 §2.2), by the last in Dovecot",
    ),
    Known(
        "base-subject-tab",
        messages_placed(subject_has_tab, ("SUBJECT", "ORDEREDSUBJECT")),
        "RFC 5256 §2.1 step 1 turns tabs and folding into spaces and runs "
        "of spaces into one before comparing base subjects; Dovecot keeps a "
        "folded `and \\t register` apart from `and register`",
    ),
    Known(
        "sentbefore-without-date",
        sent_before_without_date,
        "SENTBEFORE matches messages whose Date header is earlier "
        "(RFC 3501 §6.4.4); a message without a usable Date has no sent "
        "date and does not match; Dovecot counts it as 1 Jan 1970",
    ),
    Known(
        "body-in-embedded-header",
        body_in_embedded_header,
        "BODY searches the body of the message (RFC 3501 §6.4.4), and the "
        "header of an encapsulated message is part of it (RFC 2046 §5.2.1: "
        "a message/rfc822 body is a whole message); Dovecot searches only "
        "the text of the parts",
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
    kind: str = "postroom"


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
        yield Pair(ref, cand, sets, refused, request.param)
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

    def compare(self, command: str, ref, cand, ctx: Ctx = Ctx()) -> None:
        if ref == cand:
            return
        a, b, used = ref, cand, []
        for k in KNOWN_DIFFERENCES:
            na, nb = k.normalize(command, a, b, ctx)
            if (na, nb) != (a, b):
                used.append(k.name)
                a, b = na, nb
        if a == b:
            # Count only the entries this difference needed.
            for name in used:
                a2, b2 = ref, cand
                for k in KNOWN_DIFFERENCES:
                    if k.name != name:
                        a2, b2 = k.normalize(command, a2, b2, ctx)
                if a2 != b2:
                    self.allowed[name] = self.allowed.get(name, 0) + 1
            return
        note = f" (after known differences: {', '.join(used)})" if used else ""
        diff = "\n".join(difflib.unified_diff(
            rawimap.show(a).splitlines(), rawimap.show(b).splitlines(),
            f"{self.pair.ref.name}", f"{self.pair.cand.name}", lineterm="", n=2))
        self.diffs.append(f"### {command}{note}\n{diff}")

    def check(self, what: str) -> None:
        if self.allowed:
            print(f"{what}: allowed known differences {self.allowed}")
        # Dovecot against itself proves the harness: nothing may differ.
        assert self.pair.kind != "dovecot" or not self.allowed, self.allowed
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


def box_messages(pair, name) -> Tuple[bytes, ...]:
    """The set's messages as the reference holds them, by sequence number."""
    refused = {int(r.split(":", 1)[0]) for r in pair.refused["ref"].get(name, [])}
    return tuple(crlf(m) for i, m in enumerate(pair.sets[name]) if i not in refused)


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
        box = box_messages(pair, name)
        for n in sorted(set(a) | set(b)):
            ctx = Ctx(raw=box[n - 1] if 0 < n <= len(box) else b"")
            env = a.get(n, {}).get(b"ENVELOPE") or [None] * 10
            mid = env[9].decode(errors="replace") if isinstance(env[9], bytes) else "-"
            for item in (b"ENVELOPE", b"BODYSTRUCTURE", b"RFC822.SIZE"):
                rep.compare(f"FETCH {name} #{n} {mid} {item.decode()}",
                            a.get(n, {}).get(item), b.get(n, {}).get(item), ctx)
    rep.check("fetch")


def test_search(pair):
    rep = Report(pair)
    for name, r, c in each_box(pair):
        ctx = Ctx(box=box_messages(pair, name))
        for crit in SEARCHES:
            q = b"SEARCH " + crit
            rep.compare(f"{name}: {q.decode()}",
                        rawimap.numbers(r.command(q)[0], b"SEARCH"),
                        rawimap.numbers(c.command(q)[0], b"SEARCH"), ctx)
        q = b"SEARCH CHARSET UTF-8 TEXT \x00"
        lit = ["Grüße".encode()]
        rep.compare(f"{name}: SEARCH CHARSET UTF-8 TEXT Grüße",
                    rawimap.numbers(r.command(q, lit)[0], b"SEARCH"),
                    rawimap.numbers(c.command(q, lit)[0], b"SEARCH"), ctx)
    rep.check("search")


def test_sort(pair):
    rep = Report(pair)
    for name, r, c in each_box(pair):
        ctx = Ctx(box=box_messages(pair, name))
        for key in SORT_KEYS:
            for crit in (key, b"REVERSE " + key):
                q = b"SORT (" + crit + b") UTF-8 ALL"
                rep.compare(f"{name}: {q.decode()}",
                            rawimap.numbers(r.command(q)[0], b"SORT"),
                            rawimap.numbers(c.command(q)[0], b"SORT"), ctx)
        q = b"SORT (SUBJECT REVERSE DATE FROM) UTF-8 UNSEEN"
        rep.compare(f"{name}: {q.decode()}",
                    rawimap.numbers(r.command(q)[0], b"SORT"),
                    rawimap.numbers(c.command(q)[0], b"SORT"), ctx)
    rep.check("sort")


@pytest.mark.parametrize("algorithm", THREAD_ALGORITHMS)
def test_thread(pair, algorithm):
    rep = Report(pair)
    for name, r, c in each_box(pair):
        ctx = Ctx(box=box_messages(pair, name))
        for crit in (b"ALL", b"SEEN"):
            q = b"THREAD " + algorithm + b" UTF-8 " + crit
            rep.compare(f"{name}: {q.decode()}",
                        rawimap.thread(r.command(q)[0]),
                        rawimap.thread(c.command(q)[0]), ctx)
    rep.check(f"thread-{algorithm.decode().lower()}")
