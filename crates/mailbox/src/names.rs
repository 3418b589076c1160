//! Mailbox names and their Maildir++ directories.
//!
//! The personal namespace is `INBOX.` with `.` as the hierarchy delimiter
//! (as Courier and Dovecot's Maildir++ layout): `INBOX` is the Maildir root
//! and `INBOX.A.B` is the directory `.A.B`. Every name is checked here
//! before a path is built from it, so no name can leave the user's root.

use postroom_types::{MailboxName, decode_modified_utf7, encode_modified_utf7};

use crate::error::{MailboxError, NameProblem, Result};

/// The hierarchy delimiter.
pub const DELIMITER: char = '.';
/// Longest directory name most file systems allow.
const MAX_DIR_NAME: usize = 255;
/// Deepest hierarchy accepted.
const MAX_LEVELS: usize = 64;

/// A validated folder: the levels under INBOX (empty for INBOX itself).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct FolderPath {
    pub(crate) levels: Vec<String>,
}

/// Checks a mailbox name and splits it into levels under INBOX.
///
/// Accepted: `INBOX` in any case, and `INBOX.<level>[.<level>...]` (the
/// `INBOX` prefix in any case) where no level is empty or holds `/` or a
/// control character, and the on-disk directory name fits in 255 octets.
/// One trailing `.` is ignored (RFC 3501 §6.3.3: a name ending in the
/// delimiter declares intent to create children).
pub(crate) fn parse(name: &MailboxName) -> Result<FolderPath> {
    let norm = name.with_inbox_prefix_normalized(DELIMITER);
    let s = norm.as_str();
    let s = s
        .strip_suffix(DELIMITER)
        .filter(|t| !t.is_empty())
        .unwrap_or(s);
    if s.eq_ignore_ascii_case("INBOX") {
        return Ok(FolderPath { levels: Vec::new() });
    }
    let Some(rest) = s.strip_prefix("INBOX.") else {
        return Err(MailboxError::name(
            name.as_str(),
            NameProblem::OutsideNamespace,
        ));
    };
    let levels: Vec<String> = rest.split(DELIMITER).map(str::to_owned).collect();
    let path = FolderPath { levels };
    path.validate()
        .map_err(|p| MailboxError::name(name.as_str(), p))?;
    Ok(path)
}

impl FolderPath {
    pub(crate) fn from_levels(levels: Vec<String>) -> FolderPath {
        FolderPath { levels }
    }

    pub(crate) fn is_inbox(&self) -> bool {
        self.levels.is_empty()
    }

    /// Whether `other` is strictly below `self`.
    pub(crate) fn is_ancestor_of(&self, other: &[String]) -> bool {
        other.len() > self.levels.len() && other[..self.levels.len()] == self.levels[..]
    }

    /// The IMAP name (`INBOX` or `INBOX.A.B`).
    pub(crate) fn name(&self) -> MailboxName {
        if self.levels.is_empty() {
            MailboxName::inbox()
        } else {
            MailboxName::new(format!("INBOX.{}", self.levels.join(".")))
        }
    }

    /// The directory name under the root: `.A.B`, each level in modified
    /// UTF-7 (or UTF-8 when `utf8`, as Courier 5 can write). Empty for INBOX.
    pub(crate) fn dir_name(&self, utf8: bool) -> String {
        let mut out = String::new();
        for l in &self.levels {
            out.push('.');
            if utf8 {
                out.push_str(l);
            } else {
                out.push_str(&encode_modified_utf7(l));
            }
        }
        out
    }

    /// The folder a directory name under the root stands for, if it is one
    /// this store would have written.
    pub(crate) fn from_dir_name(dir: &str, utf8: bool) -> Option<FolderPath> {
        let rest = dir.strip_prefix('.')?;
        let mut levels = Vec::new();
        for l in rest.split('.') {
            let decoded = if utf8 {
                l.to_owned()
            } else {
                let d = decode_modified_utf7(l).ok()?;
                // Only the canonical spelling maps back to this directory.
                if encode_modified_utf7(&d) != l {
                    return None;
                }
                d
            };
            levels.push(decoded);
        }
        let p = FolderPath { levels };
        p.validate().ok()?;
        (p.dir_name(utf8) == dir).then_some(p)
    }

    fn validate(&self) -> std::result::Result<(), NameProblem> {
        if self.levels.len() > MAX_LEVELS {
            return Err(NameProblem::TooLong);
        }
        for l in &self.levels {
            if l.is_empty() {
                return Err(NameProblem::EmptyLevel);
            }
            if l.contains('/') {
                return Err(NameProblem::Slash);
            }
            if l.contains('.') {
                return Err(NameProblem::Dot);
            }
            if l.chars().any(char::is_control) {
                return Err(NameProblem::Control);
            }
        }
        // Both spellings must fit one directory entry.
        if self.dir_name(false).len() > MAX_DIR_NAME || self.dir_name(true).len() > MAX_DIR_NAME {
            return Err(NameProblem::TooLong);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<FolderPath> {
        parse(&MailboxName::new(s))
    }

    #[test]
    fn accepted_names() {
        assert!(p("inbox").unwrap().is_inbox());
        assert_eq!(p("INBOX.Sent").unwrap().levels, vec!["Sent"]);
        assert_eq!(p("inbox.A.B").unwrap().levels, vec!["A", "B"]);
        assert_eq!(p("INBOX.A.").unwrap().levels, vec!["A"]);
        assert_eq!(p("INBOX.pää").unwrap().dir_name(false), ".p&AOQA5A-");
        assert_eq!(p("INBOX.a&b").unwrap().dir_name(false), ".a&-b");
        assert_eq!(p("INBOX.pää").unwrap().dir_name(true), ".pää");
    }

    #[test]
    fn refused_names() {
        let bad = |s: &str, want: NameProblem| match p(s) {
            Err(MailboxError::InvalidName { problem, .. }) => assert_eq!(problem, want, "{s}"),
            other => panic!("{s}: {other:?}"),
        };
        bad("Sent", NameProblem::OutsideNamespace);
        bad("", NameProblem::OutsideNamespace);
        bad("INBOX..x", NameProblem::EmptyLevel);
        bad("INBOX.a..", NameProblem::EmptyLevel);
        bad("INBOX.a/b", NameProblem::Slash);
        bad("INBOX.../x", NameProblem::EmptyLevel);
        bad("INBOX.a\u{1}", NameProblem::Control);
        bad("INBOX.a\u{7f}", NameProblem::Control);
        bad(&format!("INBOX.{}", "x".repeat(300)), NameProblem::TooLong);
    }

    #[test]
    fn dir_names_round_trip() {
        for s in ["INBOX.Sent", "INBOX.A.B", "INBOX.台北.日本語", "INBOX.&x"] {
            let f = p(s).unwrap();
            for utf8 in [false, true] {
                assert_eq!(
                    FolderPath::from_dir_name(&f.dir_name(utf8), utf8),
                    Some(f.clone())
                );
            }
        }
        for d in ["..", ".", "..x", ".a..b", ".&Jjo!", ".&AGE-", "cur", ".a/b"] {
            assert_eq!(FolderPath::from_dir_name(d, false), None, "{d}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_accepted_name_stays_inside(s in "\\PC{0,40}") {
            if let Ok(f) = p(&format!("INBOX.{s}")) {
                if f.is_inbox() {
                    return Ok(());
                }
                for utf8 in [false, true] {
                    let d = f.dir_name(utf8);
                    proptest::prop_assert!(d.starts_with('.') && !d.contains('/') && !d.contains(".."));
                    proptest::prop_assert!(d != "." );
                }
            }
        }
    }
}
