//! [`Mailbox`]: the shared, process-wide handle of one open mailbox.

use std::any::{Any, TypeId};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postroom_sort::{KeyRecord, RawMessage};
use postroom_types::{BodyStructure, InternalDate, Keyword, MailboxName, Uid, UidValidity};

use crate::error::{MailboxError, Result};
use crate::flags::{FlagSet, StoreMode};
use crate::maildir::codec::{decode_envelope, decode_structure, encode_envelope, encode_structure};
use crate::maildir::index::{DERIVED_KINDS, ENVELOPE, RecordRef, SORT_KEY, STRUCTURE, Spans};
use crate::message::{Message, crlf_size};

/// Parsed messages kept per mailbox (most recently used).
const PARSED_KEPT: usize = 32;
/// Slots of the decoded-ENVELOPE cache (direct-mapped by UID).
const DECODED_SLOTS: usize = 1024;

type Derived = HashMap<(u32, TypeId), Arc<dyn Any + Send + Sync>>;

#[derive(Default)]
struct Caches {
    parsed: VecDeque<(u32, Arc<Message>)>,
    derived: Derived,
    /// Derived values (ENVELOPE, sort key record, BODYSTRUCTURE; encoded,
    /// decoded on use) loaded from the backend's persisted cache, all in
    /// one buffer: no allocation per message.
    loaded: Vec<u8>,
    /// Where each message's values are in `loaded`, sorted by UID.
    loaded_spans: Vec<(u32, Spans)>,
    /// Derived values computed by this process, by kind, then UID
    /// (encoded); they take precedence over `loaded`.
    computed: [HashMap<u32, Box<[u8]>>; DERIVED_KINDS],
    /// Recently decoded ENVELOPEs, so repeated use shares one value: slot
    /// `uid % DECODED_SLOTS` (no hashing, no sweeping; a FETCH 1:* just
    /// replaces slot after slot).
    decoded: Vec<Option<(u32, Arc<postroom_types::Envelope>)>>,
    /// Sort key records decoded once a SORT or THREAD used them: the next
    /// one (webmail sorts on every page) only looks them up. Filled only
    /// for mailboxes that are sorted; about 300 bytes a message.
    keys: HashMap<u32, Arc<KeyRecord>>,
    /// Something worth persisting changed since the cache was last saved.
    dirty: bool,
}

impl Caches {
    /// The encoded derived value `kind` of `uid`, if known.
    fn get(&self, uid: u32, kind: usize) -> Option<&[u8]> {
        if let Some(b) = self.computed[kind].get(&uid) {
            return Some(b);
        }
        let i = self
            .loaded_spans
            .binary_search_by_key(&uid, |(u, _)| *u)
            .ok()?;
        self.loaded_spans[i].1.get(&self.loaded, kind)
    }

    fn put(&mut self, uid: u32, kind: usize, bytes: Vec<u8>) {
        self.computed[kind].insert(uid, bytes.into_boxed_slice());
        self.dirty = true;
    }

    fn decoded(&self, uid: u32) -> Option<Arc<postroom_types::Envelope>> {
        match self.decoded.get(uid as usize % DECODED_SLOTS)? {
            Some((u, e)) if *u == uid => Some(Arc::clone(e)),
            _ => None,
        }
    }

    fn keep_decoded(&mut self, uid: u32, env: &Arc<postroom_types::Envelope>) {
        if self.decoded.is_empty() {
            self.decoded.resize(DECODED_SLOTS, None);
        }
        self.decoded[uid as usize % DECODED_SLOTS] = Some((uid, Arc::clone(env)));
    }

    fn forget(&mut self, uid: u32) {
        if let Some(slot) = self.decoded.get_mut(uid as usize % DECODED_SLOTS) {
            if slot.as_ref().is_some_and(|(u, _)| *u == uid) {
                *slot = None;
            }
        }
        self.keys.remove(&uid);
        for m in &mut self.computed {
            m.remove(&uid);
        }
        if let Ok(i) = self.loaded_spans.binary_search_by_key(&uid, |(u, _)| *u) {
            self.loaded_spans[i].1 = Spans::EMPTY;
        }
    }
}

/// Derived data a backend found in its persisted cache.
#[derive(Debug)]
pub(crate) struct CachedDerived {
    /// The encoded values, one after the other.
    pub(crate) derived: Vec<u8>,
    /// UID (ascending), RFC822.SIZE and where the values are in `derived`.
    pub(crate) entries: Vec<(u32, Option<u64>, Spans)>,
}

/// One message as the mailbox knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageInfo {
    /// The UID (RFC 3501 §2.3.1.1).
    pub uid: Uid,
    /// The stored flags (without `\Recent`, which is per session).
    pub flags: FlagSet,
    /// Octets as stored (the `S=` size of a Maildir file).
    pub physical_size: u64,
}

/// A message as a backend reports it.
#[derive(Clone, Debug)]
pub(crate) struct Msg {
    pub(crate) uid: u32,
    /// Backend key: the file name in `cur/` for Maildir, empty in memory.
    pub(crate) key: String,
    pub(crate) flags: FlagSet,
    /// INTERNALDATE; `None` until read: a Maildir folder's first scan
    /// leaves the file times to the first command that needs them (see
    /// [`Mailbox::internal_date`]).
    pub(crate) date: Option<InternalDate>,
    pub(crate) size: u64,
    /// RFC822.SIZE (CRLF size), when known.
    pub(crate) vsize: Option<u64>,
    /// Mailbox version of the last flag change.
    pub(crate) modseq: u64,
    /// Newly given a UID by this process: `\Recent` for the first session.
    pub(crate) fresh: bool,
}

/// What a backend found on a scan.
#[derive(Debug)]
pub(crate) struct ScanResult {
    pub(crate) uid_validity: u32,
    pub(crate) uid_next: u32,
    /// Sorted by UID.
    pub(crate) messages: Vec<Msg>,
}

/// The result of [`FolderBackend::append`].
pub(crate) enum Appended {
    /// The new message alone (others' changes come with the next scan).
    Msg(Msg),
}

