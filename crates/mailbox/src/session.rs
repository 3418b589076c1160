//! [`Session`]: one client's view of a selected mailbox.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use postroom_types::{FlagFetch, SearchKey, SequenceSet, Uid, UidValidity};

use crate::error::{MailboxError, Result};
use crate::flags::{FlagSet, StoreMode};
use crate::mailbox::{Mailbox, clamp_u32};

/// One selected mailbox as a session sees it: sequence numbers mapped to
/// UIDs, `\Recent`, and the changes not yet told to the client.
///
/// Expunges by anyone (this session included) stay in the view, keeping
/// sequence numbers stable, until [`Session::poll`] is called with
/// `allow_expunge` (RFC 3501 §7.4.1: not during FETCH, STORE or SEARCH).
#[derive(Debug)]
pub struct Session {
    mailbox: Arc<Mailbox>,
    read_only: bool,
    view: Vec<ViewEntry>,
    recent: HashSet<u32>,
    seen_version: u64,
    uid_validity: u32,
}

#[derive(Debug, Clone, Copy)]
struct ViewEntry {
    uid: u32,
    modseq: u64,
    gone: bool,
}

/// What changed since the last [`Session::poll`], in the order a server
/// sends it: EXPUNGEs, then FETCH FLAGS, then EXISTS and RECENT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Sequence numbers for `* n EXPUNGE`, each valid after the previous
    /// one was applied (RFC 3501 §7.4.1).
    pub expunged: Vec<u32>,
    /// Flag changes (`* n FETCH (FLAGS ...)`).
    pub flags: Vec<FlagUpdate>,
    /// The new message count when messages arrived (`* n EXISTS`).
    pub exists: Option<u32>,
    /// The new `\Recent` count when it changed (`* n RECENT`).
    pub recent: Option<u32>,
    /// UIDVALIDITY changed under the session: the server should close it
    /// (RFC 3501 §2.3.1.1).
    pub uid_validity_changed: bool,
}

impl Changes {
    /// Whether there is nothing to report.
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// New flags of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagUpdate {
    /// Sequence number.
    pub seq: u32,
    /// UID.
    pub uid: Uid,
    /// The flags as FETCH FLAGS sends them (with `\Recent` when it applies).
    pub flags: Vec<FlagFetch>,
}

/// One message as a session sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    /// Sequence number.
    pub seq: u32,
    /// UID.
    pub uid: Uid,
    /// Stored flags.
    pub flags: FlagSet,
    /// `\Recent` in this session.
    pub recent: bool,
}

impl Session {
    /// SELECT (`read_only` false) or EXAMINE (true). The session takes
    /// `\Recent` for the messages no session has seen yet (a read-only
    /// session shows it without taking it).
    pub fn open(mailbox: Arc<Mailbox>, read_only: bool) -> Result<Session> {
        mailbox.rescan()?;
        let uid_validity = mailbox.uid_validity().get();
        let mut s = Session {
            mailbox,
            read_only,
            view: Vec::new(),
            recent: HashSet::new(),
            seen_version: 0,
            uid_validity,
        };
        s.sync(true)?;
        Ok(s)
    }

    /// The mailbox.
    pub fn mailbox(&self) -> &Arc<Mailbox> {
        &self.mailbox
    }

    /// Whether the session was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// EXISTS: messages in the view (including expunged ones not yet told).
    pub fn exists(&self) -> u32 {
        clamp_u32(self.view.len())
    }

    /// RECENT: messages with `\Recent` in this session.
    pub fn recent(&self) -> u32 {
        clamp_u32(
            self.view
                .iter()
                .filter(|e| self.recent.contains(&e.uid))
                .count(),
        )
    }

    /// UIDVALIDITY.
    pub fn uid_validity(&self) -> UidValidity {
        UidValidity::new(self.uid_validity).unwrap_or(UidValidity::MIN)
    }

    /// UIDNEXT.
    pub fn uid_next(&self) -> Uid {
        self.mailbox.uid_next()
    }

    /// The sequence number of the first message without `\Seen` (the
    /// UNSEEN response code at SELECT).
    pub fn first_unseen(&self) -> Option<u32> {
        let inner = self.mailbox.lock();
        self.view
            .iter()
            .position(|e| {
                !e.gone
                    && inner
                        .find(e.uid)
                        .is_some_and(|i| !inner.msgs[i].flags.is_seen())
            })
            .map(|i| clamp_u32(i + 1))
    }

    /// The UID of a sequence number.
    pub fn uid(&self, seq: u32) -> Option<Uid> {
        let i = usize::try_from(seq).ok()?.checked_sub(1)?;
        self.view.get(i).and_then(|e| Uid::new(e.uid))
    }

