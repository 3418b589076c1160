//! The Maildir backend of one folder: `cur/`, `new/`, `tmp/`,
//! `courierimapuiddb`, `courierimapkeywords/`.

use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use postroom_types::{InternalDate, Keyword};

use super::atomic::{sync_dir, unique_name, write_atomic};
use super::filename::{MaildirName, NameFields, is_message_name};
use super::index::{FileStamp, INDEX_FILE, Index, RecordRef};
use super::keywords::{CourierKeywords, parse_dovecot_keywords};
use super::lock::DotLock;
use super::uiddb::UidDb;
use crate::error::{MailboxError, Result};
use crate::flags::FlagSet;
use crate::mailbox::{Appended, CachedDerived, FolderBackend, Movable, Msg, ScanResult};
use crate::message::crlf_size;
use crate::quota::QuotaHook;

/// Courier's UID file.
pub(crate) const UIDDB: &str = "courierimapuiddb";
/// Dovecot's UID file (imported once).
pub(crate) const DOVECOT_UIDLIST: &str = "dovecot-uidlist";
/// Courier's keyword directory.
pub(crate) const KEYWORD_DIR: &str = "courierimapkeywords";
/// Dovecot's keyword letters (imported once).
pub(crate) const DOVECOT_KEYWORDS: &str = "dovecot-keywords";
/// The POP3 maildrop lock file (`<pid> <host>`), held while a maildrop
/// is open exclusively.
pub(crate) const MAILDROP_LOCK: &str = "postroom-pop3.lock";
/// Courier's epoch for UIDVALIDITY values (time minus this).
const IMAP_EPOCH: i64 = 1_000_000_000;

/// File stamps used to skip a rescan when nothing changed.
type Stamp = Option<(SystemTime, u64)>;

pub(crate) struct MaildirFolder {
    dir: PathBuf,
    quota: Arc<dyn QuotaHook>,
    db: UidDb,
    db_stamp: Stamp,
    keywords: CourierKeywords,
    /// Courier update files read with the keywords (removed once folded
    /// into `:list`).
    keyword_updates: Vec<String>,
    /// Bases whose keywords this process changed since the last write:
    /// only these override what is on disk, so changes by other processes
    /// to other messages survive.
    keyword_dirty: HashSet<String>,
    stamps: Option<[Stamp; 4]>,
    /// File name → (internal date if read, size) of files the mailbox's
    /// messages do not cover (the index's records at the first scan,
    /// appended files), so a rescan stats only new names.
    stat_cache: HashMap<String, (Option<InternalDate>, u64)>,
    /// `postroom-index` as read at the first scan, until the mailbox has
    /// taken its derived data (`None` afterwards, or when absent/unusable).
    index: Option<Index>,
    /// Whether the first scan has looked for `postroom-index`.
    index_read: bool,
    /// Whether the first scan was served by `postroom-index` alone.
    opened_from_index: bool,
    /// Marks the directory alive in this process until the backend (and
    /// so its last index save) is gone.
    _alive: super::store::AliveGuard,
}

impl MaildirFolder {
    pub(crate) fn new(dir: PathBuf, quota: Arc<dyn QuotaHook>) -> MaildirFolder {
        MaildirFolder {
            _alive: super::store::AliveGuard::new(),
            dir,
            quota,
            db: UidDb::default(),
            db_stamp: None,
            keywords: CourierKeywords::default(),
            keyword_updates: Vec::new(),
            keyword_dirty: HashSet::new(),
            stamps: None,
            stat_cache: HashMap::new(),
            index: None,
            index_read: false,
            opened_from_index: false,
        }
    }

    /// The signal of this backend's end (after its last index save).
    pub(crate) fn closing(&self) -> Arc<super::store::Closing> {
        self._alive.closing()
    }

    /// Reads `postroom-index` once, at the first scan (`None` when absent
    /// or unusable: other version, bad checksum, truncated).
    fn load_index_file(&mut self) {
        if self.index_read {
            return;
        }
        self.index_read = true;
        let Ok(bytes) = fs::read(self.dir.join(INDEX_FILE)) else {
            return;
        };
        self.index = Index::decode(bytes);
    }

    /// After the UID file is read: an index of another UID space is
    /// dropped; otherwise its sizes and times fill the stat cache (a
    /// Maildir file's contents and time never change; a flag change
    /// renames it, and a renamed file is simply stat'ed again).
    fn apply_index_stats(&mut self) {
        let Some(index) = &self.index else {
            return;
        };
        if index.uid_validity != self.db.uid_validity {
            self.index = None;
            return;
        }
        if !self.stat_cache.is_empty() {
            return;
        }
        self.stat_cache.reserve(index.records.len());
        for r in &index.records {
            let date = r.mtime.and_then(index_date);
            self.stat_cache.insert(r.name.clone(), (date, r.size));
        }
    }

