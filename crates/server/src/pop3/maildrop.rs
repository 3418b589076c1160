//! The session's view of INBOX: a snapshot taken at login, a process-wide
//! exclusive lock per maildrop, DELE applied at QUIT, `\Seen` set at RETR.
//!
//! `postroom_mailbox::pop3::Maildrop` has the same snapshot, sizes and UIDL
//! format, but (for now) no lock, no access to a message's UID or stored
//! bytes (so RETR could not be streamed, nor `\Seen` set when RETR
//! completes). This view is built on the same public `Mailbox` calls and
//! keeps its UIDLs identical to it (a test checks that).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use postroom_mailbox::{FlagSet, Mailbox, MailboxError, StoreMode};
use postroom_types::{Flag, Uid};

/// Why a maildrop could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// Another POP3 session of this process holds the maildrop.
    InUse,
    /// The store failed.
    Store(MailboxError),
}

/// Why a message number cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberError {
    /// No message has this number (RFC 1939 §5).
    NoSuch(u32),
    /// The message is marked as deleted (RFC 1939 §5).
    Deleted(u32),
}

impl NumberError {
    pub(crate) fn text(self) -> String {
        match self {
            NumberError::NoSuch(n) => format!("no message {n}"),
            NumberError::Deleted(n) => format!("message {n} is deleted"),
        }
    }
}

/// The POP3 view of one INBOX for the length of a TRANSACTION state.
#[derive(Debug)]
pub(crate) struct Maildrop {
    mailbox: Arc<Mailbox>,
    entries: Vec<Entry>,
    _lock: MaildropLock,
}

#[derive(Debug, Clone)]
struct Entry {
    uid: Uid,
    uidl: String,
    size: u64,
    deleted: bool,
}

impl Maildrop {
    /// Locks the maildrop and takes the snapshot (RFC 1939 §4: the lock is
    /// taken when TRANSACTION begins). The mailbox is rescanned first, so a
    /// message delivered by another process is seen.
    pub(crate) fn open(mailbox: Arc<Mailbox>) -> Result<Maildrop, OpenError> {
        let lock = MaildropLock::acquire(&mailbox).ok_or(OpenError::InUse)?;
        mailbox.rescan().map_err(OpenError::Store)?;
        let uid_validity = mailbox.uid_validity().get();
        let mut foreign = mailbox.foreign_uidls();
        let mut entries = Vec::new();
        for info in mailbox.messages() {
            // A UIDL Courier's pop3d gave is kept, so clients do not
            // download the message again after a move; it must still be a
            // valid unique-id (RFC 1939 §7).
            let uidl = foreign
                .remove(&info.uid)
                .filter(|id| postroom_pop3::is_unique_id(id.as_bytes()))
                .unwrap_or_else(|| format!("{:08x}{uid_validity:08x}", info.uid.get()));
            match mailbox.rfc822_size(info.uid) {
                Ok(size) => entries.push(Entry {
                    uid: info.uid,
                    uidl,
                    size,
                    deleted: false,
                }),
                // Expunged meanwhile: not part of the snapshot.
                Err(MailboxError::NoSuchMessage(_)) => {}
                Err(e) => return Err(OpenError::Store(e)),
            }
        }
        Ok(Maildrop {
            mailbox,
            entries,
            _lock: lock,
        })
    }

    /// The shared mailbox handle.
    pub(crate) fn mailbox(&self) -> &Arc<Mailbox> {
        &self.mailbox
    }

    /// STAT: messages not marked as deleted and their total size.
    pub(crate) fn stat(&self) -> (u32, u64) {
        self.entries
            .iter()
            .filter(|e| !e.deleted)
            .fold((0u32, 0u64), |(n, s), e| {
                (n.saturating_add(1), s.saturating_add(e.size))
            })
    }

    /// LIST n: the size RETR sends (CRLF line ends, before byte-stuffing).
    pub(crate) fn size(&self, n: u32) -> Result<u64, NumberError> {
        self.live(n).map(|e| e.size)
    }

    /// The UID of message `n`.
    pub(crate) fn uid(&self, n: u32) -> Result<Uid, NumberError> {
        self.live(n).map(|e| e.uid)
    }

    /// UIDL n: 8 hex digits of the UID, then 8 of UIDVALIDITY (Dovecot's
    /// default, as `postroom_mailbox::pop3::Maildrop`), or the UIDL
    /// Courier's pop3d recorded for the message.
    pub(crate) fn uidl(&self, n: u32) -> Result<&str, NumberError> {
        self.live(n).map(|e| e.uidl.as_str())
    }

    /// The numbers of the messages not marked as deleted, ascending.
    pub(crate) fn live_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries
            .iter()
            .zip(1u32..)
            .filter(|(e, _)| !e.deleted)
            .map(|(_, n)| n)
    }

    /// DELE n.
    pub(crate) fn dele(&mut self, n: u32) -> Result<(), NumberError> {
        self.live(n)?;
        if let Some(e) = self.entry_mut(n) {
            e.deleted = true;
        }
        Ok(())
    }

    /// RSET: unmarks every message.
    pub(crate) fn rset(&mut self) {
        for e in &mut self.entries {
            e.deleted = false;
        }
    }

    /// Sets `\Seen` on a retrieved message, so IMAP sees it was read. A
    /// message expunged meanwhile is skipped.
    pub(crate) fn mark_seen(&self, uid: Uid) -> Result<(), MailboxError> {
        self.mailbox
            .store(&[uid], StoreMode::Add, &FlagSet::from_flags(&[Flag::Seen]))
            .map(drop)
    }

    /// The UPDATE state (RFC 1939 §6): removes exactly the messages marked
    /// as deleted (those already expunged by someone else count as
    /// removed), then releases the lock. Returns how many were marked.
    pub(crate) fn update(self) -> Result<usize, MailboxError> {
        let gone: Vec<Uid> = self
            .entries
            .iter()
            .filter(|e| e.deleted)
            .map(|e| e.uid)
            .collect();
        if !gone.is_empty() {
            self.mailbox.remove(&gone)?;
        }
        Ok(gone.len())
    }

    fn live(&self, n: u32) -> Result<&Entry, NumberError> {
        let index = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .ok_or(NumberError::NoSuch(n))?;
        let e = self.entries.get(index).ok_or(NumberError::NoSuch(n))?;
        if e.deleted {
            return Err(NumberError::Deleted(n));
        }
        Ok(e)
    }

    fn entry_mut(&mut self, n: u32) -> Option<&mut Entry> {
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        self.entries.get_mut(index)
    }
}

