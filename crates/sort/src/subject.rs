//! Base subject extraction (RFC 5256 §2.1).

use crate::rfc2047::decode_encoded_words;

/// The base subject of a message and whether extraction found it to be a
/// reply or forward (RFC 5256 §2.1, used by THREAD=REFERENCES step 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseSubject {
    /// The base subject: decoded, whitespace-normalised, not yet casemapped.
    /// Usually UTF-8; raw 8-bit header bytes that are not UTF-8 are kept.
    pub text: Vec<u8>,
    /// True when extraction removed a `subj-refwd` (`Re:`, `Fwd:`, `Fw:`), a
    /// `(fwd)` trailer or a `[fwd: ...]` wrapper. Removing only white space
    /// or `[blob]`s does not make a reply.
    pub is_reply_or_forward: bool,
}

/// Extracts the base subject from a raw Subject header value, following
/// RFC 5256 §2.1 step by step:
///
/// 1. decode RFC 2047 encoded words, turn tabs and line breaks into spaces and
///    collapse runs of spaces;
/// 2. remove trailing `(fwd)` and white space, repeatedly;
/// 3. remove a leading `subj-leader` (white space, or blobs then
///    `re`/`fw`/`fwd`, white space, an optional blob and `:`);
/// 4. remove a leading `[blob]` if text remains after it;
/// 5. repeat 3 and 4;
/// 6. unwrap `[fwd: ... ]` and go back to 2.
///
/// Matching is ASCII case-insensitive, as ABNF strings are (RFC 5234).
///
/// ```
/// use postroom_sort::base_subject;
/// let b = base_subject(b"[list] Re: [Fwd: Re[2]: Lunch?] (fwd)");
/// assert_eq!(b.text, b"Lunch?");
/// assert!(b.is_reply_or_forward);
/// assert_eq!(base_subject(b"[x] [y]").text, b"[y]");
/// ```
pub fn base_subject(raw: &[u8]) -> BaseSubject {
    let decoded = decode_encoded_words(raw);
    // Step 1: white space. Only SP and HTAB are WSP; CR and LF appear only
    // in folding, which becomes a space too.
    let mut s = Vec::with_capacity(decoded.len());
    for &b in &decoded {
        let b = if matches!(b, b'\t' | b'\r' | b'\n') {
            b' '
        } else {
            b
        };
        if b == b' ' && s.last() == Some(&b' ') {
            continue;
        }
        s.push(b);
    }
    let (start, end, refwd) = extract(&s);
    s.truncate(end);
    s.drain(..start);
    BaseSubject {
        text: s,
        is_reply_or_forward: refwd,
    }
}

/// Steps 2–6 on a whitespace-normalised string: the bounds of the base
/// subject and the reply/forward flag. Each pass removes at least one byte,
/// so the loops end.
fn extract(s: &[u8]) -> (usize, usize, bool) {
    let mut start = 0;
    let mut end = s.len();
    let mut refwd = false;
    loop {
        // Step 2: subj-trailer = "(fwd)" / WSP, repeatedly.
        loop {
            let t = &s[start..end];
            if t.last() == Some(&b' ') {
                end -= 1;
            } else if t.len() >= 5 && t[t.len() - 5..].eq_ignore_ascii_case(b"(fwd)") {
                end -= 5;
                refwd = true;
            } else {
                break;
            }
        }
        // Steps 3–5.
        loop {
            let t = &s[start..end];
            if t.first() == Some(&b' ') {
                start += 1;
                continue;
            }
            match leader(t) {
                Ok(n) => {
                    start += n;
                    refwd = true;
                    continue;
                }
                // Step 4, repeated: leader() failed after the same run of
                // blobs each time, so drop the whole run at once (keeping
                // the last blob if nothing follows it), which keeps this
                // linear in the number of blobs.
                Err(Some(run)) => {
                    if run.end < t.len() {
                        start += run.end;
                    } else if run.last_start > 0 {
                        start += run.last_start;
                    } else {
                        break;
                    }
                }
                Err(None) => break,
            }
        }
        // Step 6: subj-fwd-hdr ... subj-fwd-trl.
        let t = &s[start..end];
        if t.len() >= 6 && t[..5].eq_ignore_ascii_case(b"[fwd:") && t[t.len() - 1] == b']' {
            start += 5;
            end -= 1;
            refwd = true;
            continue;
        }
        return (start, end, refwd);
    }
}

/// A run of leading blobs: where it ends and where its last blob starts.
struct BlobRun {
    end: usize,
    last_start: usize,
}

/// Length of a `*subj-blob subj-refwd` prefix of `t`; if there is none, the
/// run of blobs that starts `t` (if any).
fn leader(t: &[u8]) -> Result<usize, Option<BlobRun>> {
    let mut i = 0;
    let mut last_start = None;
    while let Some(n) = blob(&t[i..]) {
        last_start = Some(i);
        i += n;
    }
    let run = last_start.map(|last_start| BlobRun { end: i, last_start });
    // subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
    let rest = &t[i..];
    if starts_with_ci(rest, b"re") {
        i += 2;
    } else if starts_with_ci(rest, b"fwd") {
        i += 3;
    } else if starts_with_ci(rest, b"fw") {
        i += 2;
    } else {
        return Err(run);
    }
    i += wsp(&t[i..]);
    if let Some(n) = blob(&t[i..]) {
        i += n;
    }
    if t.get(i) == Some(&b':') {
        Ok(i + 1)
    } else {
        Err(run)
    }
}