    /// The warm open: when the folder's stamps (cur/, new/, UID file,
    /// keyword directory) are those the index was written for, and old
    /// enough to be trusted, nothing changed on disk since, so the index
    /// is the folder: no directory read, no UID file parse, no stat. The
    /// record names move into the messages (no copy); the rest of the
    /// index stays for [`FolderBackend::take_cached`].
    fn open_from_index(&mut self, current: &[Stamp; 4], taken: SystemTime) -> Option<ScanResult> {
        let mut index = self.index.take()?;
        let usable = index.stamps.is_some_and(|st| st == file_stamps(current))
            && settled(current, taken)
            && index
                .records
                .iter()
                .all(|r| r.mtime.is_none_or(|t| index_date(t).is_some()));
        // Dovecot's keyword letters are imported by a full scan.
        let dovecot_import = current[3].is_none() && self.dir.join(DOVECOT_KEYWORDS).exists();
        if !usable || dovecot_import || self.load_keywords(std::iter::empty()).is_err() {
            self.index = Some(index);
            return None;
        }
        let mut messages = Vec::with_capacity(index.records.len());
        for r in &mut index.records {
            let (base, system) = MaildirName::base_and_flags(&r.name);
            let keywords = self
                .keywords
                .by_base
                .get(base)
                .map(|k| {
                    k.iter()
                        .filter_map(|s| Keyword::new(s).ok())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let vsize = r.vsize.or_else(|| MaildirName::parse(&r.name).vsize);
            messages.push(Msg {
                uid: r.uid,
                date: r.mtime.and_then(index_date),
                key: std::mem::take(&mut r.name),
                flags: FlagSet::from_parts(system, keywords),
                size: r.size,
                vsize,
                modseq: 0,
                fresh: false,
            });
        }
        // For a later new UID space (RFC 3501 §2.3.1.1: larger).
        self.db.uid_validity = index.uid_validity;
        self.stamps = Some(*current);
        self.opened_from_index = true;
        let result = ScanResult {
            uid_validity: index.uid_validity,
            uid_next: index.uid_next,
            messages,
        };
        self.index = Some(index);
        Some(result)
    }

    fn cur(&self) -> PathBuf {
        self.dir.join("cur")
    }

    fn current_stamps(&self) -> [Stamp; 4] {
        [
            stamp(&self.dir.join("cur")),
            stamp(&self.dir.join("new")),
            stamp(&self.dir.join(UIDDB)),
            stamp(&self.dir.join(KEYWORD_DIR)),
        ]
    }

    /// Reads the UID file; imports Dovecot's when Courier's is absent;
    /// starts a new UID space otherwise.
    ///
    /// Always read again (under the UID lock): a file rewritten by another
    /// process within one timestamp tick and to the same length would look
    /// unchanged, and a stale next UID could then be given twice.
    fn load_db(&mut self) -> Result<()> {
        let path = self.dir.join(UIDDB);
        let st = stamp(&path);
        match fs::read(&path) {
            Ok(bytes) => match UidDb::parse_courier(&bytes) {
                Ok(db) => {
                    self.db = db;
                    self.db_stamp = st;
                    return Ok(());
                }
                Err(_) => {
                    // Unusable: a new UID space with a larger UIDVALIDITY
                    // (RFC 3501 §2.3.1.1) below.
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Ok(bytes) = fs::read(self.dir.join(DOVECOT_UIDLIST)) {
                    if let Ok(db) = UidDb::parse_dovecot(&bytes) {
                        self.db = db;
                        self.db_stamp = None;
                        return Ok(());
                    }
                }
            }
            Err(e) => return Err(MailboxError::io(path, e)),
        }
        let previous = self.db.uid_validity;
        self.db = UidDb {
            uid_validity: new_uid_validity(previous),
            next_uid: 1,
            entries: Vec::new(),
        };
        self.db_stamp = None;
        Ok(())
    }

    fn save_db(&mut self) -> Result<()> {
        let path = self.dir.join(UIDDB);
        write_atomic(&path, &self.db.to_courier_bytes()).map_err(|e| MailboxError::io(&path, e))?;
        self.db_stamp = stamp(&path);
        Ok(())
    }

    /// Reads keywords: Courier's directory if present, else Dovecot's
    /// letters (imported into Courier's layout right away).
    /// `names` are the folder's file names (read for Dovecot's letters
    /// only when those are imported).
    fn load_keywords<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> Result<()> {
        let kdir = self.dir.join(KEYWORD_DIR);
        match fs::read_dir(&kdir) {
            Ok(_) => {
                let (kw, folded) = read_keyword_dir(&kdir);
                self.keyword_updates = folded;
                self.keywords = kw;
                // Our own unsaved changes (none normally: writes follow
                // changes at once) stay on top.
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.keywords = CourierKeywords::default();
                if let Ok(bytes) = fs::read(self.dir.join(DOVECOT_KEYWORDS)) {
                    let letters = parse_dovecot_keywords(&bytes);
                    for n in names.into_iter().map(MaildirName::parse) {
                        let kws: Vec<String> = n
                            .dovecot_letters
                            .iter()
                            .filter_map(|l| letters.get(l).cloned())
                            .collect();
                        if !kws.is_empty() {
                            self.keywords.by_base.insert(n.base.clone(), kws);
                            self.keyword_dirty.insert(n.base.clone());
                        }
                    }
                    self.write_keywords()?;
                }
            }
            Err(e) => return Err(MailboxError::io(kdir, e)),
        }
        Ok(())
    }

    /// Writes `:list`: what is on disk now (with Courier's update files
    /// folded in), overridden by this process's changes, then removes the
    /// update files that were folded in.
    fn write_keywords(&mut self) -> Result<()> {
        let kdir = self.dir.join(KEYWORD_DIR);
        match fs::create_dir(&kdir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(MailboxError::io(kdir, e)),
        }
        let (mut disk, folded) = read_keyword_dir(&kdir);
        for base in self.keyword_dirty.drain() {
            match self.keywords.by_base.get(&base) {
                Some(k) => {
                    disk.by_base.insert(base, k.clone());
                }
                None => {
                    disk.by_base.remove(&base);
                }
            }
        }
        self.keywords = disk;
        let list = kdir.join(":list");
        write_atomic(&list, &self.keywords.to_list_bytes())
            .map_err(|e| MailboxError::io(&list, e))?;
        for u in folded {
            let _ = fs::remove_file(kdir.join(u));
        }
        self.keyword_updates.clear();
        Ok(())
    }

    /// Moves everything in `new/` to `cur/` (adding `:2,`), then lists
    /// `cur/`. `new/` is read first so a message moved by another process
    /// between the two reads is still seen in `cur/`.
    fn list_files(&self) -> Result<Listing> {
        let new = self.dir.join("new");
        let cur = self.cur();
        let rd = match fs::read_dir(&new) {
            Ok(rd) => Some(rd),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(MailboxError::io(new, e)),
        };
        let mut moved = false;
        for e in rd.into_iter().flatten().flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            if !is_message_name(&name) {
                continue;
            }
            let target = if name.contains(':') {
                name.clone()
            } else {
                format!("{name}:2,")
            };
            match fs::rename(e.path(), cur.join(&target)) {
                Ok(()) => moved = true,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(MailboxError::io(e.path(), err)),
            }
        }
        if moved {
            sync_dir(&cur).map_err(|e| MailboxError::io(&cur, e))?;
        }
        read_listing(&cur)
    }

    /// The full scan under the UID lock: assigns UIDs to unknown files and
    /// persists them before anyone can see them.
    ///
    /// Built for a folder's first open, where every one of possibly
    /// 100,000 names is new: names stay in the one vector the directory
    /// read filled and are moved into the messages at the end; everything
    /// in between refers to them by index, and nothing per name allocates.
    fn scan_locked(&mut self, known_msgs: &[Msg]) -> Result<ScanResult> {
        if !self.cur().is_dir() {
            return Err(MailboxError::NotFound(self.dir.display().to_string()));
        }
        let _lock = DotLock::acquire(&self.dir)?;
        self.load_db()?;
        let Listing {
            names: mut files,
            mut regular,
        } = self.list_files()?;
        let known: HashMap<&str, u32> = self
            .db
            .entries
            .iter()
            .map(|(u, b)| (b.as_str(), *u))
            .collect();
        let mut found = classify(&files, &known);
        if found.with_uid.len() < known.len() {
            // A flag rename by another process can hide a file from one
            // directory read; read once more before forgetting any UID
            // (names already seen keep their place: each base counts once).
            let again = read_listing(&self.cur())?;
            files.extend(again.names);
            regular.extend(again.regular);
            found = classify(&files, &known);
        }
        drop(known);
        let Classified {
            mut with_uid,
            unknown,
            fields,
        } = found;
        let stale = self.db.entries.len() != with_uid.len();
        // New files get UIDs in delivery order.
        let assigned = !unknown.is_empty();
        for (_, _, i) in unknown {
            let uid = self.db.next_uid;
            if uid == u32::MAX {
                return Err(MailboxError::UidsExhausted);
            }
            self.db.next_uid += 1;
            with_uid.push((uid, i, true));
        }
        // Still in UID order: the UID file's UIDs are all below its next
        // UID (UidDb makes them so), and new ones count up from there.
        debug_assert!(with_uid.is_sorted());
        // Each file's UID (0: none), so what follows can walk the names
        // in the order the directory read allocated them: on a large
        // folder a walk in UID order missed the cache on every name.
        let mut uid_of = vec![0u32; files.len()];
        for &(uid, i, _) in &with_uid {
            uid_of[i as usize] = uid;
        }
        if assigned || stale || self.db_stamp.is_none() {
            let mut entries: Vec<(u32, String)> = files
                .iter()
                .zip(&uid_of)
                .filter(|(_, u)| **u != 0)
                .map(|(f, &u)| (u, MaildirName::base(f).to_owned()))
                .collect();
            entries.sort_unstable_by_key(|e| e.0);
            self.db.entries = entries;
            self.save_db()?;
        }
        self.load_keywords(with_uid.iter().map(|&(_, i, _)| files[i as usize].as_str()))?;
        self.apply_index_stats();
        // What the mailbox already knows of a file name needs no stat.
        let by_name: HashMap<&str, (Option<InternalDate>, u64)> = known_msgs
            .iter()
            .map(|m| (m.key.as_str(), (m.date, m.size)))
            .collect();
        let cur = self.cur();
        // What is known of each file. The size of a file whose name has
        // no `S=` comes from a stat, on several threads when there are
        // many; the file time (INTERNALDATE) is read when first needed
        // (Mailbox::internal_date), so regular files whose names carry
        // `S=` (Courier's, Dovecot's and postroom's own deliveries) need
        // no stat at all. Anything else the directory listing does not
        // call a regular file (a symbolic link, a file system that does
        // not say) is stat'ed, and left out when that fails.
        let mut stats: Vec<Option<(Option<InternalDate>, u64)>> = files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if uid_of[i] == 0 {
                    return None;
                }
                by_name
                    .get(f.as_str())
                    .or_else(|| self.stat_cache.get(f))
                    .copied()
                    .or_else(|| fields[i].size.filter(|_| regular[i]).map(|s| (None, s)))
            })
            .collect();
        drop(by_name);
        let missing: Vec<usize> = (0..files.len())
            .filter(|&i| uid_of[i] != 0 && stats[i].is_none())
            .collect();
        // Each name is looked up in cur/ itself (not walked from the root).
        let cur_dir = if missing.is_empty() {
            None
        } else {
            fs::File::open(&cur).ok()
        };
        let stated = crate::par::map(&missing, |&i| {
            // Renamed or removed since the directory was read: left out;
            // the next scan sees its new state.
            let (date, len) = stat_in(cur_dir.as_ref(), &cur, &files[i])?;
            Some((Some(date), len))
        });
        for (i, st) in missing.into_iter().zip(stated) {
            stats[i] = st;
        }
        let mut messages = Vec::with_capacity(with_uid.len());
        for &(uid, i, fresh) in &with_uid {
            let i = i as usize;
            let Some((date, size)) = stats[i] else {
                continue;
            };
            let key = std::mem::take(&mut files[i]);
            let keywords = if self.keywords.by_base.is_empty() {
                Vec::new()
            } else {
                self.keywords
                    .by_base
                    .get(MaildirName::base(&key))
                    .map(|k| {
                        k.iter()
                            .filter_map(|s| Keyword::new(s).ok())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            };
            messages.push(Msg {
                uid,
                key,
                flags: FlagSet::from_parts(fields[i].system, keywords),
                date,
                size,
                vsize: fields[i].vsize,
                modseq: 0,
                fresh,
            });
        }
        // The messages now carry these (the mailbox passes them back).
        self.stat_cache = HashMap::new();
        Ok(ScanResult {
            uid_validity: self.db.uid_validity,
            uid_next: self.db.next_uid,
            messages,
        })
    }

    /// Gives the file just renamed into `cur/` its UID without reading the
    /// directory: under the UID lock the UID file is read again (another
    /// process may have assigned UIDs, possibly to this very file), the
    /// next UID is taken and the file rewritten. Files delivered by others
    /// meanwhile get theirs at the next scan.
    fn assign_appended(
        &mut self,
        name: &str,
        base: &str,
        size: u64,
        flags: &FlagSet,
    ) -> Result<Msg> {
        let _lock = DotLock::acquire(&self.dir)?;
        let before = self.db.uid_validity;
        self.load_db()?;
        if self.db.uid_validity != before {
            // A new UID space (the UID file vanished): everything needs a
            // full scan, which the next rescan does.
            self.stamps = None;
        }
        let uid = match self.db.entries.iter().rev().find(|(_, b)| b == base) {
            Some((u, _)) => *u,
            None => {
                let uid = self.db.next_uid;
                if uid == u32::MAX {
                    return Err(MailboxError::UidsExhausted);
                }
                self.db.next_uid += 1;
                self.db.entries.push((uid, base.to_owned()));
                self.save_db()?;
                uid
            }
        };
        let path = self.cur().join(name);
        let meta = fs::metadata(&path).map_err(|e| MailboxError::io(&path, e))?;
        let date = file_date(&meta);
        self.stat_cache.insert(name.to_owned(), (Some(date), size));
        // Others' changes (if any) are picked up by the next rescan.
        self.stamps = None;
        Ok(Msg {
            uid,
            key: name.to_owned(),
            flags: flags.clone(),
            date: Some(date),
            size,
            vsize: MaildirName::parse(name).vsize,
            modseq: 0,
            fresh: true,
        })
    }

    /// Finds the current file name of a message whose name changed under us.
    /// Persists the keywords of a message newly stored under `base` (no
    /// write when it has none); on failure nothing is recorded.
    fn record_keywords(&mut self, base: &str, flags: &FlagSet) -> Result<()> {
        if flags.keywords().is_empty() {
            return Ok(());
        }
        self.keyword_dirty.insert(base.to_owned());
        self.keywords.by_base.insert(
            base.to_owned(),
            flags
                .keywords()
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
        );
        self.write_keywords().inspect_err(|_| {
            self.keywords.by_base.remove(base);
        })
    }

    /// Drops what this folder keeps about a message whose file is gone
    /// (expunged, or adopted by another folder).
    fn forget_entry(&mut self, msg: &Msg) {
        self.stat_cache.remove(&msg.key);
        let base = MaildirName::parse(&msg.key).base;
        if self.keywords.by_base.remove(&base).is_some() {
            self.keyword_dirty.insert(base);
        }
        self.stamps = None;
    }

    fn relocate(&self, msg: &Msg) -> Option<String> {
        let base = &MaildirName::parse(&msg.key).base;
        read_names(&self.cur())
            .ok()?
            .into_iter()
            .find(|f| MaildirName::parse(f).base == *base)
    }
}

impl FolderBackend for MaildirFolder {
    fn scan(&mut self, force: bool, known: &[Msg]) -> Result<Option<ScanResult>> {
        // The clock is read before the stamps, so a stamp that is old
        // at this time was old when it was read: a change after the read
        // (even during the scan below) must move it.
        let taken = SystemTime::now();
        let stamps = self.current_stamps();
        if !force && self.stamps.is_some() && self.stamps == Some(stamps) {
            return Ok(None);
        }
        if !self.index_read {
            self.load_index_file();
            if let Some(result) = self.open_from_index(&stamps, taken) {
                return Ok(Some(result));
            }
        }
        let result = self.scan_locked(known)?;
        // The UID file as this scan left it: read, or written by it, under
        // the UID lock, so no other process changed it meanwhile. It
        // changes only along with the directories (new files get UIDs) or
        // by a rewrite to a new inode, so its own age does not matter;
        // the directories' does. Without this, the scan that assigned
        // UIDs (a folder's first open) was followed by a second full one.
        let mut stamps = stamps;
        stamps[2] = self.db_stamp;
        let mut dirs = stamps;
        dirs[2] = None;
        self.stamps = settled(&dirs, taken).then_some(stamps);
        Ok(Some(result))
    }

    fn append(
        &mut self,
        raw: &[u8],
        flags: &FlagSet,
        date: Option<InternalDate>,
    ) -> Result<Appended> {
        let root = super::store::maildir_root_of(&self.dir);
        self.quota.check(&root, raw.len() as u64, 1)?;
        let unique = unique_name();
        let tmp = self.dir.join("tmp").join(&unique);
        let base = format!("{unique},S={},W={}", raw.len(), crlf_size(raw));
        let name = MaildirName::parse(&base).cur_name(flags.system_bits());
        let cur_path = self.cur().join(&name);
        write_synced(&tmp, raw, date.as_ref()).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            MailboxError::io(&tmp, e)
        })?;
        fs::rename(&tmp, &cur_path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            MailboxError::io(&cur_path, e)
        })?;
        let cur = self.cur();
        if let Err(e) = sync_dir(&cur) {
            let _ = fs::remove_file(&cur_path);
            return Err(MailboxError::io(cur, e));
        }
        if let Err(e) = self.record_keywords(&base, flags) {
            let _ = fs::remove_file(&cur_path);
            return Err(e);
        }
        let msg = match self.assign_appended(&name, &base, raw.len() as u64, flags) {
            Ok(m) => m,
            Err(e) => {
                // Not acknowledged: take the message back out so a retry
                // does not leave a second copy.
                let _ = fs::remove_file(&cur_path);
                return Err(e);
            }
        };
        self.quota.record(&root, raw.len() as i64, 1);
        Ok(Appended::Msg(msg))
    }
    fn set_flags(&mut self, msg: &Msg, flags: &FlagSet) -> Result<String> {
        let n = MaildirName::parse(&msg.key);
        let new_name = n.cur_name(flags.system_bits());
        if new_name != msg.key {
            let cur = self.cur();
            match fs::rename(cur.join(&msg.key), cur.join(&new_name)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let Some(now) = self.relocate(msg) else {
                        return Err(MailboxError::NoSuchMessage(msg.uid));
                    };
                    let new_name = MaildirName::parse(&now).cur_name(flags.system_bits());
                    fs::rename(cur.join(&now), cur.join(&new_name))
                        .map_err(|_| MailboxError::NoSuchMessage(msg.uid))?;
                    self.stat_cache.remove(&now);
                    return Ok(new_name);
                }
                Err(e) => return Err(MailboxError::io(cur.join(&msg.key), e)),
            }
            if let Some(v) = self.stat_cache.remove(&msg.key) {
                self.stat_cache.insert(new_name.clone(), v);
            }
        }
        let kws: Vec<String> = flags
            .keywords()
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect();
        if self
            .keywords
            .by_base
            .get(&n.base)
            .map_or(&[][..], Vec::as_slice)
            != kws.as_slice()
        {
            self.keyword_dirty.insert(n.base.clone());
        }
        if kws.is_empty() {
            self.keywords.by_base.remove(&n.base);
        } else {
            self.keywords.by_base.insert(n.base, kws);
        }
        Ok(new_name)
    }

    fn save_keywords(&mut self, _msgs: &[Msg]) -> Result<()> {
        if self.keyword_dirty.is_empty() {
            return Ok(());
        }
        self.write_keywords()
    }

    fn remove(&mut self, msg: &Msg) -> Result<()> {
        let cur = self.cur();
        let path = cur.join(&msg.key);
        let removed = match fs::remove_file(&path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => match self.relocate(msg) {
                Some(now) => fs::remove_file(cur.join(now)).is_ok(),
                None => false,
            },
            Err(e) => return Err(MailboxError::io(path, e)),
        };
        if removed {
            let root = super::store::maildir_root_of(&self.dir);
            self.quota.record(&root, -(msg.size as i64), -1);
        }
        self.forget_entry(msg);
        Ok(())
    }

    fn read_date(&self, msg: &Msg) -> Result<InternalDate> {
        if let Some(d) = msg.date {
            return Ok(d);
        }
        let path = self.cur().join(&msg.key);
        match fs::metadata(&path) {
            Ok(m) => Ok(file_date(&m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let now = self
                    .relocate(msg)
                    .ok_or(MailboxError::NoSuchMessage(msg.uid))?;
                fs::metadata(self.cur().join(now))
                    .map(|m| file_date(&m))
                    .map_err(|_| MailboxError::NoSuchMessage(msg.uid))
            }
            Err(e) => Err(MailboxError::io(path, e)),
        }
    }

    fn read_header(&self, msg: &Msg) -> Result<Vec<u8>> {
        let path = self.cur().join(&msg.key);
        match read_header_file(&path, false) {
            Ok((h, _)) => Ok(h),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let raw = self.read(msg)?;
                Ok(raw[..crate::message::header_len(&raw)].to_vec())
            }
            Err(e) => Err(MailboxError::io(path, e)),
        }
    }

    fn lock_maildrop(&self) -> Result<Option<Box<dyn std::fmt::Debug + Send + Sync>>> {
        let lock = super::lock::OwnerLock::try_acquire(
            &self.dir.join(MAILDROP_LOCK),
            &self.dir.join("tmp"),
        )?;
        Ok(lock.map(|l| Box::new(l) as Box<dyn std::fmt::Debug + Send + Sync>))
    }

    fn folder_dir(&self) -> Option<PathBuf> {
        Some(self.dir.clone())
    }

    fn file_path(&self, msg: &Msg) -> Option<PathBuf> {
        Some(self.cur().join(&msg.key))
    }

    fn movable(&self, msg: &Msg) -> Option<Movable> {
        let mut path = self.cur().join(&msg.key);
        if !path.exists() {
            // Renamed by another process (a flag change); gone is handled
            // by the adopting side.
            if let Some(now) = self.relocate(msg) {
                path = self.cur().join(now);
            }
        }
        Some(Movable {
            path,
            quota_root: super::store::maildir_root_of(&self.dir),
        })
    }

    fn adopt(&mut self, from: &Movable, msg: &Msg) -> Result<Option<Appended>> {
        let Some(file) = from.path.file_name().and_then(|f| f.to_str()) else {
            return Ok(None);
        };
        let root = super::store::maildir_root_of(&self.dir);
        // Within one Maildir++ root the usage does not change (RFC 6851
        // §3.3 lets MOVE succeed where COPY would not); into another root
        // (a folder shared by another user) the destination's quota counts.
        let other_root = root != from.quota_root;
        if other_root {
            self.quota.check(&root, msg.size, 1)?;
        }
        // The unique part of the name stays: it is unique across folders,
        // so the destination's UID and keyword records key on it as well.
        let n = MaildirName::parse(file);
        let base = n.base.clone();
        let name = n.cur_name(msg.flags.system_bits());
        let cur_path = self.cur().join(&name);
        match fs::rename(&from.path, &cur_path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(MailboxError::NoSuchMessage(msg.uid));
            }
            Err(e) => return Err(MailboxError::io(&from.path, e)),
        }
        // Back where it came from, when the move cannot be completed.
        let undo = |e: MailboxError| {
            let _ = fs::rename(&cur_path, &from.path);
            e
        };
        let cur = self.cur();
        sync_dir(&cur).map_err(|e| undo(MailboxError::io(&cur, e)))?;
        if let Some(src_dir) = from.path.parent() {
            // The source entry's removal is durable too (the source's own
            // next scan would otherwise be the only witness).
            let _ = sync_dir(src_dir);
        }
        self.record_keywords(&base, &msg.flags).map_err(undo)?;
        let size = MaildirName::parse(&name).size.unwrap_or(msg.size);
        let new = self
            .assign_appended(&name, &base, size, &msg.flags)
            .map_err(undo)?;
        if other_root {
            self.quota.record(&root, msg.size as i64, 1);
        }
        Ok(Some(Appended::Msg(new)))
    }

    fn quota_root(&self) -> Option<PathBuf> {
        Some(super::store::maildir_root_of(&self.dir))
    }

    fn forget_moved(&mut self, msg: &Msg, to_root: Option<&Path>) -> Result<()> {
        let root = super::store::maildir_root_of(&self.dir);
        if to_root != Some(root.as_path()) {
            self.quota.record(&root, -(msg.size as i64), -1);
        }
        self.forget_entry(msg);
        Ok(())
    }

    fn cache_is_current(&self) -> bool {
        self.opened_from_index
    }

    fn take_cached(&mut self, msgs: &[Msg]) -> Option<CachedDerived> {
        let index = self.index.take()?;
        // Both lists are in UID order: walk them together.
        let mut records = index.records.into_iter().peekable();
        let mut entries = Vec::with_capacity(msgs.len());
        for m in msgs {
            while records.peek().is_some_and(|r| r.uid < m.uid) {
                records.next();
            }
            let Some(r) = records.next_if(|r| r.uid == m.uid) else {
                continue;
            };
            // The same UID must name the same file (base name), or the
            // record belongs to another message. After a warm open the
            // messages are the records (their names moved there).
            if !self.opened_from_index
                && r.name != m.key
                && MaildirName::base_and_flags(&r.name).0 != MaildirName::base_and_flags(&m.key).0
            {
                continue;
            }
            entries.push((m.uid, r.vsize, r.spans));
        }
        Some(CachedDerived {
            derived: index.derived,
            entries,
        })
    }

    fn save_cache(
        &mut self,
        uid_validity: u32,
        uid_next: u32,
        records: &[RecordRef<'_>],
    ) -> Result<()> {
        let path = self.dir.join(INDEX_FILE);
        // The records describe the folder as of the last full scan only
        // when nothing moved since (our own changes move a stamp too).
        let current = self.current_stamps();
        let stamps = (self.stamps == Some(current)).then(|| file_stamps(&current));
        let bytes = Index::encode(uid_validity, uid_next, stamps, records);
        write_atomic(&path, &bytes).map_err(|e| MailboxError::io(&path, e))
    }

    fn foreign_uidls(&self, msgs: &[Msg]) -> HashMap<u32, String> {
        let Ok(bytes) = fs::read(self.dir.join(super::pop3list::POP3_LIST)) else {
            return HashMap::new();
        };
        let by_base: HashMap<String, String> = super::pop3list::parse_courier_pop3_list(&bytes)
            .into_iter()
            .map(|e| (e.base, e.uidl))
            .collect();
        msgs.iter()
            .filter_map(|m| {
                Some((
                    m.uid,
                    by_base.get(&MaildirName::parse(&m.key).base)?.clone(),
                ))
            })
            .collect()
    }

    fn read(&self, msg: &Msg) -> Result<Arc<Vec<u8>>> {
        let path = self.cur().join(&msg.key);
        match fs::read(&path) {
            Ok(b) => Ok(Arc::new(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let now = self
                    .relocate(msg)
                    .ok_or(MailboxError::NoSuchMessage(msg.uid))?;
                fs::read(self.cur().join(now))
                    .map(Arc::new)
                    .map_err(|_| MailboxError::NoSuchMessage(msg.uid))
            }
            Err(e) => Err(MailboxError::io(path, e)),
        }
    }
}

/// Reads `courierimapkeywords/`: `:list` with Courier's update files
/// applied, and the names of those update files.
fn read_keyword_dir(kdir: &Path) -> (CourierKeywords, Vec<String>) {
    let list = fs::read(kdir.join(":list")).unwrap_or_default();
    let mut kw = CourierKeywords::parse_list(&list);
    let mut updates = Vec::new();
    if let Ok(rd) = fs::read_dir(kdir) {
        for e in rd.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            if name == ":list"
                || name.starts_with(".tmp")
                || name.ends_with(".tmp")
                || name.starts_with(".:list")
            {
                continue;
            }
            if let Ok(bytes) = fs::read(e.path()) {
                updates.push((name, bytes));
            }
        }
    }
    kw.apply_updates(&updates);
    (kw, updates.into_iter().map(|(n, _)| n).collect())
}

