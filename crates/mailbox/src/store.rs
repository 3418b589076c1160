//! The [`Store`] trait, LIST/LSUB results and wildcard matching.

use std::collections::BTreeSet;
use std::sync::Arc;

use postroom_types::MailboxName;

use crate::error::Result;
use crate::mailbox::Mailbox;

/// A user's mailboxes: one Maildir++ root ([`crate::MaildirStore`]) or
/// memory ([`crate::MemoryStore`]).
///
/// Names are UTF-8 [`MailboxName`]s in the `INBOX.` personal namespace with
/// `.` as the delimiter (see [`crate::DELIMITER`]); a server decodes modified
/// UTF-7 from the wire before calling. Every name is validated before any
/// path is built from it.
pub trait Store: Send + Sync {
    /// LIST (RFC 3501 §6.3.8): the names matching `reference` followed by
    /// `pattern`, where `*` matches anything and `%` anything but the
    /// delimiter; with `\Noselect` for hierarchy-only names and
    /// `\HasChildren`/`\HasNoChildren` (RFC 3348). INBOX comes first, then
    /// names in order.
    fn list(&self, reference: &str, pattern: &str) -> Result<Vec<ListEntry>>;

    /// The subscribed names, in the order they were stored.
    fn subscriptions(&self) -> Result<Vec<MailboxName>>;

    /// LSUB (RFC 3501 §6.3.9): subscribed names matching the pattern; when
    /// `%` stops at a level that is not itself subscribed but has a
    /// subscribed child, that level is listed with `\Noselect`.
    fn lsub(&self, reference: &str, pattern: &str) -> Result<Vec<ListEntry>> {
        let subs = self.subscriptions()?;
        Ok(lsub_matching(&subs, reference, pattern))
    }

    /// CREATE (RFC 3501 §6.3.3). Superior names need not exist: they list
    /// as `\Noselect` until created.
    fn create(&self, name: &MailboxName) -> Result<()>;

    /// DELETE (RFC 3501 §6.3.4): INBOX cannot be deleted; a mailbox with
    /// children loses its messages and becomes a `\Noselect` name; a
    /// `\Noselect` name with children is refused.
    fn delete(&self, name: &MailboxName) -> Result<()>;

    /// RENAME (RFC 3501 §6.3.5) with all children; renaming INBOX moves its
    /// messages into the new mailbox and leaves INBOX empty.
    fn rename(&self, from: &MailboxName, to: &MailboxName) -> Result<()>;

    /// SUBSCRIBE (persisted; the name need not exist).
    fn subscribe(&self, name: &MailboxName) -> Result<()>;

    /// UNSUBSCRIBE.
    fn unsubscribe(&self, name: &MailboxName) -> Result<()>;

    /// Opens a mailbox. Handles are shared: every caller in the process
    /// that opens the same mailbox gets the same [`Mailbox`].
    fn open(&self, name: &MailboxName) -> Result<Arc<Mailbox>>;
}

/// One LIST or LSUB result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry {
    /// The mailbox name.
    pub name: MailboxName,
    /// Its attributes.
    pub attributes: Vec<ListAttribute>,
}

/// A mailbox attribute in LIST and LSUB (RFC 3501 §7.2.2, RFC 3348).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListAttribute {
    /// `\Noselect`: a hierarchy name that is not a mailbox.
    Noselect,
    /// `\HasChildren`
    HasChildren,
    /// `\HasNoChildren`
    HasNoChildren,
}

impl std::fmt::Display for ListAttribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ListAttribute::Noselect => "\\Noselect",
            ListAttribute::HasChildren => "\\HasChildren",
            ListAttribute::HasNoChildren => "\\HasNoChildren",
        })
    }
}

/// Whether `name` matches the LIST `pattern` (`*` and `%` wildcards, `%`
/// not crossing `.`). Runs in O(len(name) × len(pattern)).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = normalize_inbox(pattern).chars().collect();
    let n: Vec<char> = name.chars().collect();
    // reach[j]: the first i pattern characters can match the first j name
    // characters.
    let mut reach = vec![false; n.len() + 1];
    reach[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            '*' => {
                let mut any = false;
                for j in 0..=n.len() {
                    any |= reach[j];
                    next[j] = any;
                }
            }
            '%' => {
                let mut any = false;
                for j in 0..=n.len() {
                    if j > 0 && n[j - 1] == '.' {
                        any = false;
                    }
                    any |= reach[j];
                    next[j] = any;
                }
            }
            c => {
                for j in 1..=n.len() {
                    next[j] = reach[j - 1] && n[j - 1] == c;
                }
            }
        }
        reach = next;
        if !reach.iter().any(|&r| r) {
            return false;
        }
    }
    reach[n.len()]
}

/// `inbox` (any case) as the first level of a pattern means `INBOX`.
fn normalize_inbox(pattern: &str) -> String {
    if pattern.len() >= 5
        && pattern.is_char_boundary(5)
        && pattern[..5].eq_ignore_ascii_case("INBOX")
    {
        let rest = &pattern[5..];
        if rest.is_empty() || rest.starts_with('.') {
            return format!("INBOX{rest}");
        }
    }
    pattern.to_owned()
}

