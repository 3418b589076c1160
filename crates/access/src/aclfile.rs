//! Courier's `courierimapacl` file format, and the `courierimaphieracl/`
//! entries it keeps for hierarchy nodes without a folder.
//!
//! A file holds one entry per line: the identifier, one space, the rights in
//! Courier's letters, `\n` (`owner aceilrstwx`). Courier's reader splits at
//! the first space and skips further spaces; a line whose identifier is
//! empty or whose identifier or rights hold a byte at or below space is
//! skipped; a later line for the same identifier replaces the earlier one.
//! This reader does the same and reports every skipped line.
//!
//! Reading maps Courier's letters to RFC 4314 (`c` → `k`, `d` → `x` `t`
//! `e`); printing maps back (`k` → `c`). Rights outside RFC 4314 that a
//! Courier server accepted (`Q`) are kept. Pure functions over bytes: the
//! caller reads and writes the files (atomically: write to `tmp/` and
//! rename, as Courier does).

use postroom_types::Rights;

use crate::acl::{Acl, COURIER_ALL};
use crate::courier::{courier_letters, parse_courier_letters_lenient};
use crate::identifier::{Identifier, IdentifierError};

/// The per-folder ACL file name, inside the folder's directory.
pub const ACL_FILE_NAME: &str = "courierimapacl";

/// The directory (at the top of the Maildir) holding ACLs of hierarchy
/// nodes that have no folder directory of their own.
pub const HIER_ACL_DIR: &str = "courierimaphieracl";

/// The result of reading an ACL file: the ACL and the lines left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AclFile {
    /// The entries, in file order.
    pub acl: Acl,
    /// Lines that were skipped, and why.
    pub skipped: Vec<SkippedLine>,
}

/// A line of an ACL file that was skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedLine {
    /// 1-based line number.
    pub line: usize,
    /// Byte offset of the line's start in the file.
    pub offset: usize,
    /// Why.
    pub reason: SkipReason,
}

/// Why a line of an ACL file was skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Not UTF-8.
    NotUtf8,
    /// The identifier was refused.
    Identifier(IdentifierError),
    /// The rights hold a character that cannot be a right (Courier would
    /// refuse control characters too; it keeps punctuation this crate
    /// cannot represent).
    Rights,
}

/// Reads a `courierimapacl` file (or a `courierimaphieracl/` entry).
/// Never fails: unusable lines are skipped and reported, as Courier's
/// reader skips them. Work and memory are linear in the input.
///
/// ```
/// use postroom_access::aclfile::{parse_acl_file, print_acl_file};
/// let file = parse_acl_file(b"owner aceilrstwx\nanyone lr\n");
/// assert_eq!(file.acl.len(), 2);
/// assert_eq!(print_acl_file(&file.acl), b"owner aceilrstwx\nanyone lr\n");
/// ```
pub fn parse_acl_file(bytes: &[u8]) -> AclFile {
    let mut out = AclFile::default();
    let mut entries = Vec::new();
    let mut offset = 0usize;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let start = offset;
        // Invariant: `raw` is a slice of `bytes`, so the sum stays within
        // `bytes.len() + 1`.
        offset = offset.saturating_add(raw.len()).saturating_add(1);
        if start >= bytes.len() && raw.is_empty() {
            break; // after the final newline
        }
        let skip = |reason| SkippedLine {
            line: index + 1,
            offset: start,
            reason,
        };
        let Ok(line) = std::str::from_utf8(raw) else {
            out.skipped.push(skip(SkipReason::NotUtf8));
            continue;
        };
        let (ident, rights) = match line.split_once(' ') {
            Some((i, rest)) => (i, rest.trim_start_matches(' ')),
            None => (line, ""),
        };
        let id = match Identifier::parse(ident) {
            Ok(id) => id,
            Err(e) => {
                out.skipped.push(skip(SkipReason::Identifier(e)));
                continue;
            }
        };
        match parse_courier_letters_lenient(rights) {
            Ok(r) => entries.push((id, r)),
            Err(_) => out.skipped.push(skip(SkipReason::Rights)),
        }
    }
    out.acl = Acl::from_entries(entries);
    out
}

/// Prints an ACL as Courier writes it: `identifier rights\n` per entry, the
/// identifier in storage form, the rights in Courier's letters, ASCII
/// sorted (an empty set prints as `identifier \n`, which reads back).
pub fn print_acl_file(acl: &Acl) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, rights) in acl.entries() {
        out.extend_from_slice(id.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(courier_letters(rights).as_bytes());
        out.push(b'\n');
    }
    out
}

/// The ACL Courier gives an INBOX without an ACL file: all rights to
/// `owner` and to `administrators`.
pub fn default_inbox_acl() -> Acl {
    Acl::from_entries([
        (Identifier::OWNER, COURIER_ALL),
        (Identifier::ADMINISTRATORS, COURIER_ALL),
    ])
}

/// The ACL a new folder starts with (CREATE): a copy of its parent's, as
/// Courier and RFC 4314 §4 ("SHOULD inherit") do. For a top-level folder
/// pass INBOX's ACL, which is what Courier inherits from.
pub fn inherited_acl(parent: &Acl) -> Acl {
    parent.clone()
}