/// Writes and fsyncs a new file, setting its modification time to `date`
/// (Maildir keeps INTERNALDATE as the file time).
pub(crate) fn write_synced(path: &Path, raw: &[u8], date: Option<&InternalDate>) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
    f.write_all(raw)?;
    if let Some(d) = date {
        let secs = d.0.timestamp();
        let t = if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs as u64)
        } else {
            UNIX_EPOCH
        };
        f.set_modified(t)?;
    }
    f.sync_all()
}

/// The header of a message file (up to and with its blank line), read in
/// chunks until the blank line: most headers fit the first 4 KiB, so a
/// FETCH ENVELOPE, SORT or THREAD over a mailbox that has no cached values
/// yet reads a fraction of every file; the chunk doubles for the rare
/// long header, up to 1 MiB. With `dated`, also the file's time
/// (INTERNALDATE), from the open file.
pub(crate) fn read_header_file(
    path: &Path,
    dated: bool,
) -> io::Result<(Vec<u8>, Option<InternalDate>)> {
    use std::io::Read;
    const FIRST_CHUNK: usize = 4 * 1024;
    const MAX_HEADER: usize = 1024 * 1024;
    let mut f = fs::File::open(path)?;
    let date = if dated {
        Some(file_date(&f.metadata()?))
    } else {
        None
    };
    let mut buf = Vec::with_capacity(FIRST_CHUNK);
    let mut chunk = FIRST_CHUNK;
    loop {
        let start = buf.len();
        buf.resize(start + chunk, 0);
        chunk = (chunk * 2).min(MAX_HEADER);
        let n = f.read(&mut buf[start..])?;
        buf.truncate(start + n);
        let len = crate::message::header_len(&buf);
        if len < buf.len() || n == 0 || buf.len() >= MAX_HEADER {
            buf.truncate(len);
            return Ok((buf, date));
        }
    }
}

