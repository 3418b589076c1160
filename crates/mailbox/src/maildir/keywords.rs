//! Keyword files: Courier's `courierimapkeywords/` (read and written) and
//! Dovecot's `dovecot-keywords` (read on import).
//!
//! `courierimapkeywords/:list` holds the keyword names, one per line, then an
//! empty line, then `<base>:<index> <index> ...` lines. Courier also leaves
//! per-message update files in the same directory: `<base>` or
//! `.<n>.<base>` (highest `n` wins, a plain `<base>` beats all), each holding
//! the message's complete keyword list, one per line. They are applied on
//! top of `:list` when read.
//!
//! `dovecot-keywords` has `<index> <keyword>` lines; index 0 is the letter
//! `a` in file names.

use std::collections::BTreeMap;

/// Most keyword names read from one file (Dovecot allows 26 letters; Courier
/// has no limit, this bounds memory for hostile files).
const MAX_KEYWORDS: usize = 4096;
/// Longest keyword name accepted.
const MAX_KEYWORD_LEN: usize = 512;

/// Keywords per message base name, as read from or written to
/// `courierimapkeywords/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CourierKeywords {
    /// Message base name → its keywords (each name as stored).
    pub by_base: BTreeMap<String, Vec<String>>,
}

impl CourierKeywords {
    /// Parses a `:list` file. Malformed lines are skipped; indexes past the
    /// list of names are ignored.
    pub fn parse_list(bytes: &[u8]) -> CourierKeywords {
        let mut names: Vec<String> = Vec::new();
        let mut out = CourierKeywords::default();
        let mut lines = bytes.split(|&b| b == b'\n');
        for line in lines.by_ref() {
            if line.is_empty() {
                break;
            }
            if names.len() < MAX_KEYWORDS {
                // Keep the index positions even for a name we cannot use.
                names.push(valid_keyword(line).unwrap_or_default());
            }
        }
        for line in lines {
            let Ok(line) = std::str::from_utf8(line) else {
                continue;
            };
            let Some((base, idx)) = line.rsplit_once(':') else {
                continue;
            };
            if base.is_empty() || base.contains('/') {
                continue;
            }
            let mut kws: Vec<String> = Vec::new();
            for i in idx.split_ascii_whitespace() {
                if let Some(name) = i.parse::<usize>().ok().and_then(|i| names.get(i)) {
                    if !name.is_empty() && !kws.iter().any(|k| k.eq_ignore_ascii_case(name)) {
                        kws.push(name.clone());
                    }
                }
            }
            if !kws.is_empty() {
                out.by_base.insert(base.to_owned(), kws);
            }
        }
        out
    }

    /// Applies Courier's per-message update files: `files` holds
    /// `(file name, contents)` for every entry of the directory other than
    /// `:list`.
    pub fn apply_updates(&mut self, files: &[(String, Vec<u8>)]) {
        // base -> (rank, contents index); rank u64::MAX for a plain base.
        let mut best: BTreeMap<&str, (u64, usize)> = BTreeMap::new();
        for (i, (name, _)) in files.iter().enumerate() {
            let (rank, base) = match name.strip_prefix('.') {
                Some(rest) => match rest.split_once('.') {
                    Some((n, base)) if !base.is_empty() => match n.parse::<u64>() {
                        Ok(n) => (n, base),
                        Err(_) => continue,
                    },
                    _ => continue,
                },
                None => (u64::MAX, name.as_str()),
            };
            if name.starts_with(':') {
                continue;
            }
            let e = best.entry(base).or_insert((rank, i));
            if rank >= e.0 {
                *e = (rank, i);
            }
        }
        for (base, (_, i)) in best {
            let kws = parse_names(&files[i].1);
            if kws.is_empty() {
                self.by_base.remove(base);
            } else {
                self.by_base.insert(base.to_owned(), kws);
            }
        }
    }