/// The storage under one mailbox. All calls happen with the mailbox lock
/// held, so a backend sees one call at a time from this process.
pub(crate) trait FolderBackend: Send {
    /// Reads the folder. `None` when nothing changed since the last scan
    /// (only when `force` is false). `known` are the messages the mailbox
    /// holds (their keys, dates and sizes need not be read again).
    fn scan(&mut self, force: bool, known: &[Msg]) -> Result<Option<ScanResult>>;
    /// Stores a new message and gives it the next UID (persisted before
    /// this returns).
    fn append(
        &mut self,
        raw: &[u8],
        flags: &FlagSet,
        date: Option<InternalDate>,
    ) -> Result<Appended>;
    /// Changes the stored flags of `msg`; returns the new key.
    fn set_flags(&mut self, msg: &Msg, flags: &FlagSet) -> Result<String>;
    /// Persists the keywords of all messages after a batch of changes.
    fn save_keywords(&mut self, msgs: &[Msg]) -> Result<()>;
    /// Removes a message for good.
    fn remove(&mut self, msg: &Msg) -> Result<()>;
    /// The message bytes as stored.
    fn read(&self, msg: &Msg) -> Result<Arc<Vec<u8>>>;
    /// INTERNALDATE of a message whose date the scan left unread
    /// (`msg.date` is `None`).
    fn read_date(&self, msg: &Msg) -> Result<InternalDate> {
        msg.date.ok_or(MailboxError::NoSuchMessage(msg.uid))
    }
    /// The header of the message (up to and including the blank line),
    /// as stored; reads no more of the file than needed.
    fn read_header(&self, msg: &Msg) -> Result<Vec<u8>> {
        let raw = self.read(msg)?;
        Ok(raw[..crate::message::header_len(&raw)].to_vec())
    }
    /// Takes the cross-process POP3 maildrop lock: `Ok(None)` when another
    /// live owner holds it. Backends without files return a token that
    /// only the in-process check backs.
    fn lock_maildrop(&self) -> Result<Option<Box<dyn std::fmt::Debug + Send + Sync>>> {
        Ok(Some(Box::new(())))
    }
    /// The path of the file holding `msg`, for reads without the mailbox
    /// lock (`None`: use [`FolderBackend::read`]).
    fn file_path(&self, _msg: &Msg) -> Option<std::path::PathBuf> {
        None
    }
    /// The folder's directory, for backends that have one.
    fn folder_dir(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// POP3 UIDLs another server recorded for these messages (Courier's
    /// `courierpop3dsizelist`), by UID.
    fn foreign_uidls(&self, _msgs: &[Msg]) -> HashMap<u32, String> {
        HashMap::new()
    }
    /// Derived data from the backend's persisted cache that is valid for
    /// `msgs` (called once, after the first scan).
    fn take_cached(&mut self, _msgs: &[Msg]) -> Option<CachedDerived> {
        None
    }
    /// Whether the persisted cache already describes the folder as opened
    /// (no need to write it again).
    fn cache_is_current(&self) -> bool {
        true
    }
    /// Persists the cache (a no-op for backends without one).
    fn save_cache(
        &mut self,
        _uid_validity: u32,
        _uid_next: u32,
        _records: &[RecordRef<'_>],
    ) -> Result<()> {
        Ok(())
    }
    /// Where `msg` can be taken from by [`FolderBackend::adopt`] of another
    /// folder: its file and the quota root it counts against. `None`: this
    /// backend cannot hand files over (MOVE copies, then removes).
    fn movable(&self, _msg: &Msg) -> Option<Movable> {
        None
    }
    /// Takes over the file of a message another folder of the same kind
    /// gave by [`FolderBackend::movable`] (a rename, so a crash leaves the
    /// message in exactly one of the two folders), gives it the next UID
    /// and persists that. `Ok(None)`: this backend cannot adopt files.
    fn adopt(&mut self, _from: &Movable, _msg: &Msg) -> Result<Option<Appended>> {
        Ok(None)
    }
    /// The Maildir++ root whose quota this folder's messages count
    /// against (`None`: no files, no quota root).
    fn quota_root(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// Forgets a message whose file the folder with quota root `to_root`
    /// adopted: what [`FolderBackend::remove`] does, except deleting the
    /// file.
    fn forget_moved(&mut self, msg: &Msg, _to_root: Option<&std::path::Path>) -> Result<()> {
        self.remove(msg)
    }
}

/// A message file that can change folders by a rename (MOVE, RFC 6851).
#[derive(Clone, Debug)]
pub(crate) struct Movable {
    /// The file now.
    pub(crate) path: std::path::PathBuf,
    /// The Maildir++ root whose quota the file counts against.
    pub(crate) quota_root: std::path::PathBuf,
}

pub(crate) struct Inner {
    pub(crate) backend: Box<dyn FolderBackend>,
    pub(crate) uid_validity: u32,
    pub(crate) uid_next: u32,
    pub(crate) msgs: Vec<Msg>,
    pub(crate) version: u64,
    pub(crate) recent_unclaimed: BTreeSet<u32>,
    pub(crate) last_scan: Instant,
}

/// The handle of one mailbox, shared by every session of the process that
/// has it open (obtain it from [`crate::Store::open`]).
///
/// It holds the message list (UID, flags, internal date, size) and a version
/// counter that moves on every change; [`crate::Session`]s compare versions
/// to learn of new messages, flag changes and expunges, and wait on it in
/// IDLE. Changes by other processes are picked up by [`Mailbox::rescan`]
/// (done by sessions at their polling interval).
pub struct Mailbox {
    name: Mutex<MailboxName>,
    inner: Mutex<Inner>,
    changed: Arc<Condvar>,
    /// Set by the file system watcher when the folder changed on disk.
    fs_event: Arc<std::sync::atomic::AtomicBool>,
    /// The file system watcher, when one runs (kept alive here).
    watcher: Mutex<Option<crate::watch::DirWatch>>,
    poll_interval: Duration,
    caches: Mutex<Caches>,
    /// A POP3 maildrop holds this mailbox exclusively (in this process).
    maildrop_held: std::sync::atomic::AtomicBool,
}

/// The exclusive hold of a POP3 maildrop on its mailbox: released on drop.
#[derive(Debug)]
pub(crate) struct MaildropHold {
    mailbox: Arc<Mailbox>,
    _file: Box<dyn std::fmt::Debug + Send + Sync>,
}

impl Drop for MaildropHold {
    fn drop(&mut self) {
        self.mailbox
            .maildrop_held
            .store(false, std::sync::atomic::Ordering::Release);
    }
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    pub(crate) fn open(
        name: MailboxName,
        mut backend: Box<dyn FolderBackend>,
        poll_interval: Duration,
    ) -> Result<Arc<Mailbox>> {
        let scan = backend
            .scan(true, &[])?
            .ok_or_else(|| MailboxError::NotFound(name.as_str().to_owned()))?;
        let mut inner = Inner {
            backend,
            uid_validity: scan.uid_validity,
            uid_next: scan.uid_next,
            msgs: Vec::new(),
            version: 1,
            recent_unclaimed: BTreeSet::new(),
            last_scan: Instant::now(),
        };
        inner.merge(scan);
        let mut caches = Caches::default();
        let cached = inner.backend.take_cached(&inner.msgs);
        // Write the cache back at the next save unless it covered every
        // message with its ENVELOPE and sort key (BODYSTRUCTUREs are
        // written when one is built).
        caches.dirty = cached
            .as_ref()
            .is_none_or(|c| c.entries.len() != inner.msgs.len())
            || !inner.backend.cache_is_current();
        if let Some(cached) = cached {
            let mut entries = cached.entries.iter().peekable();
            caches.loaded_spans.reserve_exact(cached.entries.len());
            for m in &mut inner.msgs {
                while entries.peek().is_some_and(|c| c.0 < m.uid) {
                    entries.next();
                }
                let Some(&(uid, vsize, spans)) = entries.next_if(|c| c.0 == m.uid) else {
                    continue;
                };
                m.vsize = m.vsize.or(vsize);
                if spans.lens[ENVELOPE] == Spans::NONE || spans.lens[SORT_KEY] == Spans::NONE {
                    caches.dirty = true;
                }
                caches.loaded_spans.push((uid, spans));
            }
            caches.loaded = cached.derived;
        }
        Ok(Arc::new(Mailbox {
            name: Mutex::new(name),
            inner: Mutex::new(inner),
            changed: Arc::new(Condvar::new()),
            fs_event: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            watcher: Mutex::new(None),
            poll_interval,
            caches: Mutex::new(caches),
            maildrop_held: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// The mailbox name.
    pub fn name(&self) -> MailboxName {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_name(&self, name: MailboxName) {
        *self.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
    }

    /// UIDVALIDITY (RFC 3501 §2.3.1.1).
    pub fn uid_validity(&self) -> UidValidity {
        let v = self.lock().uid_validity;
        // Backends never report 0 (checked when files are parsed).
        UidValidity::new(v).unwrap_or(UidValidity::MIN)
    }

    /// UIDNEXT: the UID the next message will get.
    pub fn uid_next(&self) -> Uid {
        Uid::new(self.lock().uid_next).unwrap_or(Uid::MAX)
    }

    /// The number of messages.
    pub fn len(&self) -> usize {
        self.lock().msgs.len()
    }

    /// Whether the mailbox holds no message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The messages, in UID order.
    pub fn messages(&self) -> Vec<MessageInfo> {
        self.lock().msgs.iter().map(Msg::info).collect()
    }

    /// The message with `uid`, if present.
    pub fn message(&self, uid: Uid) -> Option<MessageInfo> {
        let inner = self.lock();
        inner.find(uid.get()).map(|i| inner.msgs[i].info())
    }

    /// Counts for STATUS (RFC 3501 §6.3.10): messages, unseen.
    pub fn counts(&self) -> (u32, u32) {
        let inner = self.lock();
        let unseen = inner.msgs.iter().filter(|m| !m.flags.is_seen()).count();
        (clamp_u32(inner.msgs.len()), clamp_u32(unseen))
    }

    /// The keywords set on any message, each once, in UID order of first
    /// use: what SELECT's FLAGS lists besides the system flags (RFC 3501
    /// §7.2.6).
    pub fn keywords(&self) -> Vec<Keyword> {
        let inner = self.lock();
        let mut seen: HashSet<&Keyword> = HashSet::new();
        let mut out: Vec<Keyword> = Vec::new();
        for k in inner.msgs.iter().flat_map(|m| m.flags.keywords()) {
            if seen.insert(k) {
                out.push(k.clone());
            }
        }
        out
    }

    /// The polling interval sessions use to rescan for other processes'
    /// changes.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// Appends a message; `date` defaults to now. Returns its UID, which is
    /// persisted before this returns (RFC 4315 APPENDUID).
    pub fn append(&self, raw: &[u8], flags: &FlagSet, date: Option<InternalDate>) -> Result<Uid> {
        let mut inner = self.lock();
        let appended = inner.backend.append(raw, flags, date)?;
        self.insert_appended(inner, appended)
    }

    /// Enters a message the backend has just stored and persisted a UID for.
    fn insert_appended(&self, mut inner: MutexGuard<'_, Inner>, appended: Appended) -> Result<Uid> {
        let uid = match appended {
            Appended::Msg(mut msg) => {
                inner.version += 1;
                msg.modseq = inner.version;
                let uid = msg.uid;
                inner.uid_next = inner.uid_next.max(uid.saturating_add(1));
                inner.recent_unclaimed.insert(uid);
                // Normally the largest UID; kept sorted whatever happens.
                if inner.find(uid).is_none() {
                    let at = inner.msgs.partition_point(|m| m.uid < uid);
                    inner.msgs.insert(at, msg);
                }
                uid
            }
        };
        drop(inner);
        self.changed.notify_all();
        Uid::new(uid).ok_or(MailboxError::UidsExhausted)
    }

    /// Applies STORE to the messages with the given UIDs (missing UIDs are
    /// skipped). Returns, for each message found, its UID, its new flags and
    /// whether they changed.
    pub fn store(
        &self,
        uids: &[Uid],
        mode: StoreMode,
        flags: &FlagSet,
    ) -> Result<Vec<(Uid, FlagSet, bool)>> {
        let mut inner = self.lock();
        let mut out = Vec::new();
        let mut keywords_changed = false;
        let mut first_err = None;
        for &uid in uids {
            let Some(i) = inner.find(uid.get()) else {
                continue;
            };
            let old = inner.msgs[i].flags.clone();
            let new = old.apply(mode, flags);
            if new == old {
                out.push((uid, new, false));
                continue;
            }
            let msg = inner.msgs[i].clone();
            match inner.backend.set_flags(&msg, &new) {
                Ok(key) => {
                    keywords_changed |= old.keywords() != new.keywords();
                    inner.version += 1;
                    let v = inner.version;
                    let m = &mut inner.msgs[i];
                    m.key = key;
                    m.flags = new.clone();
                    m.modseq = v;
                    out.push((uid, new, true));
                }
                Err(MailboxError::NoSuchMessage(_)) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if keywords_changed {
            let Inner { backend, msgs, .. } = &mut *inner;
            backend.save_keywords(msgs)?;
        }
        drop(inner);
        self.changed.notify_all();
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Removes the messages that have `\Deleted` (and, when `only` is given,
    /// a UID in it). Returns the removed UIDs (RFC 3501 §6.4.3, RFC 4315
    /// UID EXPUNGE).
    pub fn expunge(&self, only: Option<&[Uid]>) -> Result<Vec<Uid>> {
        let targets: Vec<u32> = {
            let inner = self.lock();
            inner
                .msgs
                .iter()
                .filter(|m| m.flags.is_deleted())
                .filter(|m| only.is_none_or(|o| o.iter().any(|u| u.get() == m.uid)))
                .map(|m| m.uid)
                .collect()
        };
        self.remove_uids(&targets, true)
    }

    /// Removes the messages with these UIDs whatever their flags (MOVE, POP3
    /// DELE). Returns those removed.
    pub fn remove(&self, uids: &[Uid]) -> Result<Vec<Uid>> {
        let v: Vec<u32> = uids.iter().map(|u| u.get()).collect();
        self.remove_uids(&v, false)
    }

    /// Removes messages; with `only_deleted`, those that lost `\Deleted`
    /// since they were chosen are kept.
    fn remove_uids(&self, uids: &[u32], only_deleted: bool) -> Result<Vec<Uid>> {
        self.remove_with(uids, only_deleted, |backend, msg| backend.remove(msg))
    }

    /// Takes messages out of the mailbox, `op` doing the backend's part.
    fn remove_with(
        &self,
        uids: &[u32],
        only_deleted: bool,
        op: impl Fn(&mut dyn FolderBackend, &Msg) -> Result<()>,
    ) -> Result<Vec<Uid>> {
        let mut inner = self.lock();
        let mut removed = Vec::new();
        let mut result = Ok(());
        for &uid in uids {
            let Some(i) = inner.find(uid) else { continue };
            if only_deleted && !inner.msgs[i].flags.is_deleted() {
                continue;
            }
            let msg = inner.msgs[i].clone();
            match op(inner.backend.as_mut(), &msg) {
                Ok(()) => {
                    inner.msgs.remove(i);
                    inner.recent_unclaimed.remove(&uid);
                    inner.version += 1;
                    removed.extend(Uid::new(uid));
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if !removed.is_empty() {
            let Inner { backend, msgs, .. } = &mut *inner;
            // Keyword entries of removed messages are dropped with the file.
            let _ = backend.save_keywords(msgs);
        }
        drop(inner);
        self.forget_cached(&removed.iter().map(|u| u.get()).collect::<Vec<_>>());
        self.changed.notify_all();
        result.map(|()| removed)
    }

    /// Copies messages into `dest` with their flags and internal dates.
    /// Returns `(source UID, new UID)` pairs in UID order (RFC 4315 COPYUID).
    pub fn copy_to(&self, uids: &[Uid], dest: &Mailbox) -> Result<Vec<(Uid, Uid)>> {
        let mut sorted: Vec<Uid> = uids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = Vec::new();
        for uid in sorted {
            // One message at a time, so the source lock is not held while
            // the destination (possibly the same mailbox) is written.
            let (info, raw) = {
                let inner = self.lock();
                let Some(i) = inner.find(uid.get()) else {
                    continue;
                };
                let m = &inner.msgs[i];
                let date = match m.date {
                    Some(d) => Ok(d),
                    None => inner.backend.read_date(m),
                };
                (m.info(), date.and_then(|d| Ok((d, inner.backend.read(m)?))))
            };
            let (date, raw) = match raw {
                Ok(r) => r,
                Err(MailboxError::NoSuchMessage(_)) => continue,
                Err(e) => return Err(e),
            };
            let new = dest.append(&raw, &info.flags, Some(date))?;
            out.push((uid, new));
        }
        Ok(out)
    }

    /// MOVE (RFC 6851): each message's file is renamed into `dest` where
    /// both backends keep files (Maildir), so a crash at any point leaves it
    /// in exactly one of the two folders, and a move inside one quota root
    /// needs no quota room (a user at the limit can still move mail to
    /// Trash). Otherwise (memory, or a mailbox moved into itself) it copies,
    /// then removes the originals. Returns `(source UID, new UID)` pairs in
    /// UID order (RFC 4315 COPYUID).
    pub fn move_to(&self, uids: &[Uid], dest: &Mailbox) -> Result<Vec<(Uid, Uid)>> {
        let mut sorted: Vec<Uid> = uids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = Vec::new();
        for uid in sorted {
            let found = {
                let inner = self.lock();
                inner.find(uid.get()).map(|i| {
                    let m = inner.msgs[i].clone();
                    let movable = inner.backend.movable(&m);
                    (m, movable)
                })
            };
            let Some((msg, movable)) = found else {
                continue;
            };
            let adopted = match &movable {
                Some(from) if !std::ptr::eq(self, dest) => dest.adopt(from, &msg)?,
                _ => None,
            };
            match adopted {
                Some(new) => {
                    let to_root = dest.lock().backend.quota_root();
                    self.remove_with(&[uid.get()], false, |backend, m| {
                        backend.forget_moved(m, to_root.as_deref())
                    })?;
                    out.push((uid, new));
                }
                None => {
                    // No rename possible: copy, then remove.
                    let pairs = self.copy_to(&[uid], dest)?;
                    let done: Vec<Uid> = pairs.iter().map(|(s, _)| *s).collect();
                    self.remove(&done)?;
                    out.extend(pairs);
                }
            }
        }
        Ok(out)
    }

    /// The destination half of a rename-move: `Ok(None)` when this
    /// mailbox's backend cannot adopt the file, or the file is gone (moved
    /// or expunged by someone else meanwhile).
    fn adopt(&self, from: &Movable, msg: &Msg) -> Result<Option<Uid>> {
        let mut inner = self.lock();
        match inner.backend.adopt(from, msg) {
            Ok(Some(appended)) => self.insert_appended(inner, appended).map(Some),
            Ok(None) | Err(MailboxError::NoSuchMessage(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The message bytes as stored (line ends as on disk).
    pub fn raw(&self, uid: Uid) -> Result<Arc<Vec<u8>>> {
        // Read the file without holding the mailbox lock, so sessions (and
        // SEARCH's threads) do not wait on each other's reads; a file
        // renamed meanwhile is found under the lock below.
        if let Some(path) = self.file_path(uid) {
            if let Ok(bytes) = std::fs::read(path) {
                return Ok(Arc::new(bytes));
            }
        }
        let inner = self.lock();
        let i = inner
            .find(uid.get())
            .ok_or(MailboxError::NoSuchMessage(uid.get()))?;
        inner.backend.read(&inner.msgs[i])
    }

    /// The folder's directory, for backends that have one.
    pub(crate) fn folder_dir(&self) -> Option<std::path::PathBuf> {
        self.lock().backend.folder_dir()
    }

    fn file_path(&self, uid: Uid) -> Option<std::path::PathBuf> {
        let inner = self.lock();
        let i = inner.find(uid.get())?;
        inner.backend.file_path(&inner.msgs[i])
    }

    /// Holds the mailbox for one POP3 maildrop (RFC 1939 §8): in this
    /// process, and across processes with a lock file in the folder
    /// (Maildir). [`MailboxError::InUse`] when another holds it.
    pub(crate) fn hold_maildrop(self: &Arc<Self>) -> Result<MaildropHold> {
        use std::sync::atomic::Ordering;
        if self
            .maildrop_held
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(MailboxError::InUse);
        }
        let file = self.lock().backend.lock_maildrop();
        match file {
            Ok(Some(file)) => Ok(MaildropHold {
                mailbox: Arc::clone(self),
                _file: file,
            }),
            other => {
                self.maildrop_held.store(false, Ordering::Release);
                Err(other.err().unwrap_or(MailboxError::InUse))
            }
        }
    }

    /// A reader over the message bytes as stored (line ends as on disk),
    /// streaming from the file where the backend has one, so a large
    /// message need not be held in memory (POP3 RETR, BODY[] literals).
    /// The file stays readable through the returned reader even if it is
    /// renamed or expunged meanwhile.
    pub fn open_message(&self, uid: Uid) -> Result<Box<dyn Read + Send>> {
        if let Some(path) = self.file_path(uid) {
            if let Ok(f) = std::fs::File::open(path) {
                return Ok(Box::new(std::io::BufReader::with_capacity(64 * 1024, f)));
            }
        }
        Ok(Box::new(std::io::Cursor::new(SharedBytes(self.raw(uid)?))))
    }

    /// Like [`Mailbox::open_message`], with bare LF line ends turned into
    /// CRLF as the wire needs them (RFC 3501 §2.3.4, RFC 1939 §3); the
    /// bytes read add up to [`Mailbox::rfc822_size`].
    pub fn open_message_crlf(&self, uid: Uid) -> Result<CrlfReader<Box<dyn Read + Send>>> {
        Ok(CrlfReader::new(self.open_message(uid)?))
    }

    /// The parsed message (CRLF form and MIME structure), shared by every
    /// session; the most recently used ones are kept parsed.
    pub fn content(&self, uid: Uid) -> Result<Arc<Message>> {
        if let Some(m) = self
            .caches()
            .parsed
            .iter()
            .find(|(u, _)| *u == uid.get())
            .map(|(_, m)| Arc::clone(m))
        {
            return Ok(m);
        }
        let parsed = Arc::new(Message::parse(&self.raw(uid)?));
        let mut c = self.caches();
        c.parsed.retain(|(u, _)| *u != uid.get());
        if c.parsed.len() >= PARSED_KEPT {
            c.parsed.pop_front();
        }
        c.parsed.push_back((uid.get(), Arc::clone(&parsed)));
        Ok(parsed)
    }

    /// ENVELOPE of a message (RFC 3501 §7.4.2), built from its header alone
    /// once, then kept in memory and in the persisted cache.
    pub fn envelope(&self, uid: Uid) -> Result<Arc<postroom_types::Envelope>> {
        {
            let mut c = self.caches();
            if let Some(e) = c.decoded(uid.get()) {
                return Ok(e);
            }
            if let Some(e) = c.get(uid.get(), ENVELOPE).and_then(decode_envelope) {
                let e = Arc::new(e);
                c.keep_decoded(uid.get(), &e);
                return Ok(e);
            }
        }
        Ok(self.header_values(uid)?.0)
    }

    /// ENVELOPE and the sort key record, the two values the header alone
    /// gives, built from one read of it and both cached: a client that
    /// FETCHes envelopes and then SORTs or THREADs (webmail does, on a
    /// mailbox no index describes yet) reads each file once, not twice.
    fn header_values(&self, uid: Uid) -> Result<(Arc<postroom_types::Envelope>, Arc<KeyRecord>)> {
        let date = self.internal_date(uid)?;
        let size = self.rfc822_size(uid)?;
        let header = self.header(uid)?;
        let (env, key) = header_values_of(uid.get(), date, size, &header);
        let (env, key) = (Arc::new(env), Arc::new(key));
        let mut c = self.caches();
        if self.lock().find(uid.get()).is_some() {
            Self::keep_header_values(&mut c, uid.get(), &env, &key);
        }
        Ok((env, key))
    }

    fn keep_header_values(
        c: &mut Caches,
        uid: u32,
        env: &Arc<postroom_types::Envelope>,
        key: &KeyRecord,
    ) {
        if c.get(uid, ENVELOPE).is_none() {
            c.put(uid, ENVELOPE, encode_envelope(env));
        }
        c.keep_decoded(uid, env);
        if c.get(uid, SORT_KEY).is_none() {
            c.put(uid, SORT_KEY, key.encode());
        }
    }

    /// Builds, on several threads, the ENVELOPE and sort key of those of
    /// `uids` that have neither cached yet, reading their headers straight
    /// from the files: what a first FETCH of envelopes, SORT or THREAD on
    /// a mailbox no index describes yet would otherwise do one message
    /// after the other. Afterwards [`Mailbox::envelope`] and
    /// [`Mailbox::sort_key`] answer these from memory. Only a hint: a
    /// message that cannot be read here (renamed, expunged, no file) is
    /// left to those calls; a short list, or a backend without files, is
    /// not worth threads and is left alone too.
    pub fn prefetch_header_values(&self, uids: &[Uid]) {
        let validity;
        type Todo = (u32, std::path::PathBuf, Option<InternalDate>, Option<u64>);
        let todo: Vec<Todo> = {
            let c = self.caches();
            let inner = self.lock();
            validity = inner.uid_validity;
            uids.iter()
                .filter(|u| {
                    c.get(u.get(), ENVELOPE).is_none() || c.get(u.get(), SORT_KEY).is_none()
                })
                .filter_map(|u| {
                    let m = &inner.msgs[inner.find(u.get())?];
                    Some((u.get(), inner.backend.file_path(m)?, m.date, m.vsize))
                })
                .collect()
        };
        if todo.len() < WORTH_THREADS {
            return;
        }
        let built = crate::par::map(&todo, |(uid, path, date, vsize)| {
            use crate::maildir::folder::{read_file, read_header_file};
            // A date the scan left unread comes from the open file.
            let dated = date.is_none();
            let (header, size, read_date) = match vsize {
                Some(v) => {
                    let (header, d) = read_header_file(path, dated).ok()?;
                    (header, *v, d)
                }
                None => {
                    let (raw, d) = read_file(path, dated).ok()?;
                    let size = crlf_size(&raw);
                    let len = crate::message::header_len(&raw);
                    (raw[..len].to_vec(), size, d)
                }
            };
            let date = date.or(read_date)?;
            let (env, key) = header_values_of(*uid, date, size, &header);
            Some((Arc::new(env), key, size, date))
        });
        let mut c = self.caches();
        let mut inner = self.lock();
        if inner.uid_validity != validity {
            // A new UID space meanwhile: these values belong to the old one.
            return;
        }
        for ((uid, _, _, _), got) in todo.iter().zip(built) {
            let Some((env, key, size, date)) = got else {
                continue;
            };
            let Some(i) = inner.find(*uid) else {
                continue;
            };
            inner.msgs[i].vsize.get_or_insert(size);
            inner.msgs[i].date.get_or_insert(date);
            Self::keep_header_values(&mut c, *uid, &env, &key);
        }
    }

    /// BODYSTRUCTURE of a message (RFC 3501 §7.4.2, with extension data;
    /// BODY is [`BodyStructure::without_extensions`] of it), built from the
    /// parsed message once, then kept in memory (compactly encoded) and in
    /// the persisted cache, so a FETCH of it after a restart reads no
    /// message file.
    pub fn body_structure(&self, uid: Uid) -> Result<Arc<BodyStructure>> {
        let cached = self
            .caches()
            .get(uid.get(), STRUCTURE)
            .and_then(decode_structure);
        if let Some(s) = cached {
            return Ok(Arc::new(s));
        }
        let structure = Arc::new(self.content(uid)?.body_structure(true));
        let bytes = encode_structure(&structure);
        let mut c = self.caches();
        if self.lock().find(uid.get()).is_some() {
            c.put(uid.get(), STRUCTURE, bytes);
        }
        Ok(structure)
    }

    /// The `postroom-sort` key record of a message (RFC 5256 SORT and
    /// THREAD keys), built once from its header, INTERNALDATE and
    /// RFC822.SIZE, then kept in memory and in the persisted cache, so SORT
    /// and THREAD do not parse headers again.
    pub fn sort_key(&self, uid: Uid) -> Result<Arc<KeyRecord>> {
        if let Some(k) = self.cached_sort_key(uid) {
            return Ok(k);
        }
        Ok(self.header_values(uid)?.1)
    }

    /// The key record of [`Mailbox::sort_key`] if it is built already
    /// (no file is read): a caller can take these first and hand the rest
    /// to [`Mailbox::prefetch_header_values`].
    pub fn cached_sort_key(&self, uid: Uid) -> Option<Arc<KeyRecord>> {
        let mut c = self.caches();
        if let Some(k) = c.keys.get(&uid.get()) {
            return Some(Arc::clone(k));
        }
        let k = Arc::new(KeyRecord::decode(c.get(uid.get(), SORT_KEY)?).ok()?);
        c.keys.insert(uid.get(), Arc::clone(&k));
        Some(k)
    }

    /// The stored header of a message (up to its blank line).
    pub(crate) fn header(&self, uid: Uid) -> Result<Vec<u8>> {
        let inner = self.lock();
        let i = inner
            .find(uid.get())
            .ok_or(MailboxError::NoSuchMessage(uid.get()))?;
        inner.backend.read_header(&inner.msgs[i])
    }

    /// Writes the persisted cache (Maildir: `postroom-index`) when
    /// something in it changed: per message UID, file name, size, internal
    /// date, RFC822.SIZE, ENVELOPE, sort key record and BODYSTRUCTURE, so
    /// a restart needs
    /// neither to stat nor to read the messages. Done automatically when
    /// the last handle is dropped; a server may call it at other times
    /// (e.g. after a large FETCH). The cache is never authoritative: a
    /// crash before a save costs time at the next open, nothing else.
    pub fn save_cache(&self) -> Result<()> {
        let mut c = self.caches();
        if !c.dirty {
            return Ok(());
        }
        let mut inner = self.lock();
        Self::save_locked(&mut c, &mut inner)
    }

    fn save_locked(c: &mut Caches, inner: &mut Inner) -> Result<()> {
        let Inner {
            backend,
            msgs,
            uid_validity,
            uid_next,
            ..
        } = inner;
        let cache: &Caches = c;
        let records: Vec<RecordRef<'_>> = msgs
            .iter()
            .map(|m| RecordRef {
                uid: m.uid,
                name: &m.key,
                size: m.size,
                mtime: m
                    .date
                    .map(|d| (d.0.timestamp(), d.0.timestamp_subsec_nanos())),
                vsize: m.vsize,
                derived: std::array::from_fn(|k| cache.get(m.uid, k)),
            })
            .collect();
        backend.save_cache(*uid_validity, *uid_next, &records)?;
        drop(records);
        c.dirty = false;
        Ok(())
    }

    /// Data derived from a message's content, computed once and kept while
    /// the message exists, shared by all sessions: the place for
    /// `postroom-sort` key records, envelopes and the like (one value per
    /// type and message). Not persisted yet.
    pub fn derived<T: Any + Send + Sync>(
        &self,
        uid: Uid,
        compute: impl FnOnce(&Message) -> T,
    ) -> Result<Arc<T>> {
        let key = (uid.get(), TypeId::of::<T>());
        if let Some(v) = self.caches().derived.get(&key) {
            if let Ok(v) = Arc::clone(v).downcast::<T>() {
                return Ok(v);
            }
        }
        let content = self.content(uid)?;
        let value = Arc::new(compute(&content));
        let mut c = self.caches();
        if self.lock().find(uid.get()).is_some() {
            c.derived
                .insert(key, Arc::clone(&value) as Arc<dyn Any + Send + Sync>);
        }
        Ok(value)
    }

    fn caches(&self) -> MutexGuard<'_, Caches> {
        // Cache contents stay valid whatever a panicking holder did.
        self.caches.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget_cached(&self, uids: &[u32]) {
        let mut c = self.caches();
        c.parsed.retain(|(u, _)| !uids.contains(u));
        c.derived.retain(|(u, _), _| !uids.contains(u));
        for u in uids {
            c.forget(*u);
        }
        c.dirty |= !uids.is_empty();
    }

    /// RFC822.SIZE: octets with CRLF line ends (RFC 3501 §2.3.4), computed
    /// once and then kept.
    pub fn rfc822_size(&self, uid: Uid) -> Result<u64> {
        {
            let inner = self.lock();
            let i = inner
                .find(uid.get())
                .ok_or(MailboxError::NoSuchMessage(uid.get()))?;
            if let Some(v) = inner.msgs[i].vsize {
                return Ok(v);
            }
        }
        let raw = self.raw(uid)?;
        let size = crlf_size(&raw);
        let mut inner = self.lock();
        if let Some(i) = inner.find(uid.get()) {
            inner.msgs[i].vsize = Some(size);
        }
        Ok(size)
    }

    /// INTERNALDATE (RFC 3501 §2.3.3). A Maildir folder's first scan does
    /// not read file times, as a stat of every file is most of the cost
    /// of a cold open of a large folder (Dovecot defers it the same way);
    /// the first call reads it, and the date is kept from then on.
    pub fn internal_date(&self, uid: Uid) -> Result<InternalDate> {
        let (path, validity, key) = {
            let inner = self.lock();
            let i = inner
                .find(uid.get())
                .ok_or(MailboxError::NoSuchMessage(uid.get()))?;
            let m = &inner.msgs[i];
            if let Some(d) = m.date {
                return Ok(d);
            }
            (
                inner.backend.file_path(m),
                inner.uid_validity,
                m.key.clone(),
            )
        };
        // The file is looked at without the mailbox lock, as in
        // Mailbox::raw; one renamed meanwhile is found under it below.
        let read = path
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| crate::maildir::folder::file_date(&m));
        let mut inner = self.lock();
        let i = inner
            .find(uid.get())
            .ok_or(MailboxError::NoSuchMessage(uid.get()))?;
        if let Some(d) = inner.msgs[i].date {
            return Ok(d);
        }
        // The same message as before (not a new UID space, not renamed
        // meanwhile), or the time read belongs to another file.
        let same = inner.uid_validity == validity && inner.msgs[i].key == key;
        let d = match read.filter(|_| same) {
            Some(d) => d,
            None => inner.backend.read_date(&inner.msgs[i])?,
        };
        inner.msgs[i].date = Some(d);
        Ok(d)
    }

    /// Reads, on several threads, the INTERNALDATE of those of `uids`
    /// whose date no command has needed yet: what a FETCH INTERNALDATE or
    /// a SEARCH SINCE over a folder just opened would otherwise do one
    /// file after the other. Only a hint, like
    /// [`Mailbox::prefetch_header_values`]: a message whose file cannot
    /// be read here (renamed, expunged, no file) is left to
    /// [`Mailbox::internal_date`], and a short list is left alone.
    pub fn prefetch_internal_dates(&self, uids: &[Uid]) {
        if self.read_dates(uids) {
            // Files renamed by another process (flag changes) since the
            // last scan: one rescan finds their names, instead of a
            // directory read for each in Mailbox::internal_date.
            if self.rescan().is_ok() {
                self.read_dates(uids);
            }
        }
    }

    /// The work of [`Mailbox::prefetch_internal_dates`]; returns whether
    /// any file was not found under its name.
    fn read_dates(&self, uids: &[Uid]) -> bool {
        let (validity, todo) = {
            let inner = self.lock();
            let todo: Vec<(u32, std::path::PathBuf)> = uids
                .iter()
                .filter_map(|u| {
                    let m = &inner.msgs[inner.find(u.get())?];
                    match m.date {
                        Some(_) => None,
                        None => Some((m.uid, inner.backend.file_path(m)?)),
                    }
                })
                .collect();
            (inner.uid_validity, todo)
        };
        if todo.len() < WORTH_THREADS {
            return false;
        }
        let found = crate::par::map(&todo, |(_, path)| {
            std::fs::metadata(path)
                .ok()
                .map(|m| crate::maildir::folder::file_date(&m))
        });
        let mut inner = self.lock();
        if inner.uid_validity != validity {
            // A new UID space meanwhile: these UIDs name other messages.
            return false;
        }
        let mut missed = false;
        for ((uid, _), date) in todo.iter().zip(found) {
            match (date, inner.find(*uid)) {
                (Some(d), Some(i)) => {
                    inner.msgs[i].date.get_or_insert(d);
                }
                (None, Some(_)) => missed = true,
                _ => {}
            }
        }
        missed
    }

    /// POP3 UIDLs recorded by Courier's pop3d for messages of this
    /// mailbox, by UID (empty when there is no `courierpop3dsizelist`).
    pub fn foreign_uidls(&self) -> HashMap<Uid, String> {
        let inner = self.lock();
        inner
            .backend
            .foreign_uidls(&inner.msgs)
            .into_iter()
            .filter_map(|(u, s)| Some((Uid::new(u)?, s)))
            .collect()
    }

    /// Reads the backend again to pick up changes made by other processes
    /// (a delivery into `new/`, another server's flag changes and
    /// expunges). Cheap when nothing changed.
    pub fn rescan(&self) -> Result<()> {
        let mut inner = self.lock();
        inner.last_scan = Instant::now();
        let Inner { backend, msgs, .. } = &mut *inner;
        let scan = backend.scan(false, msgs)?;
        let before = inner.uid_validity;
        let changed = match scan {
            Some(scan) => inner.merge(scan),
            None => false,
        };
        let new_uid_space = inner.uid_validity != before;
        drop(inner);
        if changed {
            let mut c = self.caches();
            if new_uid_space {
                // UIDs of the new space name other messages: nothing
                // derived under the old ones may be served for them.
                *c = Caches::default();
            }
            c.dirty = true;
            drop(c);
            self.changed.notify_all();
        }
        Ok(())
    }

    /// Rescans only when another process may have changed the folder
    /// since the last scan: a file change notification arrived, or
    /// [`Mailbox::poll_interval`] has passed (where watching is off or
    /// unavailable, this bounds how stale the view can be). Changes made
    /// through this `Mailbox` are known without a scan.
    pub fn rescan_if_due(&self) -> Result<()> {
        let notified = self
            .fs_event
            .swap(false, std::sync::atomic::Ordering::AcqRel);
        if notified || self.lock().last_scan.elapsed() >= self.poll_interval {
            self.rescan()
        } else {
            Ok(())
        }
    }

    /// Starts watching `dirs` with the operating system's file change
    /// notification (inotify on Linux; see [`crate::watch`]): a
    /// change there wakes [`Mailbox::wait_for_change`] at once, which then
    /// rescans. The watch is set up in the background (see
    /// [`Mailbox::is_watched`]); where it cannot be (no inotify, watch
    /// limits reached), polling alone goes on.
    pub(crate) fn watch(&self, dirs: &[std::path::PathBuf]) {
        let flag = Arc::clone(&self.fs_event);
        let changed = Arc::clone(&self.changed);
        let w = crate::watch::DirWatch::start(dirs, move || {
            flag.store(true, std::sync::atomic::Ordering::Release);
            changed.notify_all();
        });
        *self.watcher.lock().unwrap_or_else(|e| e.into_inner()) = w;
    }

    /// Whether a file system watcher wakes this mailbox (see
    /// `MaildirStore::with_file_watch`). The watch is set up in the
    /// background, so this turns true a moment after the open.
    pub fn is_watched(&self) -> bool {
        self.watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(crate::watch::DirWatch::is_active)
    }

    /// Wakes sessions waiting in [`Mailbox::wait_for_change`], e.g. after a
    /// delivery by this process.
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// The change counter: moves on every change.
    pub fn version(&self) -> u64 {
        self.lock().version
    }

    /// Blocks until the version differs from `seen` or `timeout` passes,
    /// rescanning the backend every poll interval meanwhile, and at once
    /// when the file system watcher reports a change. Returns the current
    /// version.
    pub fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = Instant::now();
            if self
                .fs_event
                .swap(false, std::sync::atomic::Ordering::AcqRel)
            {
                self.rescan()?;
            }
            let mut inner = self.lock();
            if inner.version != seen || now >= deadline {
                return Ok(inner.version);
            }
            if self.fs_event.load(std::sync::atomic::Ordering::Acquire) {
                continue;
            }
            let next_scan = inner.last_scan + self.poll_interval;
            if now >= next_scan {
                drop(inner);
                self.rescan()?;
                continue;
            }
            let wait = next_scan.min(deadline).saturating_duration_since(now);
            inner = self
                .changed
                .wait_timeout(inner, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
            drop(inner);
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock was held leaves consistent data: every
        // mutation is completed before the next can start.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Shared message bytes as a `Cursor` source.
struct SharedBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A reader that turns bare LF line ends of the inner reader into CRLF
/// (from [`Mailbox::open_message_crlf`]); CRLF stays as it is.
#[derive(Debug)]
pub struct CrlfReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    /// The last byte taken from `inner` was CR.
    last_cr: bool,
}

impl<R: Read> CrlfReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> CrlfReader<R> {
        CrlfReader {
            inner,
            buf: Vec::new(),
            pos: 0,
            last_cr: false,
        }
    }
}

impl<R: Read> Read for CrlfReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            let mut chunk = [0u8; 16 * 1024];
            let n = self.inner.read(&mut chunk)?;
            if n == 0 {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            for &b in &chunk[..n] {
                if b == b'\n' && !self.last_cr {
                    self.buf.push(b'\r');
                }
                self.buf.push(b);
                self.last_cr = b == b'\r';
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// ENVELOPE (RFC 3501 §7.4.2) and the RFC 5256 sort key record of a
/// message, from its stored header alone, split once: no MIME parse is
/// needed for either.
fn header_values_of(
    uid: u32,
    date: InternalDate,
    size: u64,
    header: &[u8],
) -> (postroom_types::Envelope, KeyRecord) {
    let header = crate::message::to_crlf(header);
    let fields = crate::message::TopFields::new(&header);
    let env = fields.envelope();
    let [d, s, f, t, c, m, i, r] = [
        "date",
        "subject",
        "from",
        "to",
        "cc",
        "message-id",
        "in-reply-to",
        "references",
    ]
    .map(|name| fields.get(name));
    let key = KeyRecord::from_raw(&RawMessage {
        number: uid,
        internal_date: date.0.timestamp(),
        size,
        date: d.as_deref(),
        subject: s.as_deref(),
        from: f.as_deref(),
        to: t.as_deref(),
        cc: c.as_deref(),
        message_id: m.as_deref(),
        in_reply_to: i.as_deref(),
        references: r.as_deref(),
    });
    (env, key)
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let c = self.caches.get_mut().unwrap_or_else(|e| e.into_inner());
        if c.dirty {
            let inner = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
            // Best effort: the cache is rebuilt at the next open if this
            // write fails.
            let _ = Self::save_locked(c, inner);
        }
    }
}

impl Inner {
    pub(crate) fn find(&self, uid: u32) -> Option<usize> {
        self.msgs.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    /// Merges a scan into the message list; returns whether anything changed.
    fn merge(&mut self, scan: ScanResult) -> bool {
        let mut changed = false;
        if scan.uid_validity != self.uid_validity {
            // A new UID space: every old message is gone.
            changed |= !self.msgs.is_empty();
            self.msgs.clear();
            self.recent_unclaimed.clear();
            self.uid_validity = scan.uid_validity;
        }
        let old = std::mem::take(&mut self.msgs);
        // The scan's list becomes the message list, updated in place (on
        // a large folder's first open a copy is megabytes of fresh pages).
        let ScanResult {
            messages: mut out,
            uid_next,
            ..
        } = scan;
        let mut fresh = Vec::new();
        let mut old_iter = old.into_iter().peekable();
        for m in &mut out {
            while old_iter.peek().is_some_and(|o| o.uid < m.uid) {
                old_iter.next();
                changed = true;
                self.version += 1;
            }
            match old_iter.peek() {
                Some(o) if o.uid == m.uid => {
                    // Some(o) was just peeked.
                    let o = old_iter.next().unwrap_or_else(|| unreachable!());
                    if o.flags != m.flags {
                        self.version += 1;
                        m.modseq = self.version;
                        changed = true;
                    } else {
                        m.modseq = o.modseq;
                    }
                    m.vsize = m.vsize.or(o.vsize);
                    // A flag change renames the file; its time stays.
                    m.date = m.date.or(o.date);
                }
                _ => {
                    self.version += 1;
                    m.modseq = self.version;
                    if m.fresh {
                        fresh.push(m.uid);
                    }
                    changed = true;
                }
            }
        }
        for _ in old_iter {
            changed = true;
            self.version += 1;
        }
        if self.recent_unclaimed.is_empty() {
            // In UID order: built in bulk (a first open of a large folder).
            self.recent_unclaimed = fresh.into_iter().collect();
        } else {
            self.recent_unclaimed.extend(fresh);
            // Both in UID order (retain visits the set in ascending
            // order): one walk drops what is gone.
            let mut present = out.iter().map(|m| m.uid).peekable();
            self.recent_unclaimed.retain(|&u| {
                while present.next_if(|&p| p < u).is_some() {}
                present.peek() == Some(&u)
            });
        }
        self.msgs = out;
        self.uid_next = self.uid_next.max(uid_next);
        changed
    }
}

impl Msg {
    pub(crate) fn info(&self) -> MessageInfo {
        MessageInfo {
            // Backends never hold UID 0.
            uid: Uid::new(self.uid).unwrap_or(Uid::MIN),
            flags: self.flags.clone(),
            physical_size: self.size,
        }
    }
}

/// Below this many messages a prefetch is not worth threads.
const WORTH_THREADS: usize = 256;

pub(crate) fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