/// A whole message file, and with `dated` its time (INTERNALDATE), from
/// the open file.
pub(crate) fn read_file(path: &Path, dated: bool) -> io::Result<(Vec<u8>, Option<InternalDate>)> {
    use std::io::Read;
    let mut f = fs::File::open(path)?;
    let meta = f.metadata()?;
    let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    f.read_to_end(&mut buf)?;
    Ok((buf, dated.then(|| file_date(&meta))))
}

/// The files of a scan, by their index in the directory listing.
struct Classified<'a> {
    /// (UID, file, new) of the files the UID file names, in UID order
    /// (none new yet: the scan adds the new files with their UIDs).
    with_uid: Vec<(u32, u32, bool)>,
    /// (delivery time, base, file) of the files it does not name yet, in
    /// Courier's delivery order: the leading time, then the name.
    unknown: Vec<(u64, &'a str, u32)>,
    /// The fields of every listed name, by file.
    fields: Vec<NameFields>,
}

/// Sorts the listed files into those `known` gives a UID and the new
/// ones, each base once: a base is one message, whatever its flags. Its
/// names sort next to each other (the same UID; the same time and base),
/// and the first listed stays.
fn classify<'a>(files: &'a [String], known: &HashMap<&str, u32>) -> Classified<'a> {
    let mut with_uid = Vec::with_capacity(files.len().min(known.len()));
    let mut unknown = Vec::new();
    let mut fields = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        fields.push(NameFields::of(f));
        // Directory listings hold far fewer than 2^32 names.
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        match known.get(MaildirName::base(f)) {
            Some(&uid) => with_uid.push((uid, i, false)),
            None => {
                let (time, base) = courier_key(f);
                unknown.push((time, base, i));
            }
        }
    }
    with_uid.sort_unstable();
    with_uid.dedup_by_key(|e| e.0);
    unknown.sort_unstable();
    unknown.dedup_by(|later, first| (later.0, later.1) == (first.0, first.1));
    Classified {
        with_uid,
        unknown,
        fields,
    }
}

