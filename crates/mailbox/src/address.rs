//! RFC 5322 address lists as ENVELOPE wants them (RFC 3501 §7.4.2):
//! names and local parts unquoted, source routes kept, groups marked with
//! `(NIL NIL name NIL)` … `(NIL NIL NIL NIL)`. Encoded words stay encoded.

use postroom_types::Address;

/// Most addresses taken from one header (bounds output for hostile input).
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Atom(Vec<u8>),
    Quoted(Vec<u8>),
    Comment(Vec<u8>),
    Literal(Vec<u8>),
    Special(u8),
}

fn tokenize(v: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                while i < v.len() && v[i] != b'"' {
                    if v[i] == b'\\' && i + 1 < v.len() {
                        i += 1;
                    }
                    if v[i] != b'\r' && v[i] != b'\n' {
                        s.push(v[i]);
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Quoted(s));
            }
            b'(' => {
                let mut depth = 0usize;
                let mut s = Vec::new();
                while i < v.len() {
                    match v[i] {
                        b'\\' if i + 1 < v.len() => {
                            s.push(v[i + 1]);
                            i += 2;
                            continue;
                        }
                        b'(' => {
                            depth += 1;
                            if depth > 1 {
                                s.push(b'(');
                            }
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                            s.push(b')');
                        }
                        b => s.push(b),
                    }
                    i += 1;
                }
                out.push(Tok::Comment(s));
            }
            b'[' => {
                let mut s = vec![b'['];
                i += 1;
                while i < v.len() && v[i] != b']' {
                    s.push(v[i]);
                    i += 1;
                }
                s.push(b']');
                i += 1;
                out.push(Tok::Literal(s));
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' | b'.' => {
                out.push(Tok::Special(c));
                i += 1;
            }
            _ => {
                let s = i;
                while i < v.len() && !b" \t\r\n\"(<>@,;:.[".contains(&v[i]) {
                    i += 1;
                }
                out.push(Tok::Atom(v[s..i].to_vec()));
            }
        }
    }
    out
}

/// Parses an address list header value.
pub(crate) fn parse_address_list(v: &[u8]) -> Vec<Address> {
    let toks = tokenize(v);
    let mut out: Vec<Address> = Vec::new();
    let mut phrase: Vec<Tok> = Vec::new();
    let mut in_group = false;
    let mut i = 0;
    while i < toks.len() && out.len() < MAX_ADDRESSES {
        match &toks[i] {
            Tok::Special(b':')
                if !phrase.is_empty() && !in_group && !phrase.contains(&Tok::Special(b'@')) =>
            {
                out.push(Address {
                    name: None,
                    adl: None,
                    mailbox: Some(phrase_text(&phrase)),
                    host: None,
                });
                phrase.clear();
                in_group = true;
                i += 1;
            }
            Tok::Special(b'<') => {
                let name = phrase_text(&phrase);
                phrase.clear();
                i += 1;
                let mut inner = Vec::new();
                while i < toks.len() && toks[i] != Tok::Special(b'>') {
                    inner.push(toks[i].clone());
                    i += 1;
                }
                i += 1;
                // Anything after `>` up to the next address is ignored.
                while i < toks.len() && !matches!(toks[i], Tok::Special(b',') | Tok::Special(b';'))
                {
                    i += 1;
                }
                let name = (!name.is_empty()).then_some(name);
                out.push(angle_address(&inner, name));
            }
            Tok::Special(b',') => {
                flush_plain(&mut phrase, &mut out);
                i += 1;
            }
            Tok::Special(b';') => {
                flush_plain(&mut phrase, &mut out);
                if in_group {
                    out.push(Address::default());
                    in_group = false;
                }
                i += 1;
            }
            t => {
                phrase.push(t.clone());
                i += 1;
            }
        }
    }
    flush_plain(&mut phrase, &mut out);
    if in_group {
        out.push(Address::default());
    }
    out
}

/// A bare `local@domain (comment)`: the comment is the name.
fn flush_plain(toks: &mut Vec<Tok>, out: &mut Vec<Address>) {
    if toks.iter().all(|t| matches!(t, Tok::Comment(_))) {
        toks.clear();
        return;
    }
    let name = toks.iter().find_map(|t| match t {
        Tok::Comment(c) if !c.is_empty() => Some(trim(c).to_vec()),
        _ => None,
    });
    let spec: Vec<Tok> = toks
        .iter()
        .filter(|t| !matches!(t, Tok::Comment(_)))
        .cloned()
        .collect();
    toks.clear();
    // Words side by side without `@` can only be a display name (RFC 5322
    // §3.2.5 phrase): a local part joins words with dots (§3.4.1). The
    // address part is missing, as in `From: Some One`.
    let is_word = |t: &Tok| matches!(t, Tok::Atom(_) | Tok::Quoted(_));
    let phrase_only = !spec.contains(&Tok::Special(b'@'))
        && spec.windows(2).any(|w| is_word(&w[0]) && is_word(&w[1]));
    if phrase_only {
        out.push(Address {
            name: Some(phrase_text(&spec)),
            adl: None,
            mailbox: Some(b"MISSING_MAILBOX".to_vec()),
            host: Some(b"MISSING_DOMAIN".to_vec()),
        });
        return;
    }
    out.push(addr_spec(&spec, name, None));
}