/// Maildrops held by a POP3 session of this process, by the address of
/// their shared [`Mailbox`] handle (a store hands every caller the same
/// handle for a mailbox, so the address names the mailbox).
fn locked() -> &'static Mutex<HashSet<usize>> {
    static LOCKED: OnceLock<Mutex<HashSet<usize>>> = OnceLock::new();
    LOCKED.get_or_init(|| Mutex::new(HashSet::new()))
}

/// The exclusive POP3 lock on one maildrop (RFC 1939 §4), released on drop.
#[derive(Debug)]
struct MaildropLock {
    /// Held so that the address in the lock table cannot be reused by
    /// another mailbox while the lock exists.
    mailbox: Arc<Mailbox>,
}

impl MaildropLock {
    fn acquire(mailbox: &Arc<Mailbox>) -> Option<MaildropLock> {
        let key = Arc::as_ptr(mailbox) as usize;
        let mut table = locked().lock().unwrap_or_else(|e| e.into_inner());
        table.insert(key).then(|| MaildropLock {
            mailbox: Arc::clone(mailbox),
        })
    }
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        let key = Arc::as_ptr(&self.mailbox) as usize;
        let mut table = locked().lock().unwrap_or_else(|e| e.into_inner());
        table.remove(&key);
    }
}

/// Where `TOP n lines` ends in the stored bytes: after the header, the
/// blank line and the first `lines` body lines (RFC 1939 §7). Line ends
/// are LF or CRLF; a message without a blank line is all header.
pub(crate) fn top_end(raw: &[u8], lines: u32) -> usize {
    let mut pos = 0;
    let body_start = loop {
        match memchr::memchr(b'\n', &raw[pos..]) {
            None => return raw.len(),
            Some(i) => {
                let line = &raw[pos..pos + i];
                pos += i + 1;
                if line.is_empty() || line == b"\r" {
                    break pos;
                }
            }
        }
    };
    let mut end = body_start;
    for _ in 0..lines {
        if end >= raw.len() {
            break;
        }
        end = memchr::memchr(b'\n', &raw[end..]).map_or(raw.len(), |i| end + i + 1);
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use postroom_mailbox::{MemoryStore, Store};
    use postroom_types::MailboxName;

    #[test]
    fn top_end_known_answers() {
        let cases: &[(&[u8], u32, &[u8])] = &[
            (b"A: 1\r\n\r\nx\r\ny\r\n", 0, b"A: 1\r\n\r\n"),
            (b"A: 1\r\n\r\nx\r\ny\r\n", 1, b"A: 1\r\n\r\nx\r\n"),
            (b"A: 1\r\n\r\nx\r\ny\r\n", 9, b"A: 1\r\n\r\nx\r\ny\r\n"),
            (b"A: 1\n\nx\ny", 2, b"A: 1\n\nx\ny"),
            (b"A: 1\nB: 2\n", 3, b"A: 1\nB: 2\n"),
            (b"\r\nbody\r\n", 0, b"\r\n"),
            (b"", 5, b""),
            (b"A: 1\r\r\n\r\nz\r\n", 0, b"A: 1\r\r\n\r\n"),
        ];
        for (raw, lines, want) in cases {
            assert_eq!(&raw[..top_end(raw, *lines)], *want, "{raw:?} {lines}");
        }
    }

    #[test]
    fn second_open_is_in_use_until_the_first_is_dropped() {
        let store = MemoryStore::new();
        let inbox = store.open(&MailboxName::inbox()).expect("INBOX exists");
        let first = Maildrop::open(Arc::clone(&inbox)).expect("unlocked");
        assert!(matches!(
            Maildrop::open(Arc::clone(&inbox)),
            Err(OpenError::InUse)
        ));
        drop(first);
        assert!(Maildrop::open(inbox).is_ok());
    }

    #[test]
    fn numbers_deleted_and_missing() {
        let store = MemoryStore::new();
        let inbox = store.open(&MailboxName::inbox()).expect("INBOX exists");
        inbox
            .append(b"S: a\n\nx\n", &FlagSet::new(), None)
            .expect("append");
        let mut md = Maildrop::open(inbox).expect("unlocked");
        assert_eq!(md.size(1), Ok(11));
        assert_eq!(md.size(0), Err(NumberError::NoSuch(0)));
        assert_eq!(md.size(2), Err(NumberError::NoSuch(2)));
        md.dele(1).expect("live");
        assert_eq!(md.dele(1), Err(NumberError::Deleted(1)));
        assert_eq!(md.stat(), (0, 0));
        md.rset();
        assert_eq!(md.stat(), (1, 11));
        assert_eq!(md.live_numbers().collect::<Vec<_>>(), [1]);
    }
}
