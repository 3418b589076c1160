//! The in-memory backend: [`MemoryStore`] keeps every mailbox in process
//! memory, for tests and for embedders that bring their own persistence.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postroom_types::{InternalDate, MailboxName};

use crate::error::{MailboxError, Result};
use crate::flags::FlagSet;
use crate::mailbox::{Appended, FolderBackend, Mailbox, Msg, ScanResult};
use crate::message::crlf_size;
use crate::names::{self, FolderPath};
use crate::store::{ListEntry, Store, list_matching};

/// A store kept in memory. Cloning gives another handle on the same
/// mailboxes, so sessions of one user can each hold a clone.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<MemoryInner>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct MemoryInner {
    /// Folder path (levels under INBOX; empty = INBOX) → mailbox.
    folders: BTreeMap<Vec<String>, Arc<Mailbox>>,
    subscribed: BTreeSet<String>,
    /// Last UIDVALIDITY given, so a re-created mailbox gets a larger one.
    last_uid_validity: u32,
}

impl MemoryStore {
    /// An empty store holding only INBOX.
    pub fn new() -> MemoryStore {
        let store = MemoryStore::default();
        {
            let mut inner = store.lock();
            let mb = inner.new_mailbox(MailboxName::inbox());
            inner.folders.insert(Vec::new(), mb);
        }
        store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MemoryInner {
    fn new_mailbox(&mut self, name: MailboxName) -> Arc<Mailbox> {
        let now = u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(u32::MAX);
        self.last_uid_validity = now.max(self.last_uid_validity.saturating_add(1)).max(1);
        let backend = MemoryFolder {
            uid_validity: self.last_uid_validity,
            uid_next: 1,
            data: HashMap::new(),
            scanned: false,
        };
        // A fresh memory folder always scans successfully.
        match Mailbox::open(name, Box::new(backend), Duration::from_secs(3600)) {
            Ok(mb) => mb,
            Err(_) => unreachable!("a new memory folder opens"),
        }
    }
}

impl Store for MemoryStore {
    fn list(&self, reference: &str, pattern: &str) -> Result<Vec<ListEntry>> {
        let inner = self.lock();
        let names: Vec<Vec<String>> = inner.folders.keys().cloned().collect();
        Ok(list_matching(&names, reference, pattern))
    }

    fn subscriptions(&self) -> Result<Vec<MailboxName>> {
        Ok(self
            .lock()
            .subscribed
            .iter()
            .map(|s| MailboxName::new(s.clone()))
            .collect())
    }

    fn create(&self, name: &MailboxName) -> Result<()> {
        let path = names::parse(name)?;
        let mut inner = self.lock();
        if inner.folders.contains_key(&path.levels) {
            return Err(MailboxError::AlreadyExists(name.as_str().to_owned()));
        }
        let mb = inner.new_mailbox(path.name());
        inner.folders.insert(path.levels, mb);
        Ok(())
    }

    fn delete(&self, name: &MailboxName) -> Result<()> {
        let path = names::parse(name)?;
        if path.is_inbox() {
            return Err(MailboxError::DeleteInbox);
        }
        let mut inner = self.lock();
        let has_children = inner.folders.keys().any(|k| path.is_ancestor_of(k));
        if inner.folders.remove(&path.levels).is_none() {
            return Err(if has_children {
                MailboxError::HasChildren(name.as_str().to_owned())
            } else {
                MailboxError::NotFound(name.as_str().to_owned())
            });
        }
        Ok(())
    }

    fn rename(&self, from: &MailboxName, to: &MailboxName) -> Result<()> {
        let src = names::parse(from)?;
        let dst = names::parse(to)?;
        if src.is_inbox() {
            // RFC 3501 §6.3.5: move INBOX's messages into a new mailbox.
            self.create(to)?;
            let inbox = self.open(from)?;
            let dest = self.open(to)?;
            let uids: Vec<_> = inbox.messages().iter().map(|m| m.uid).collect();
            inbox.move_to(&uids, &dest)?;
            return Ok(());
        }
        check_rename(&src, &dst, from, to)?;
        let mut inner = self.lock();
        if !inner.folders.contains_key(&src.levels) {
            return Err(MailboxError::NotFound(from.as_str().to_owned()));
        }
        if inner.folders.contains_key(&dst.levels) {
            return Err(MailboxError::AlreadyExists(to.as_str().to_owned()));
        }
        let moving: Vec<Vec<String>> = inner
            .folders
            .keys()
            .filter(|k| **k == src.levels || src.is_ancestor_of(k))
            .cloned()
            .collect();
        for k in &moving {
            let mut new_levels = dst.levels.clone();
            new_levels.extend_from_slice(&k[src.levels.len()..]);
            if inner.folders.contains_key(&new_levels) {
                return Err(MailboxError::AlreadyExists(
                    FolderPath::from_levels(new_levels).name().into_string(),
                ));
            }
        }
        for k in moving {
            let mut new_levels = dst.levels.clone();
            new_levels.extend_from_slice(&k[src.levels.len()..]);
            if let Some(mb) = inner.folders.remove(&k) {
                // The mailbox keeps its messages and UIDs under the new name.
                mb.set_name(FolderPath::from_levels(new_levels.clone()).name());
                inner.folders.insert(new_levels, mb);
            }
        }
        Ok(())
    }

    fn subscribe(&self, name: &MailboxName) -> Result<()> {
        let path = names::parse(name)?;
        self.lock().subscribed.insert(path.name().into_string());
        Ok(())
    }

    fn unsubscribe(&self, name: &MailboxName) -> Result<()> {
        let path = names::parse(name)?;
        self.lock().subscribed.remove(path.name().as_str());
        Ok(())
    }

    fn open(&self, name: &MailboxName) -> Result<Arc<Mailbox>> {
        let path = names::parse(name)?;
        self.lock()
            .folders
            .get(&path.levels)
            .cloned()
            .ok_or_else(|| MailboxError::NotFound(name.as_str().to_owned()))
    }
}

/// RFC 3501 §6.3.5 checks shared by both stores.
pub(crate) fn check_rename(
    src: &FolderPath,
    dst: &FolderPath,
    from: &MailboxName,
    to: &MailboxName,
) -> Result<()> {
    if dst.is_inbox() {
        return Err(MailboxError::AlreadyExists(to.as_str().to_owned()));
    }
    if src.levels == dst.levels || src.is_ancestor_of(&dst.levels) {
        return Err(MailboxError::RenameIntoSelf(from.as_str().to_owned()));
    }
    Ok(())
}

/// The backend of one in-memory mailbox.
pub(crate) struct MemoryFolder {
    pub(crate) uid_validity: u32,
    pub(crate) uid_next: u32,
    pub(crate) data: HashMap<u32, Arc<Vec<u8>>>,
    pub(crate) scanned: bool,
}

impl FolderBackend for MemoryFolder {
    fn scan(&mut self, _force: bool, _known: &[Msg]) -> Result<Option<ScanResult>> {
        if self.scanned {
            return Ok(None);
        }
        self.scanned = true;
        Ok(Some(ScanResult {
            uid_validity: self.uid_validity,
            uid_next: self.uid_next,
            messages: Vec::new(),
        }))
    }

    fn append(
        &mut self,
        raw: &[u8],
        flags: &FlagSet,
        date: Option<InternalDate>,
    ) -> Result<Appended> {
        let uid = self.uid_next;
        if uid == u32::MAX {
            return Err(MailboxError::UidsExhausted);
        }
        self.uid_next += 1;
        self.data.insert(uid, Arc::new(raw.to_vec()));
        Ok(Appended::Msg(Msg {
            uid,
            key: String::new(),
            flags: flags.clone(),
            date: Some(date.unwrap_or_else(now)),
            size: raw.len() as u64,
            vsize: Some(crlf_size(raw)),
            modseq: 0,
            fresh: true,
        }))
    }

    fn set_flags(&mut self, msg: &Msg, _flags: &FlagSet) -> Result<String> {
        Ok(msg.key.clone())
    }

    fn save_keywords(&mut self, _msgs: &[Msg]) -> Result<()> {
        Ok(())
    }

    fn remove(&mut self, msg: &Msg) -> Result<()> {
        self.data.remove(&msg.uid);
        Ok(())
    }

    fn read(&self, msg: &Msg) -> Result<Arc<Vec<u8>>> {
        self.data
            .get(&msg.uid)
            .cloned()
            .ok_or(MailboxError::NoSuchMessage(msg.uid))
    }
}

/// The current time as an internal date (UTC).
pub(crate) fn now() -> InternalDate {
    InternalDate(chrono::Utc::now().fixed_offset())
}
