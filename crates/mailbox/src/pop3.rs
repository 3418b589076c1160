//! The POP3 view of INBOX (RFC 1939): a snapshot taken at login, sizes
//! equal to what RETR sends, stable UIDLs, DELE applied at QUIT.

use std::sync::Arc;

use postroom_types::{Flag, Uid};

use crate::error::{MailboxError, Result};
use crate::flags::{FlagSet, StoreMode};
use crate::mailbox::Mailbox;
use crate::message::to_crlf;

/// A POP3 maildrop: the messages of INBOX when the session began,
/// numbered 1..N for the whole session (RFC 1939 §5).
///
/// UIDLs are Dovecot's default format: 8 lowercase hex digits of the IMAP
/// UID followed by 8 of UIDVALIDITY (e.g. `000000016b0734b7`). They stay
/// the same across sessions and are never reused, because UIDs are never
/// reused under one UIDVALIDITY; a new UIDVALIDITY changes every UIDL.
/// Messages listed in Courier's `courierpop3dsizelist` keep the UIDL
/// Courier gave them (`UID<n>-<uidv>`, which never looks like the hex
/// form), so clients do not download them again after a move.
///
/// Messages expunged by IMAP while the maildrop is open keep their number,
/// size and UIDL; RETR and TOP of them fail with
/// [`MailboxError::NoSuchMessage`]. New mail is not shown until the next
/// session.
#[derive(Debug)]
pub struct Maildrop {
    mailbox: Arc<Mailbox>,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    uid: Uid,
    uidl: String,
    size: u64,
    deleted: bool,
    retrieved: bool,
}

impl Maildrop {
    /// Takes the snapshot (the mailbox is rescanned first).
    pub fn open(mailbox: Arc<Mailbox>) -> Result<Maildrop> {
        mailbox.rescan()?;
        let uid_validity = mailbox.uid_validity().get();
        let mut foreign = mailbox.foreign_uidls();
        let mut entries = Vec::new();
        for m in mailbox.messages() {
            match mailbox.rfc822_size(m.uid) {
                Ok(size) => entries.push(Entry {
                    uid: m.uid,
                    uidl: foreign
                        .remove(&m.uid)
                        .unwrap_or_else(|| format!("{:08x}{uid_validity:08x}", m.uid.get())),
                    size,
                    deleted: false,
                    retrieved: false,
                }),
                // Expunged meanwhile: not part of the snapshot.
                Err(MailboxError::NoSuchMessage(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Maildrop { mailbox, entries })
    }

    /// STAT: messages not marked deleted and their total size.
    pub fn stat(&self) -> (u32, u64) {
        let live = self.entries.iter().filter(|e| !e.deleted);
        let (n, size) = live.fold((0u32, 0u64), |(n, s), e| {
            (n.saturating_add(1), s.saturating_add(e.size))
        });
        (n, size)
    }

    /// The highest message number (deleted ones included).
    pub fn len(&self) -> u32 {
        u32::try_from(self.entries.len()).unwrap_or(u32::MAX)
    }

    /// Whether the snapshot holds no message.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// LIST n: the size RETR will send (CRLF line ends, before byte-stuffing).
    pub fn size(&self, n: u32) -> Result<u64> {
        self.live(n).map(|e| e.size)
    }

    /// UIDL n.
    pub fn uidl(&self, n: u32) -> Result<String> {
        self.live(n).map(|e| e.uidl.clone())
    }

    /// LIST / UIDL without argument: `(n, size, uidl)` of every message not
    /// marked deleted.
    pub fn listing(&self) -> Vec<(u32, u64, String)> {
        (1..=self.len())
            .filter_map(|n| Some((n, self.size(n).ok()?, self.uidl(n).ok()?)))
            .collect()
    }

    /// RETR n: the message with CRLF line ends.
    pub fn retr(&mut self, n: u32) -> Result<Vec<u8>> {
        let uid = self.live(n)?.uid;
        let raw = self.mailbox.raw(uid)?;
        let out = to_crlf(&raw).into_owned();
        if let Some(e) = self.entry_mut(n) {
            e.retrieved = true;
        }
        Ok(out)
    }

    /// TOP n lines: the header, the blank line and the first `lines` body
    /// lines (RFC 1939 §7).
    pub fn top(&self, n: u32, lines: u32) -> Result<Vec<u8>> {
        let uid = self.live(n)?.uid;
        let raw = self.mailbox.raw(uid)?;
        let data = to_crlf(&raw);
        let body_start = crate::message::find(&data, b"\r\n\r\n").map_or(data.len(), |i| i + 4);
        let mut end = body_start;
        for _ in 0..lines {
            if end >= data.len() {
                break;
            }
            end = crate::message::find(&data[end..], b"\r\n").map_or(data.len(), |i| end + i + 2);
        }
        Ok(data[..end].to_vec())
    }

    /// DELE n: marks the message; it is removed at [`Maildrop::quit`].
    pub fn dele(&mut self, n: u32) -> Result<()> {
        self.live(n)?;
        if let Some(e) = self.entry_mut(n) {
            e.deleted = true;
        }
        Ok(())
    }

    /// RSET: unmarks every message (and forgets pending `\Seen` changes).
    pub fn rset(&mut self) {
        for e in &mut self.entries {
            e.deleted = false;
            e.retrieved = false;
        }
    }

    /// QUIT in TRANSACTION (the UPDATE state): removes the marked messages
    /// and sets `\Seen` on retrieved ones. Returns the number removed.
    /// Dropping a `Maildrop` without `quit` changes nothing (RFC 1939 §6).
    pub fn quit(self) -> Result<usize> {
        let seen: Vec<Uid> = self
            .entries
            .iter()
            .filter(|e| e.retrieved && !e.deleted)
            .map(|e| e.uid)
            .collect();
        if !seen.is_empty() {
            self.mailbox
                .store(&seen, StoreMode::Add, &FlagSet::from_flags(&[Flag::Seen]))?;
        }
        let gone: Vec<Uid> = self
            .entries
            .iter()
            .filter(|e| e.deleted)
            .map(|e| e.uid)
            .collect();
        Ok(self.mailbox.remove(&gone)?.len())
    }

    fn live(&self, n: u32) -> Result<&Entry> {
        let e = self.entry(n).ok_or(MailboxError::NoSuchMessage(n))?;
        if e.deleted {
            return Err(MailboxError::MarkedDeleted(n));
        }
        Ok(e)
    }

    fn entry(&self, n: u32) -> Option<&Entry> {
        self.entries.get((n as usize).checked_sub(1)?)
    }

    fn entry_mut(&mut self, n: u32) -> Option<&mut Entry> {
        self.entries.get_mut((n as usize).checked_sub(1)?)
    }
}
