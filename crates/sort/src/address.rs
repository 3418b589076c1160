//! The `addr-mailbox` of the first address of From, To or Cc (RFC 5256 §3
//! via RFC 3501 §7.4.2).

use crate::lex::{atom_len, quoted_string, skip_cfws};

/// RFC 5322 §3.2.3 specials.
const SPECIALS: &[u8] = b"()<>[]:;@\\,.\"";

/// Returns the IMAP `addr-mailbox` of the first address in a raw From, To or
/// Cc header value: the local part with quoting removed, not the domain.
///
/// For a group (`team: a@x, b@y;`) the first ENVELOPE address is the group
/// start marker, whose mailbox is the group name (RFC 3501 §7.4.2), so that
/// is returned. An empty or unparsable value gives the empty string, which
/// sorts first (RFC 5256 §3). The result is not casemapped.
///
/// ```
/// use postroom_sort::first_mailbox;
/// assert_eq!(first_mailbox(b"\"Zed\" <Alpha@x>, b@y"), b"Alpha");
/// assert_eq!(first_mailbox(b"user2: blah@domain1.org;"), b"user2");
/// assert_eq!(first_mailbox(b"[x]@y"), b"");
/// ```
pub fn first_mailbox(raw: &[u8]) -> Vec<u8> {
    parse(raw).unwrap_or_default()
}

enum Token {
    Word(Vec<u8>),
    Special(u8),
}

fn next_token(s: &[u8], i: &mut usize) -> Option<Token> {
    *i = skip_cfws(s, *i);
    let b = *s.get(*i)?;
    if b == b'"' {
        let mut w = Vec::new();
        *i = quoted_string(s, *i, &mut w)?;
        return Some(Token::Word(w));
    }
    let n = atom_len(s, *i, SPECIALS);
    if n == 0 {
        *i += 1;
        return Some(Token::Special(b));
    }
    let w = s[*i..*i + n].to_vec();
    *i += n;
    Some(Token::Word(w))
}

fn parse(s: &[u8]) -> Option<Vec<u8>> {
    let mut i = 0;
    // Words seen so far: a phrase (display name / group name) or a local part.
    let mut words: Vec<u8> = Vec::new();
    let mut phrase: Vec<u8> = Vec::new();
    loop {
        match next_token(s, &mut i) {
            None => return Some(words),
            // Leading empty list members (obs-addr-list) are skipped.
            Some(Token::Special(b',')) if words.is_empty() => {}
            Some(Token::Special(b',')) => return Some(words),
            Some(Token::Word(w)) => {
                if !phrase.is_empty() {
                    phrase.push(b' ');
                }
                phrase.extend_from_slice(&w);
                words.extend_from_slice(&w);
            }
            Some(Token::Special(b'.')) => {
                phrase.push(b'.');
                words.push(b'.');
            }
            Some(Token::Special(b'@')) => return Some(words),
            // Group: the name is the phrase before the colon.
            Some(Token::Special(b':')) => return Some(phrase),
            Some(Token::Special(b'<')) => return angle_addr(s, i),
            Some(Token::Special(_)) => return None,
        }
    }
}

/// After `<`: an optional obsolete route (`@a,@b:`), then the local part.
fn angle_addr(s: &[u8], mut i: usize) -> Option<Vec<u8>> {
    let mut local = Vec::new();
    let save = i;
    if let Some(Token::Special(b'@')) = next_token(s, &mut i) {
        // obs-route: skip to the colon.
        loop {
            match next_token(s, &mut i)? {
                Token::Special(b':') => break,
                Token::Special(b'>') => return Some(Vec::new()),
                _ => {}
            }
        }
    } else {
        i = save;
    }
    loop {
        match next_token(s, &mut i)? {
            Token::Word(w) => local.extend_from_slice(&w),
            Token::Special(b'.') => local.push(b'.'),
            Token::Special(b'@') | Token::Special(b'>') => return Some(local),
            Token::Special(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let table: &[(&[u8], &[u8])] = &[
            (b"user2@domain2.org", b"user2"),
            (b"foo bar <user2@domain2.org>", b"user2"),
            (b"user2@domain2.org (foo bar)", b"user2"),
            (b"user2: blah@domain1.org;", b"user2"),
            (b"\"Zed\" <Alpha@x>", b"Alpha"),
            (b"=?utf-8?q?B=C3=A9b=C3=A9?= <bebe@x>", b"bebe"),
            (b"undisclosed-recipients:;", b"undisclosed-recipients"),
            (b"", b""),
            (b"   ", b""),
            (b"_under@x", b"_under"),
            (b"[x]@y", b""),
            (b"\"a b\\\"c\"@x", b"a b\"c"),
            (b"first.last@x", b"first.last"),
            (b"<@route1,@route2:who@x>", b"who"),
            (b", , a@x", b"a"),
            (b"a@x, b@y", b"a"),
            (b"(comment) Name (c2) <l@x>", b"l"),
            (b"localonly", b"localonly"),
            (b"<>", b""),
            (b"My Team: ;", b"My Team"),
            (b"\"unterminated", b""),
            (b"a\r\n b <c@d>", b"c"),
        ];
        for (raw, want) in table {
            assert_eq!(
                first_mailbox(raw),
                *want,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn deep_comment_is_fine() {
        let mut s = b"(".repeat(100_000);
        s.extend_from_slice(&b")".repeat(100_000));
        s.extend_from_slice(b" a@b");
        assert_eq!(first_mailbox(&s), b"a");
    }
}