/// What Courier does to every ACL it reads (`maildir_aclt_add_default_admin`):
/// the administrators' entry (`group=administrators` if present, else
/// `administrators`) gets every right, and `-administrators` and
/// `-group=administrators` entries are dropped.
pub fn apply_courier_admin_defaults(acl: &mut Acl) {
    let group = Identifier::group("administrators");
    let target = if acl.get(&group).is_some() {
        group
    } else {
        Identifier::ADMINISTRATORS
    };
    let old = acl.get(&target).unwrap_or(Rights::EMPTY);
    acl.set_unchecked(target, old.union(COURIER_ALL));
    acl.remove_unchecked(&Identifier::ADMINISTRATORS.negated());
    acl.remove_unchecked(&Identifier::group("administrators").negated());
}

/// The name of the `courierimaphieracl/` entry for a Maildir++ folder
/// directory name (`.a.b` → `a.b`); `None` for INBOX (`.` or empty), which
/// never has one, or for names Courier would refuse (`/`, `..`, a trailing
/// `.`).
pub fn hier_acl_entry_name(folder_dir: &str) -> Option<&str> {
    let name = folder_dir.strip_prefix('.')?;
    if name.is_empty() || name.contains('/') || name.contains("..") || name.ends_with('.') {
        return None;
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Rights {
        s.parse().unwrap()
    }
    fn id(s: &str) -> Identifier {
        s.parse().unwrap()
    }

    #[test]
    fn courier_manual_example_file() {
        let text = b"owner          aceilrstwx\nanyone         lr\nuser=john      w\n-user=mary     r\nadministrators aceilrstwx\n";
        let f = parse_acl_file(text);
        assert!(f.skipped.is_empty());
        let e: Vec<(String, Rights)> = f.acl.entries().map(|(i, r)| (i.to_string(), r)).collect();
        assert_eq!(
            e,
            vec![
                ("owner".into(), r("akeilrstwx")),
                ("anyone".into(), r("lr")),
                ("user=john".into(), r("w")),
                ("-user=mary".into(), r("r")),
                ("administrators".into(), r("akeilrstwx")),
            ]
        );
        assert_eq!(
            print_acl_file(&f.acl),
            b"owner aceilrstwx\nanyone lr\nuser=john w\n-user=mary r\nadministrators aceilrstwx\n"
        );
    }

    #[test]
    fn skips_like_courier() {
        let f = parse_acl_file(
            b"\nowner acl\n\tbad lr\nuser=x l\tr\nanyone\nuser=x r\n\xff lr\nlast lr",
        );
        let reasons: Vec<usize> = f.skipped.iter().map(|s| s.line).collect();
        assert_eq!(reasons, vec![1, 3, 4, 7]);
        assert_eq!(f.skipped[0].offset, 0);
        assert_eq!(f.acl.get(&id("owner")), Some(r("akl")));
        assert_eq!(f.acl.get(&id("anyone")), Some(Rights::EMPTY));
        // The later line replaces the earlier one.
        assert_eq!(f.acl.get(&id("user=x")), Some(r("r")));
        // A last line without newline still counts.
        assert_eq!(f.acl.get(&id("user=last")), Some(r("lr")));
    }

    #[test]
    fn letters_round_trip() {
        let f = parse_acl_file(b"user=fred dlrsw\nanyone Qlr\n");
        assert_eq!(f.acl.get(&id("user=fred")), Some(r("xtelrsw")));
        assert_eq!(f.acl.get(&id("anyone")), Some(r("Qlr")));
        assert_eq!(print_acl_file(&f.acl), b"user=fred elrstwx\nanyone Qlr\n");
        let empty = Acl::from_entries([(id("anyone"), Rights::EMPTY)]);
        assert_eq!(print_acl_file(&empty), b"anyone \n");
        assert_eq!(parse_acl_file(b"anyone \n").acl, empty);
    }

    #[test]
    fn defaults_and_inheritance() {
        let inbox = default_inbox_acl();
        assert_eq!(
            print_acl_file(&inbox),
            b"owner aceilrstwx\nadministrators aceilrstwx\n"
        );
        assert_eq!(inherited_acl(&inbox), inbox);
        let mut acl =
            parse_acl_file(b"owner lra\n-administrators l\ngroup=administrators lr\n").acl;
        apply_courier_admin_defaults(&mut acl);
        assert_eq!(
            print_acl_file(&acl),
            b"owner alr\ngroup=administrators aceilrstwx\n"
        );
        let mut acl = parse_acl_file(b"owner lra\n").acl;
        apply_courier_admin_defaults(&mut acl);
        assert_eq!(acl.get(&id("administrators")), Some(COURIER_ALL));
    }

    #[test]
    fn hier_names() {
        assert_eq!(hier_acl_entry_name(".a.b"), Some("a.b"));
        assert_eq!(hier_acl_entry_name("."), None);
        assert_eq!(hier_acl_entry_name(""), None);
        assert_eq!(hier_acl_entry_name(".a/b"), None);
        assert_eq!(hier_acl_entry_name(".a..b"), None);
        assert_eq!(hier_acl_entry_name(".a."), None);
    }
}