/// The message files of a directory.
struct Listing {
    names: Vec<String>,
    /// Whether the listing itself says the name is a regular file (the
    /// type the directory entry carries, read without a stat).
    regular: Vec<bool>,
}

fn read_listing(dir: &Path) -> Result<Listing> {
    let rd = fs::read_dir(dir).map_err(|e| MailboxError::io(dir, e))?;
    let mut out = Listing {
        names: Vec::new(),
        regular: Vec::new(),
    };
    for e in rd {
        let e = e.map_err(|err| MailboxError::io(dir, err))?;
        if let Ok(name) = e.file_name().into_string() {
            if is_message_name(&name) {
                out.names.push(name);
                out.regular.push(e.file_type().is_ok_and(|t| t.is_file()));
            }
        }
    }
    Ok(out)
}

fn read_names(dir: &Path) -> Result<Vec<String>> {
    Ok(read_listing(dir)?.names)
}

/// Trust stamps only when they are old enough that a later change must
/// move them: a change made within the same timestamp tick as the last
/// one leaves a directory's time as it was, so a stamp younger than the
/// file system's granularity proves nothing.
///
/// The granularity is read from the stamp itself. A time with a
/// sub-second part comes from a file system that keeps nanoseconds
/// (ext4, XFS, Btrfs, tmpfs), whose times advance at least every kernel
/// tick (at most 10 ms); [`FINE_MARGIN`] is ten ticks. A time on a whole
/// second may come from one that keeps seconds (ext3's small inodes,
/// some NFS servers) or two (FAT), so it must be more than two seconds
/// old.
fn settled(stamps: &[Stamp; 4], now: SystemTime) -> bool {
    stamps.iter().flatten().all(|(t, _)| {
        let fine = t
            .duration_since(UNIX_EPOCH)
            .is_ok_and(|d| d.subsec_nanos() != 0);
        let margin = if fine {
            FINE_MARGIN
        } else {
            Duration::from_secs(2)
        };
        now.duration_since(*t).is_ok_and(|d| d > margin)
    })
}