    /// Serializes as a `:list` file: the names in first-use order, an empty
    /// line, then one line per message base with its indexes.
    pub fn to_list_bytes(&self) -> Vec<u8> {
        let mut names: Vec<&str> = Vec::new();
        let mut lines = Vec::new();
        for (base, kws) in &self.by_base {
            let mut idx = Vec::new();
            for k in kws {
                let i = match names.iter().position(|n| *n == k.as_str()) {
                    Some(i) => i,
                    None => {
                        names.push(k);
                        names.len() - 1
                    }
                };
                idx.push(i.to_string());
            }
            if !idx.is_empty() {
                lines.push(format!("{base}:{}\n", idx.join(" ")));
            }
        }
        let mut out = Vec::new();
        for n in &names {
            out.extend_from_slice(n.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        for l in lines {
            out.extend_from_slice(l.as_bytes());
        }
        out
    }
}

/// Parses `dovecot-keywords`: index → name. Indexes outside `0..26` and
/// malformed lines are ignored.
pub fn parse_dovecot_keywords(bytes: &[u8]) -> BTreeMap<u8, String> {
    let mut out = BTreeMap::new();
    for line in bytes.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some((i, name)) = line.split_once(' ') else {
            continue;
        };
        let Ok(i) = i.parse::<u8>() else { continue };
        if i < 26 {
            if let Some(name) = valid_keyword(name.trim_end_matches('\r').as_bytes()) {
                out.insert(b'a' + i, name);
            }
        }
    }
    out
}

fn parse_names(bytes: &[u8]) -> Vec<String> {
    let mut kws: Vec<String> = Vec::new();
    for line in bytes.split(|&b| b == b'\n').take(MAX_KEYWORDS) {
        if let Some(k) = valid_keyword(line) {
            if !kws.iter().any(|x| x.eq_ignore_ascii_case(&k)) {
                kws.push(k);
            }
        }
    }
    kws
}

/// A keyword name as IMAP allows it: a non-empty atom (RFC 3501 §9 `flag-keyword`).
pub(crate) fn valid_keyword(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() || bytes.len() > MAX_KEYWORD_LEN {
        return None;
    }
    let ok = bytes.iter().all(|&b| {
        (0x21..0x7f).contains(&b)
            && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
    });
    if ok {
        // All bytes are ASCII, so this is valid UTF-8.
        String::from_utf8(bytes.to_vec()).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_round_trip() {
        let text = b"$Junk\nwork\n\n100.a:0 1\n101.b:1\n";
        let k = CourierKeywords::parse_list(text);
        assert_eq!(k.by_base["100.a"], vec!["$Junk", "work"]);
        assert_eq!(k.by_base["101.b"], vec!["work"]);
        assert_eq!(CourierKeywords::parse_list(&k.to_list_bytes()), k);
    }

    #[test]
    fn updates_override_list() {
        let mut k = CourierKeywords::parse_list(b"a\nb\n\nm1:0\nm2:1\n");
        k.apply_updates(&[
            (".3.m1".into(), b"x\ny\n".to_vec()),
            (".5.m1".into(), b"z\n".to_vec()),
            ("m2".into(), b"".to_vec()),
            (".9.m2".into(), b"q\n".to_vec()),
        ]);
        assert_eq!(k.by_base["m1"], vec!["z"]);
        assert!(!k.by_base.contains_key("m2"));
    }

    #[test]
    fn dovecot_keywords() {
        let m = parse_dovecot_keywords(b"0 $Forwarded\n1 Junk\n30 far\nbad\n");
        assert_eq!(m[&b'a'], "$Forwarded");
        assert_eq!(m[&b'b'], "Junk");
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn bad_index_and_names_skipped() {
        let k = CourierKeywords::parse_list(b"ok\nbad name\n\nm:0 1 7 x\n");
        assert_eq!(k.by_base["m"], vec!["ok"]);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let mut k = CourierKeywords::parse_list(&bytes);
            k.apply_updates(&[(".1.x".into(), bytes.clone()), (String::from_utf8_lossy(&bytes).into_owned(), bytes.clone())]);
            let _ = parse_dovecot_keywords(&bytes);
        }
    }
}