    /// The sequence number of a UID in the view.
    pub fn seq(&self, uid: Uid) -> Option<u32> {
        self.view
            .binary_search_by_key(&uid.get(), |e| e.uid)
            .ok()
            .map(|i| clamp_u32(i + 1))
    }

    /// Whether the message has `\Recent` in this session.
    pub fn is_recent(&self, uid: Uid) -> bool {
        self.recent.contains(&uid.get())
    }

    /// The messages a set names: sequence numbers (`uid` false; `*` is the
    /// last message) or UIDs (`uid` true; `*` is the highest UID, so `n:*`
    /// always includes the last message). Ascending; `$` yields nothing
    /// (the server resolves saved results).
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<(u32, Uid)> {
        let mut out = Vec::new();
        if uid {
            let largest = self.view.last().map_or(0, |e| e.uid);
            for (i, e) in self.view.iter().enumerate() {
                if set.contains(e.uid, largest) {
                    out.extend(Uid::new(e.uid).map(|u| (clamp_u32(i + 1), u)));
                }
            }
        } else {
            for seq in set.iter(self.exists()) {
                out.extend(self.uid(seq).map(|u| (seq, u)));
            }
        }
        out
    }

    /// Sequence numbers above EXISTS in a sequence set (RFC 3501 §9 says a
    /// server SHOULD answer BAD).
    pub fn out_of_range(&self, set: &SequenceSet) -> bool {
        match set {
            SequenceSet::Ranges(ranges) => ranges.iter().any(|r| {
                [r.start, r.end].iter().any(|b| match b {
                    postroom_types::SeqBound::Number(n) => n.get() > self.exists(),
                    postroom_types::SeqBound::Star => self.exists() == 0,
                })
            }),
            SequenceSet::SearchResult => false,
        }
    }

