//! Maildir file names: `<base>[,S=<size>][,W=<vsize>]:2,<flags>`.
//!
//! The base (everything before the last `:`) identifies a message for its
//! whole life; the info part after `:2,` carries the flags as single letters
//! in ASCII order (`D`raft, `F`lagged, `P`assed, `R`eplied, `S`een,
//! `T`rashed). Dovecot writes keywords as lowercase letters `a`–`z` indexing
//! `dovecot-keywords`; those are read on import only.

/// System flag bits kept in a Maildir file name.
pub(crate) const DRAFT: u8 = 1;
pub(crate) const FLAGGED: u8 = 2;
pub(crate) const ANSWERED: u8 = 4;
pub(crate) const SEEN: u8 = 8;
pub(crate) const DELETED: u8 = 16;

/// A parsed Maildir file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MaildirName {
    /// Everything before the last `:` (the part Courier's UID file stores).
    pub(crate) base: String,
    /// The `S=` field: the size of the file in octets.
    pub(crate) size: Option<u64>,
    /// The `W=` field: the size with CRLF line ends (Dovecot).
    pub(crate) vsize: Option<u64>,
    /// System flag bits from the `:2,` info.
    pub(crate) system: u8,
    /// Other uppercase letters (e.g. `P`), kept so a rename does not drop them.
    pub(crate) other_upper: Vec<u8>,
    /// Lowercase Dovecot keyword letters (`a` = index 0).
    pub(crate) dovecot_letters: Vec<u8>,
    /// Whether the name had a `:2,` info part at all.
    pub(crate) has_info: bool,
}

/// What a folder scan needs of a file name, read without allocating: the
/// `S=` and `W=` sizes and the system flags, as [`MaildirName::parse`]
/// finds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NameFields {
    /// The `S=` field.
    pub(crate) size: Option<u64>,
    /// The `W=` field.
    pub(crate) vsize: Option<u64>,
    /// System flag bits from the `:2,` info.
    pub(crate) system: u8,
}

impl NameFields {
    /// Reads the fields of any file name (never fails).
    pub(crate) fn of(name: &str) -> NameFields {
        let (base, system) = MaildirName::base_and_flags(name);
        let (size, vsize) = sizes(base);
        NameFields {
            size,
            vsize,
            system,
        }
    }
}

/// The `S=` and `W=` fields of a base name.
fn sizes(base: &str) -> (Option<u64>, Option<u64>) {
    let mut size = None;
    let mut vsize = None;
    for field in base.split(',').skip(1) {
        if let Some(v) = field.strip_prefix("S=") {
            size = v.parse::<u64>().ok();
        } else if let Some(v) = field.strip_prefix("W=") {
            vsize = v.parse::<u64>().ok();
        }
    }
    (size, vsize)
}

impl MaildirName {
    /// Parses any file name; never fails (unknown shapes keep their base).
    pub(crate) fn parse(name: &str) -> MaildirName {
        let (base, info) = match name.rfind(':') {
            Some(i) => (&name[..i], Some(&name[i + 1..])),
            None => (name, None),
        };
        let (size, vsize) = sizes(base);
        let mut other_upper = Vec::new();
        let mut dovecot_letters = Vec::new();
        let letters = info.and_then(flag_letters);
        let has_info = letters.is_some();
        let system = system_bits(letters.unwrap_or(""));
        for b in letters.unwrap_or("").bytes() {
            match b {
                b'D' | b'F' | b'R' | b'S' | b'T' => {}
                b'A'..=b'Z' if !other_upper.contains(&b) => other_upper.push(b),
                b'a'..=b'z' if !dovecot_letters.contains(&b) => dovecot_letters.push(b),
                _ => {}
            }
        }
        MaildirName {
            base: base.to_owned(),
            size,
            vsize,
            system,
            other_upper,
            dovecot_letters,
            has_info,
        }
    }

    /// The base of a name (everything before the last `:`), as
    /// [`MaildirName::parse`] finds it, without allocating.
    pub(crate) fn base(name: &str) -> &str {
        name.rfind(':').map_or(name, |i| &name[..i])
    }

    /// The base and the system flag bits of a name, as [`MaildirName::parse`]
    /// finds them, without allocating (the warm open of a large folder).
    pub(crate) fn base_and_flags(name: &str) -> (&str, u8) {
        match name.rfind(':') {
            Some(i) => (
                &name[..i],
                flag_letters(&name[i + 1..]).map_or(0, system_bits),
            ),
            None => (name, 0),
        }
    }

