//! [`FlagSet`]: the stored flags of one message.

use postroom_types::{Flag, FlagFetch, FlagPerm, Keyword};

use crate::maildir::filename::{ANSWERED, DELETED, DRAFT, FLAGGED, SEEN};

/// The flags stored with a message: the five system flags and any number of
/// keywords (kept sorted, compared ignoring ASCII case). `\Recent` is not
/// here: it belongs to a session ([`crate::Session`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlagSet {
    system: u8,
    keywords: Vec<Keyword>,
}

/// How STORE combines flags with a message's flags (RFC 3501 §6.4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

impl FlagSet {
    /// No flags.
    pub fn new() -> FlagSet {
        FlagSet::default()
    }

    /// The flags in `flags`. Unknown `\Extension` flags are dropped: they
    /// cannot be stored (RFC 3501 §2.3.2: servers do not keep them, and
    /// PERMANENTFLAGS does not list them).
    pub fn from_flags<'a>(flags: impl IntoIterator<Item = &'a Flag>) -> FlagSet {
        let mut s = FlagSet::new();
        for f in flags {
            s.insert(f);
        }
        s
    }

    /// Whether `flag` is set.
    pub fn contains(&self, flag: &Flag) -> bool {
        match system_bit(flag) {
            Some(b) => self.system & b != 0,
            None => match flag {
                Flag::Keyword(k) => self.keywords.binary_search(k).is_ok(),
                _ => false,
            },
        }
    }

    /// Sets `flag`; returns whether it was newly set.
    pub fn insert(&mut self, flag: &Flag) -> bool {
        match system_bit(flag) {
            Some(b) => {
                let was = self.system & b != 0;
                self.system |= b;
                !was
            }
            None => match flag {
                Flag::Keyword(k) => match self.keywords.binary_search(k) {
                    Ok(_) => false,
                    Err(i) => {
                        self.keywords.insert(i, k.clone());
                        true
                    }
                },
                _ => false,
            },
        }
    }

    /// Clears `flag`; returns whether it was set.
    pub fn remove(&mut self, flag: &Flag) -> bool {
        match system_bit(flag) {
            Some(b) => {
                let was = self.system & b != 0;
                self.system &= !b;
                was
            }
            None => match flag {
                Flag::Keyword(k) => match self.keywords.binary_search(k) {
                    Ok(i) => {
                        self.keywords.remove(i);
                        true
                    }
                    Err(_) => false,
                },
                _ => false,
            },
        }
    }

    /// The result of applying a STORE with `mode` and `flags` to `self`.
    pub fn apply(&self, mode: StoreMode, flags: &FlagSet) -> FlagSet {
        match mode {
            StoreMode::Replace => flags.clone(),
            StoreMode::Add => {
                let mut out = self.clone();
                out.system |= flags.system;
                for k in &flags.keywords {
                    out.insert(&Flag::Keyword(k.clone()));
                }
                out
            }
            StoreMode::Remove => {
                let mut out = self.clone();
                out.system &= !flags.system;
                out.keywords
                    .retain(|k| flags.keywords.binary_search(k).is_err());
                out
            }
        }
    }

    /// Every flag, system flags first (in the order of [`Flag::SYSTEM`]),
    /// then keywords.
    pub fn to_flags(&self) -> Vec<Flag> {
        let mut out: Vec<Flag> = Flag::SYSTEM
            .iter()
            .filter(|f| self.contains(f))
            .cloned()
            .collect();
        out.extend(self.keywords.iter().cloned().map(Flag::Keyword));
        out
    }

    /// The flags as FETCH FLAGS reports them, with `\Recent` when `recent`.
    pub fn to_fetch_flags(&self, recent: bool) -> Vec<FlagFetch> {
        let mut out: Vec<FlagFetch> = self.to_flags().into_iter().map(FlagFetch::Flag).collect();
        if recent {
            out.push(FlagFetch::Recent);
        }
        out
    }

    /// The keywords, sorted ignoring ASCII case.
    pub fn keywords(&self) -> &[Keyword] {
        &self.keywords
    }

    /// Whether no flag is set.
    pub fn is_empty(&self) -> bool {
        self.system == 0 && self.keywords.is_empty()
    }

    /// `\Seen`.
    pub fn is_seen(&self) -> bool {
        self.system & SEEN != 0
    }

    /// `\Deleted`.
    pub fn is_deleted(&self) -> bool {
        self.system & DELETED != 0
    }

    pub(crate) fn system_bits(&self) -> u8 {
        self.system
    }

    pub(crate) fn from_parts(system: u8, keywords: impl IntoIterator<Item = Keyword>) -> FlagSet {
        let mut keywords: Vec<Keyword> = keywords.into_iter().collect();
        keywords.sort();
        keywords.dedup();
        FlagSet {
            system: system & (ANSWERED | FLAGGED | DELETED | SEEN | DRAFT),
            keywords,
        }
    }
}

impl<'a> FromIterator<&'a Flag> for FlagSet {
    fn from_iter<T: IntoIterator<Item = &'a Flag>>(iter: T) -> FlagSet {
        FlagSet::from_flags(iter)
    }
}

/// The PERMANENTFLAGS a writable mailbox of this crate reports: the five
/// system flags and `\*` (RFC 3501 §7.1).
pub fn permanent_flags() -> Vec<FlagPerm> {
    let mut v: Vec<FlagPerm> = Flag::SYSTEM.iter().cloned().map(FlagPerm::Flag).collect();
    v.push(FlagPerm::AnyKeyword);
    v
}

fn system_bit(flag: &Flag) -> Option<u8> {
    match flag {
        Flag::Answered => Some(ANSWERED),
        Flag::Flagged => Some(FLAGGED),
        Flag::Deleted => Some(DELETED),
        Flag::Seen => Some(SEEN),
        Flag::Draft => Some(DRAFT),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(s: &str) -> Flag {
        Flag::Keyword(Keyword::new(s).unwrap())
    }

    #[test]
    fn store_modes() {
        let a = FlagSet::from_flags(&[Flag::Seen, kw("$Junk")]);
        let b = FlagSet::from_flags(&[Flag::Deleted, kw("$junk"), kw("x")]);
        assert_eq!(a.apply(StoreMode::Replace, &b), b);
        let added = a.apply(StoreMode::Add, &b);
        assert_eq!(
            added.to_flags(),
            vec![Flag::Deleted, Flag::Seen, kw("$Junk"), kw("x")]
        );
        let removed = added.apply(
            StoreMode::Remove,
            &FlagSet::from_flags(&[Flag::Seen, kw("X")]),
        );
        assert_eq!(removed.to_flags(), vec![Flag::Deleted, kw("$Junk")]);
    }

    #[test]
    fn extension_flags_are_not_stored() {
        let s = FlagSet::from_flags(&[Flag::Extension("Foo".into())]);
        assert!(s.is_empty());
    }

    #[test]
    fn fetch_flags_with_recent() {
        let s = FlagSet::from_flags(&[Flag::Seen]);
        assert_eq!(
            s.to_fetch_flags(true),
            vec![FlagFetch::Flag(Flag::Seen), FlagFetch::Recent]
        );
    }
}