    /// The messages at these sequence numbers (skipping numbers out of
    /// range and messages already expunged).
    pub fn messages(&self, seqs: &[u32]) -> Vec<MessageView> {
        let inner = self.mailbox.lock();
        let mut out = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            let Some(e) = usize::try_from(seq)
                .ok()
                .and_then(|s| s.checked_sub(1))
                .and_then(|i| self.view.get(i))
            else {
                continue;
            };
            let Some(i) = inner.find(e.uid) else { continue };
            let m = &inner.msgs[i];
            out.push(MessageView {
                seq,
                uid: Uid::new(e.uid).unwrap_or(Uid::MIN),
                flags: m.flags.clone(),
                recent: self.recent.contains(&e.uid),
            });
        }
        out
    }

    /// STORE on UIDs in the view. Returns the resulting flags of every
    /// message found (RFC 3501 §6.4.6; a server omits them for `.SILENT`).
    /// The session does not report these changes again in [`Session::poll`].
    pub fn store(
        &mut self,
        uids: &[Uid],
        mode: StoreMode,
        flags: &FlagSet,
    ) -> Result<Vec<FlagUpdate>> {
        if self.read_only {
            return Err(MailboxError::ReadOnly);
        }
        let in_view: Vec<Uid> = uids
            .iter()
            .copied()
            .filter(|u| self.seq(*u).is_some())
            .collect();
        let results = self.mailbox.store(&in_view, mode, flags)?;
        let inner = self.mailbox.lock();
        let mut out = Vec::with_capacity(results.len());
        for (uid, new, _) in results {
            let Some(seq) = self.seq(uid) else { continue };
            if let Some(i) = inner.find(uid.get()) {
                self.view[(seq - 1) as usize].modseq = inner.msgs[i].modseq;
            }
            out.push(FlagUpdate {
                seq,
                uid,
                flags: new.to_fetch_flags(self.recent.contains(&uid.get())),
            });
        }
        Ok(out)
    }

    /// Implicit `\Seen` of a `BODY[...]` fetch (RFC 3501 §6.4.5): sets it
    /// unless read-only; returns the update when the flags changed.
    pub fn mark_seen(&mut self, uid: Uid) -> Result<Option<FlagUpdate>> {
        if self.read_only {
            return Ok(None);
        }
        let seen = FlagSet::from_flags(&[postroom_types::Flag::Seen]);
        let before = self.mailbox.message(uid).map(|m| m.flags.is_seen());
        if before != Some(false) {
            return Ok(None);
        }
        Ok(self
            .store(&[uid], StoreMode::Add, &seen)?
            .into_iter()
            .next())
    }

    /// EXPUNGE, or UID EXPUNGE with `only` (RFC 4315): removes `\Deleted`
    /// messages and returns the changes to send, EXPUNGEs first.
    pub fn expunge(&mut self, only: Option<&[Uid]>) -> Result<Changes> {
        if self.read_only {
            return Err(MailboxError::ReadOnly);
        }
        self.mailbox.expunge(only)?;
        self.poll(true)
    }

    /// CLOSE: expunge silently (unless read-only) and end the session.
    pub fn close(mut self) -> Result<()> {
        if !self.read_only {
            self.mailbox.expunge(None)?;
        }
        self.view.clear();
        Ok(())
    }

    /// Picks up changes (rescanning the backend for other processes'
    /// changes) and returns what to tell the client. With `allow_expunge`
    /// false, expunged messages stay in the view and are reported later.
    pub fn poll(&mut self, allow_expunge: bool) -> Result<Changes> {
        self.mailbox.rescan()?;
        self.sync(allow_expunge)
    }

    /// Like [`Session::poll`], but reads the folder again only when it may
    /// have changed behind this process's back (see
    /// [`Mailbox::rescan_if_due`]): the cheap check to make after each
    /// command, where `poll` suits NOOP and CHECK.
    pub fn check(&mut self, allow_expunge: bool) -> Result<Changes> {
        self.mailbox.rescan_if_due()?;
        self.sync(allow_expunge)
    }

    /// IDLE (RFC 2177): waits up to `timeout` for a change by this process
    /// or (through polling at the store's interval) by another, then
    /// returns the changes (expunges included).
    pub fn idle_wait(&mut self, timeout: Duration) -> Result<Changes> {
        let pending = self.view.iter().any(|e| e.gone);
        if !pending {
            self.mailbox.wait_for_change(self.seen_version, timeout)?;
        }
        self.sync(true)
    }

    /// SEARCH (RFC 3501 §6.4.4): the matching messages as
    /// `(sequence number, UID)`, ascending. `charset` must be absent,
    /// `UTF-8` or `US-ASCII` (else [`MailboxError::BadCharset`]).
    pub fn search(&self, charset: Option<&str>, key: &SearchKey) -> Result<Vec<(u32, Uid)>> {
        crate::search::check_charset(charset)?;
        crate::search::run(self, key)
    }

    fn sync(&mut self, allow_expunge: bool) -> Result<Changes> {
        let mut inner = self.mailbox.lock();
        let mut changes = Changes::default();
        if inner.uid_validity != self.uid_validity {
            changes.uid_validity_changed = true;
            return Ok(changes);
        }
        let pending = allow_expunge && self.view.iter().any(|e| e.gone);
        if inner.version == self.seen_version && !pending {
            return Ok(changes);
        }
        let old_recent = self.recent();
        let mut next: Vec<ViewEntry> = Vec::with_capacity(inner.msgs.len().max(self.view.len()));
        let mut j = 0;
        let msgs = &inner.msgs;
        for e in self.view.iter().copied() {
            while j < msgs.len() && msgs[j].uid < e.uid {
                j += 1;
            }
            if j < msgs.len() && msgs[j].uid == e.uid {
                let m = &msgs[j];
                let mut e = e;
                if m.modseq > e.modseq {
                    e.modseq = m.modseq;
                    changes.flags.push(FlagUpdate {
                        seq: clamp_u32(next.len() + 1),
                        uid: Uid::new(e.uid).unwrap_or(Uid::MIN),
                        flags: m.flags.to_fetch_flags(self.recent.contains(&e.uid)),
                    });
                }
                next.push(e);
            } else if allow_expunge {
                changes.expunged.push(clamp_u32(next.len() + 1));
                self.recent.remove(&e.uid);
            } else {
                next.push(ViewEntry { gone: true, ..e });
            }
        }
        let max = self.view.last().map_or(0, |e| e.uid);
        let mut added = false;
        for m in inner.msgs.iter().filter(|m| m.uid > max) {
            next.push(ViewEntry {
                uid: m.uid,
                modseq: m.modseq,
                gone: false,
            });
            added = true;
        }
        // The new messages no session has seen: the unclaimed UIDs above
        // the view's last (the mailbox keeps only UIDs it holds there).
        // One split instead of a lookup and removal per message: on a
        // large folder's first SELECT every message is one of them.
        if let Some(first_new) = max.checked_add(1) {
            if self.read_only {
                let shown = inner.recent_unclaimed.range(first_new..);
                self.recent.extend(shown);
            } else {
                let claimed = inner.recent_unclaimed.split_off(&first_new);
                self.recent.reserve(claimed.len());
                self.recent.extend(claimed);
            }
        }
        self.seen_version = inner.version;
        drop(inner);
        self.view = next;
        if added {
            changes.exists = Some(self.exists());
        }
        let recent = self.recent();
        if recent != old_recent || added {
            changes.recent = Some(recent);
        }
        Ok(changes)
    }
}