    /// The file name for `cur/` with the given system flags: the base, then
    /// `:2,` and the flag letters in ASCII order. Dovecot keyword letters are
    /// not written back: keywords live in `courierimapkeywords/`.
    pub(crate) fn cur_name(&self, system: u8) -> String {
        let mut letters: Vec<u8> = self.other_upper.clone();
        for (bit, l) in [
            (DRAFT, b'D'),
            (FLAGGED, b'F'),
            (ANSWERED, b'R'),
            (SEEN, b'S'),
            (DELETED, b'T'),
        ] {
            if system & bit != 0 {
                letters.push(l);
            }
        }
        letters.sort_unstable();
        letters.dedup();
        let mut out = String::with_capacity(self.base.len() + 4 + letters.len());
        out.push_str(&self.base);
        out.push_str(":2,");
        // Only ASCII letters were pushed above.
        out.extend(letters.iter().map(|&b| b as char));
        out
    }
}

/// The flag letters of an info part: after `2,`, up to a `,` (Dovecot
/// may append `,<extra>` after the letters).
fn flag_letters(info: &str) -> Option<&str> {
    let flags = info.strip_prefix("2,")?;
    Some(flags.split(',').next().unwrap_or(""))
}

/// The system flag bits among flag letters.
fn system_bits(letters: &str) -> u8 {
    letters.bytes().fold(0, |bits, b| {
        bits | match b {
            b'D' => DRAFT,
            b'F' => FLAGGED,
            b'R' => ANSWERED,
            b'S' => SEEN,
            b'T' => DELETED,
            _ => 0,
        }
    })
}

/// Whether a directory entry name can be a message: not hidden, and with
/// a base the UID file can hold (not empty, no line break), or the file
/// would get a new UID at every scan.
pub(crate) fn is_message_name(name: &str) -> bool {
    !name.starts_with('.') && !MaildirName::base(name).is_empty() && !name.contains('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_and_flags() {
        let n = MaildirName::parse("1795634785.M866944P22988.vm,S=314,W=317:2,FRSab");
        assert_eq!(n.base, "1795634785.M866944P22988.vm,S=314,W=317");
        assert_eq!(n.size, Some(314));
        assert_eq!(n.vsize, Some(317));
        assert_eq!(n.system, FLAGGED | ANSWERED | SEEN);
        assert_eq!(n.dovecot_letters, b"ab");
        assert!(n.has_info);
    }

    #[test]
    fn names_without_info() {
        let n = MaildirName::parse("123.abc.host");
        assert_eq!(n.base, "123.abc.host");
        assert!(!n.has_info);
        assert_eq!(n.cur_name(0), "123.abc.host:2,");
    }

    #[test]
    fn cur_name_sorts_letters_and_keeps_unknown_upper() {
        let n = MaildirName::parse("b:2,PSa");
        assert_eq!(
            n.cur_name(SEEN | DELETED | DRAFT | FLAGGED | ANSWERED),
            "b:2,DFPRST"
        );
        assert_eq!(n.cur_name(0), "b:2,P");
    }

    #[test]
    fn dovecot_extra_after_letters() {
        let n = MaildirName::parse("b:2,S,extra");
        assert_eq!(n.system, SEEN);
    }

    #[test]
    fn base_and_flags_agree_with_parse() {
        for s in [
            "1.M1P1.h,S=12,X=y,W=14:2,S",
            "1.M1P1.h,S=x:2,",
            "1795634785.M866944P22988.vm,S=314,W=317:2,FRSab",
            "123.abc.host",
            "b:2,S,extra",
            "b:2,TDP",
            "b:1,S",
            "",
            ":2,",
        ] {
            let n = MaildirName::parse(s);
            assert_eq!(
                MaildirName::base_and_flags(s),
                (n.base.as_str(), n.system),
                "{s}"
            );
            let f = NameFields::of(s);
            assert_eq!(
                (f.size, f.vsize, f.system),
                (n.size, n.vsize, n.system),
                "{s}"
            );
        }
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "",
            ":",
            ":2,",
            "::::",
            ",S=,W=x:2,\u{e9}",
            "a,S=99999999999999999999999",
        ] {
            let _ = MaildirName::parse(s);
        }
    }
}