/// How old a sub-second directory time must be to be trusted (see
/// [`settled`]).
const FINE_MARGIN: Duration = Duration::from_millis(100);

fn file_stamps(stamps: &[Stamp; 4]) -> [FileStamp; 4] {
    stamps.map(|s| {
        let (t, len) = s?;
        let d = t.duration_since(UNIX_EPOCH).ok()?;
        Some((i64::try_from(d.as_secs()).ok()?, d.subsec_nanos(), len))
    })
}

fn index_date((secs, nanos): (i64, u32)) -> Option<InternalDate> {
    let t = DateTime::<Utc>::from_timestamp(secs, nanos)?;
    Some(InternalDate(t.fixed_offset()))
}

fn stamp(path: &Path) -> Stamp {
    let m = fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The modification time and size of `dir_path/name` (following a
/// symbolic link, as `fs::metadata` does); with the directory open, the
/// name is looked up in it alone instead of walking the whole path.
fn stat_in(dir: Option<&fs::File>, dir_path: &Path, name: &str) -> Option<(InternalDate, u64)> {
    #[cfg(unix)]
    if let Some(d) = dir {
        use std::os::fd::AsRawFd;
        let st = nix::sys::stat::fstatat(Some(d.as_raw_fd()), name, nix::fcntl::AtFlags::empty())
            .ok()?;
        let size = u64::try_from(st.st_size).unwrap_or(0);
        return Some((time_date(st.st_mtime, st.st_mtime_nsec), size));
    }
    #[cfg(not(unix))]
    let _ = dir;
    let m = fs::metadata(dir_path.join(name)).ok()?;
    Some((file_date(&m), m.len()))
}

/// A file's modification time as INTERNALDATE (Maildir keeps it there).
pub(crate) fn file_date(m: &fs::Metadata) -> InternalDate {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        time_date(m.mtime(), m.mtime_nsec())
    }
    #[cfg(not(unix))]
    match m.modified().map(|t| t.duration_since(UNIX_EPOCH)) {
        Ok(Ok(d)) => time_date(
            i64::try_from(d.as_secs()).unwrap_or(0),
            i64::from(d.subsec_nanos()),
        ),
        // Before the epoch: whole seconds down, nanoseconds up.
        Ok(Err(e)) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => time_date(-secs, 0),
                n => time_date(-secs - 1, 1_000_000_000 - i64::from(n)),
            }
        }
        Err(_) => time_date(0, 0),
    }
}