/// LIST over folder level lists (empty = INBOX).
pub(crate) fn list_matching(
    folders: &[Vec<String>],
    reference: &str,
    pattern: &str,
) -> Vec<ListEntry> {
    let full = format!("{reference}{pattern}");
    let selectable: BTreeSet<String> = folders.iter().map(|l| full_name(l)).collect();
    let mut all: BTreeSet<String> = selectable.clone();
    for l in folders {
        for k in 1..l.len() {
            all.insert(full_name(&l[..k]));
        }
    }
    let mut out = Vec::new();
    let mut names: Vec<&String> = all.iter().collect();
    // INBOX first (RFC 3501 does not require an order; clients like it).
    names.sort_by_key(|n| (n.as_str() != "INBOX", n.as_str()));
    for name in names {
        if !pattern_matches(&full, name) {
            continue;
        }
        let prefix = format!("{name}.");
        let has_children = all
            .range(prefix.clone()..)
            .next()
            .is_some_and(|n| n.starts_with(&prefix));
        let mut attributes = Vec::new();
        if !selectable.contains(name) {
            attributes.push(ListAttribute::Noselect);
        }
        attributes.push(if has_children {
            ListAttribute::HasChildren
        } else {
            ListAttribute::HasNoChildren
        });
        out.push(ListEntry {
            name: MailboxName::new(name.clone()),
            attributes,
        });
    }
    out
}

pub(crate) fn lsub_matching(
    subs: &[MailboxName],
    reference: &str,
    pattern: &str,
) -> Vec<ListEntry> {
    let full = format!("{reference}{pattern}");
    let subscribed: BTreeSet<&str> = subs.iter().map(|s| s.as_str()).collect();
    let mut out: Vec<ListEntry> = Vec::new();
    let mut seen = BTreeSet::new();
    for s in subs {
        if pattern_matches(&full, s.as_str()) {
            if seen.insert(s.as_str().to_owned()) {
                out.push(ListEntry {
                    name: s.clone(),
                    attributes: Vec::new(),
                });
            }
            continue;
        }
        // RFC 3501 §6.3.9: `%` may stop at an unsubscribed ancestor.
        let mut ancestor = String::new();
        for (i, level) in s.as_str().split('.').enumerate() {
            if i > 0 {
                ancestor.push('.');
            }
            ancestor.push_str(level);
            if ancestor.len() == s.as_str().len() {
                break;
            }
            if !subscribed.contains(ancestor.as_str())
                && pattern_matches(&full, &ancestor)
                && seen.insert(ancestor.clone())
            {
                out.push(ListEntry {
                    name: MailboxName::new(ancestor.clone()),
                    attributes: vec![ListAttribute::Noselect],
                });
            }
        }
    }
    out
}

fn full_name(levels: &[String]) -> String {
    if levels.is_empty() {
        "INBOX".to_owned()
    } else {
        format!("INBOX.{}", levels.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(pattern_matches("*", "INBOX.a.b"));
        assert!(pattern_matches("INBOX.%", "INBOX.a"));
        assert!(!pattern_matches("INBOX.%", "INBOX.a.b"));
        assert!(pattern_matches("inbox", "INBOX"));
        assert!(pattern_matches("inbox.*", "INBOX.x"));
        assert!(!pattern_matches("inboxx", "INBOX"));
        assert!(pattern_matches("%", "INBOX"));
        assert!(!pattern_matches("%", "INBOX.a"));
        assert!(pattern_matches("INBOX.*b", "INBOX.a.b"));
        assert!(pattern_matches("INBOX.%.b", "INBOX.a.b"));
        assert!(!pattern_matches("", "INBOX"));
        assert!(pattern_matches("INBOX.台*", "INBOX.台北"));
    }

    #[test]
    fn adversarial_pattern_is_fast() {
        let pattern = "*%".repeat(500) + "x";
        let name = "a".repeat(2000);
        assert!(!pattern_matches(&pattern, &name));
    }

    #[test]
    fn list_attributes() {
        let folders = vec![vec![], vec!["A".into(), "B".into()], vec!["C".into()]];
        let all = list_matching(&folders, "", "*");
        let names: Vec<_> = all
            .iter()
            .map(|e| (e.name.as_str().to_owned(), e.attributes.clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("INBOX".into(), vec![ListAttribute::HasChildren]),
                (
                    "INBOX.A".into(),
                    vec![ListAttribute::Noselect, ListAttribute::HasChildren]
                ),
                ("INBOX.A.B".into(), vec![ListAttribute::HasNoChildren]),
                ("INBOX.C".into(), vec![ListAttribute::HasNoChildren]),
            ]
        );
        let top = list_matching(&folders, "INBOX.", "%");
        assert_eq!(top.len(), 2);
    }

    #[test]
    fn lsub_percent_stops_at_unsubscribed_parent() {
        let subs = vec![MailboxName::new("INBOX.a.b")];
        let r = lsub_matching(&subs, "", "INBOX.%");
        assert_eq!(
            r,
            vec![ListEntry {
                name: MailboxName::new("INBOX.a"),
                attributes: vec![ListAttribute::Noselect]
            }]
        );
        assert_eq!(lsub_matching(&subs, "", "*").len(), 1);
    }
}