fn angle_address(inner: &[Tok], name: Option<Vec<u8>>) -> Address {
    let inner: Vec<Tok> = inner
        .iter()
        .filter(|t| !matches!(t, Tok::Comment(_)))
        .cloned()
        .collect();
    // Source route: `@a,@b:` before the addr-spec.
    let (adl, spec) = match inner.iter().position(|t| *t == Tok::Special(b':')) {
        Some(p) if inner.first() == Some(&Tok::Special(b'@')) => {
            (Some(concat(&inner[..p])), &inner[p + 1..])
        }
        _ => (None, &inner[..]),
    };
    addr_spec(spec, name, adl)
}

fn addr_spec(spec: &[Tok], name: Option<Vec<u8>>, adl: Option<Vec<u8>>) -> Address {
    let (local, domain) = match spec.iter().rposition(|t| *t == Tok::Special(b'@')) {
        Some(p) => (concat(&spec[..p]), Some(concat(&spec[p + 1..]))),
        None => (concat(spec), None),
    };
    Address {
        name,
        adl,
        // Dovecot's spelling for missing parts, so host NIL keeps meaning
        // a group marker.
        mailbox: Some(if local.is_empty() {
            b"MISSING_MAILBOX".to_vec()
        } else {
            local
        }),
        host: Some(match domain {
            Some(d) if !d.is_empty() => d,
            _ => b"MISSING_DOMAIN".to_vec(),
        }),
    }
}

fn concat(toks: &[Tok]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in toks {
        match t {
            Tok::Atom(a) | Tok::Quoted(a) | Tok::Literal(a) => out.extend_from_slice(a),
            Tok::Special(c) => out.push(*c),
            Tok::Comment(_) => {}
        }
    }
    out
}

/// Phrase words joined by single spaces, quotes removed.
fn phrase_text(toks: &[Tok]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in toks {
        let w: &[u8] = match t {
            Tok::Atom(a) | Tok::Quoted(a) => a,
            Tok::Special(b'.') => b".",
            _ => continue,
        };
        if !out.is_empty() && w != b"." {
            out.push(b' ');
        }
        out.extend_from_slice(w);
    }
    out
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |p| p + 1);
    &b[s..e]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(
        name: Option<&str>,
        adl: Option<&str>,
        mailbox: Option<&str>,
        host: Option<&str>,
    ) -> Address {
        let b = |s: Option<&str>| s.map(|s| s.as_bytes().to_vec());
        Address {
            name: b(name),
            adl: b(adl),
            mailbox: b(mailbox),
            host: b(host),
        }
    }

    #[test]
    fn imaptest_vectors() {
        assert_eq!(
            parse_address_list(b"user@domain (Real Name)"),
            vec![a(Some("Real Name"), None, Some("user"), Some("domain"))]
        );
        assert_eq!(
            parse_address_list(b"group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;"),
            vec![
                a(None, None, Some("group"), None),
                a(None, None, Some("g1"), Some("d1.org")),
                a(None, None, Some("g2"), Some("d2.org")),
                a(None, None, None, None),
                a(None, None, Some("group2"), None),
                a(None, None, Some("g3"), Some("d3.org")),
                a(None, None, None, None),
            ]
        );
        assert_eq!(
            parse_address_list(b"group:;, group2: (foo) ;"),
            vec![
                a(None, None, Some("group"), None),
                a(None, None, None, None),
                a(None, None, Some("group2"), None),
                a(None, None, None, None),
            ]
        );
        assert_eq!(
            parse_address_list(b"<@route:user@domain>"),
            vec![a(None, Some("@route"), Some("user"), Some("domain"))]
        );
    }

    #[test]
    fn words_without_address_are_a_name() {
        // RFC 5322 §3.2.5, §3.4.1: `Someone Else` is a phrase, not a
        // local part (which would join its words with dots).
        assert_eq!(
            parse_address_list(b"Someone Else"),
            vec![a(
                Some("Someone Else"),
                None,
                Some("MISSING_MAILBOX"),
                Some("MISSING_DOMAIN")
            )]
        );
        assert_eq!(
            parse_address_list(b"first.last"),
            vec![a(None, None, Some("first.last"), Some("MISSING_DOMAIN"))]
        );
    }

    #[test]
    fn phrases_and_quotes() {
        assert_eq!(
            parse_address_list(b"\"Doe, John\" <john@x.org>, =?utf-8?q?J=C3=B6rg?= <j@y>"),
            vec![
                a(Some("Doe, John"), None, Some("john"), Some("x.org")),
                a(Some("=?utf-8?q?J=C3=B6rg?="), None, Some("j"), Some("y")),
            ]
        );
        assert_eq!(
            parse_address_list(b"\"a b\"@example.com"),
            vec![a(None, None, Some("a b"), Some("example.com"))]
        );
        assert_eq!(
            parse_address_list(b"undisclosed"),
            vec![a(None, None, Some("undisclosed"), Some("MISSING_DOMAIN"))]
        );
        assert!(parse_address_list(b"").is_empty());
        assert_eq!(
            parse_address_list(b"Joe Q. Public <john.q.public@example.com>"),
            vec![a(
                Some("Joe Q. Public"),
                None,
                Some("john.q.public"),
                Some("example.com")
            )]
        );
        assert_eq!(
            parse_address_list(b"Undisclosed recipients:;"),
            vec![
                a(None, None, Some("Undisclosed recipients"), None),
                a(None, None, None, None)
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(v in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse_address_list(&v);
        }
    }
}