/// Length of a `subj-blob` prefix: `[` *BLOBCHAR `]` *WSP. Blobs do not nest.
fn blob(t: &[u8]) -> Option<usize> {
    if t.first() != Some(&b'[') {
        return None;
    }
    let close = t[1..].iter().position(|&b| b == b'[' || b == b']')? + 1;
    if t[close] != b']' {
        return None;
    }
    let after = close + 1;
    Some(after + wsp(&t[after..]))
}

fn wsp(t: &[u8]) -> usize {
    t.iter().take_while(|&&b| b == b' ' || b == b'\t').count()
}

fn starts_with_ci(t: &[u8], p: &[u8]) -> bool {
    t.len() >= p.len() && t[..p.len()].eq_ignore_ascii_case(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_edge_table() {
        // Spec digest §4.3: raw subject, base subject (casemapped), reply flag.
        let table: &[(&[u8], &[u8], bool)] = &[
            (b"foo", b"FOO", false),
            (b"Re: foo", b"FOO", true),
            (b"RE: FOO", b"FOO", true),
            (b"re:foo", b"FOO", true),
            (b"Re : foo", b"FOO", true),
            (b"Re[2]: foo", b"FOO", true),
            (b"Re: [list] foo", b"FOO", true),
            (b"[list] Re: foo", b"FOO", true),
            (b"Fwd: foo", b"FOO", true),
            (b"Fw: foo", b"FOO", true),
            (b"foo (fwd)", b"FOO", true),
            (b"[Fwd: foo]", b"FOO", true),
            (b"Re: [Fwd: Re: foo]", b"FOO", true),
            (b"foo   ", b"FOO", false),
            (b"  foo", b"FOO", false),
            (b"Re: Re: Re: foo", b"FOO", true),
            (b"foo (fwd) (fwd)", b"FOO", true),
            (b"[fwd: [x] foo]", b"FOO", true),
            (b"=?utf-8?q?Re=3A_foo?=", b"FOO", true),
            (b"Re:\tfoo", b"FOO", true),
            (b"Fwd: foo (fwd)", b"FOO", true),
            (b"Ad: foo", b"AD: FOO", false),
            (b"Re foo", b"RE FOO", false),
            (b"foo [bar]", b"FOO [BAR]", false),
            (b"[foo]", b"[FOO]", false),
            (b"Re:", b"", true),
            (b"[x] [y]", b"[Y]", false),
            (b"[x][y] foo", b"FOO", false),
            (b"Re: [Fwd: foo] (fwd)", b"FOO", true),
            (b"[Fwd: foo (fwd)]", b"FOO", true),
            (b"FWD : foo", b"FOO", true),
            (b"re:  [a]  [b]  foo", b"FOO", true),
            // imaptest thread-orderedsubject subjects.
            (b"[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", b"B", true),
            (b"b (a)", b"B (A)", false),
            (b"Re: [FWD: c]", b"C", true),
            (b"[xyz]", b"[XYZ]", false),
            (b"", b"", false),
            (b"=?iso-8859-1?q?_?=", b"", false),
            (b"Re: =?utf-8?q?b?=", b"B", true),
            (b"=?iso-8859-1?q?RE:_C?=", b"C", true),
            (b"=?us-ascii?b?UmU6IGM=?=", b"C", true),
            (b"Ad: Re: Ad: Re: Ad: x", b"AD: RE: AD: RE: AD: X", false),
            (b"re: [fwd: [fwd: re: [fwd: babylon]]]", b"BABYLON", true),
            // More corners.
            (b"[a[b]c] x", b"[A[B]C] X", false),
            (b"Re:\r\n  folded   subject", b"FOLDED SUBJECT", true),
            (b"[fwd:]", b"", true),
            (b"Fwd:[x]", b"[X]", true),
            (b"Re [x]: y", b"Y", true),
            (b"(fwd)", b"", true),
            (b"[x]", b"[X]", false),
            (b"Fwdx: y", b"FWDX: Y", false),
        ];
        for (raw, want, reply) in table {
            let b = base_subject(raw);
            assert_eq!(
                crate::casemap(&b.text),
                *want,
                "{}",
                String::from_utf8_lossy(raw)
            );
            assert_eq!(
                b.is_reply_or_forward,
                *reply,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn long_input_is_linear() {
        let mut s = Vec::new();
        for _ in 0..50_000 {
            s.extend_from_slice(b"Re: [x] ");
        }
        s.extend_from_slice(b"end");
        for _ in 0..50_000 {
            s.extend_from_slice(b" [y]");
        }
        for _ in 0..50_000 {
            s.extend_from_slice(b" (fwd)");
        }
        assert!(base_subject(&s).text.starts_with(b"end [y]"));
        let many_blobs = b"[a] ".repeat(100_000);
        assert_eq!(base_subject(&many_blobs).text, b"[a]");
        let mut blobs_then_text = b"[a]".repeat(100_000);
        blobs_then_text.extend_from_slice(b"Re: x");
        assert_eq!(base_subject(&blobs_then_text).text, b"x");
    }
}