/// Seconds and nanoseconds since the epoch as an INTERNALDATE; a time
/// chrono cannot hold counts as the epoch (the message stays readable).
fn time_date(secs: i64, nanos: i64) -> InternalDate {
    let t = u32::try_from(nanos)
        .ok()
        .and_then(|n| DateTime::<Utc>::from_timestamp(secs, n))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    InternalDate(t.fixed_offset())
}

/// Courier's order for new files, as a sort key: the leading number
/// (delivery time), then the name up to the info part.
fn courier_key(name: &str) -> (u64, &str) {
    let time = name
        .bytes()
        .take_while(u8::is_ascii_digit)
        .take(19)
        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
    (time, MaildirName::base(name))
}

/// A UIDVALIDITY for a new UID space: Courier's `time - 10^9`, and always
/// larger than `previous` (RFC 3501 §2.3.1.1).
fn new_uid_validity(previous: u32) -> u32 {
    static LAST: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let now = u32::try_from(Utc::now().timestamp() - IMAP_EPOCH)
        .unwrap_or(1)
        .max(1);
    let floor = previous.max(LAST.load(std::sync::atomic::Ordering::Relaxed));
    let v = if now > floor {
        now
    } else {
        floor.saturating_add(1)
    };
    LAST.fetch_max(v, std::sync::atomic::Ordering::Relaxed);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> Stamp {
        Some((UNIX_EPOCH + Duration::new(secs, nanos), 0))
    }

    #[test]
    fn sub_second_stamps_settle_after_the_fine_margin() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let stamps = [at(1_700_000_000, 123_456_789), None, None, None];
        assert!(!settled(&stamps, t + Duration::from_millis(50)));
        assert!(settled(&stamps, t + Duration::from_millis(150)));
    }

    #[test]
    fn whole_second_stamps_wait_two_seconds() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let stamps = [at(1_700_000_000, 0), at(1_600_000_000, 5), None, None];
        assert!(!settled(&stamps, t + Duration::from_millis(1500)));
        assert!(settled(&stamps, t + Duration::from_millis(2100)));
    }

    #[test]
    fn a_stamp_from_the_future_is_not_settled() {
        let stamps = [at(1_700_000_010, 7), None, None, None];
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(!settled(&stamps, now));
    }
}
