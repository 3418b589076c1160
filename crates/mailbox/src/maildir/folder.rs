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
use super::filename::{MaildirName, is_message_name};
use super::keywords::{CourierKeywords, parse_dovecot_keywords};
use super::lock::DotLock;
use super::uiddb::UidDb;
use crate::error::{MailboxError, Result};
use crate::flags::FlagSet;
use crate::mailbox::{Appended, FolderBackend, Msg, ScanResult};
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
    /// File name → (internal date, size), so a rescan stats only new names.
    stat_cache: HashMap<String, (InternalDate, u64)>,
}

impl MaildirFolder {
    pub(crate) fn new(dir: PathBuf, quota: Arc<dyn QuotaHook>) -> MaildirFolder {
        MaildirFolder {
            dir,
            quota,
            db: UidDb::default(),
            db_stamp: None,
            keywords: CourierKeywords::default(),
            keyword_updates: Vec::new(),
            keyword_dirty: HashSet::new(),
            stamps: None,
            stat_cache: HashMap::new(),
        }
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
    fn load_keywords(&mut self, names: &[(String, MaildirName)]) -> Result<()> {
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
                    for (_, n) in names {
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
    fn list_files(&self) -> Result<Vec<String>> {
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
        read_names(&cur)
    }

    /// The full scan under the UID lock: assigns UIDs to unknown files and
    /// persists them before anyone can see them.
    fn scan_locked(&mut self) -> Result<ScanResult> {
        if !self.cur().is_dir() {
            return Err(MailboxError::NotFound(self.dir.display().to_string()));
        }
        let _lock = DotLock::acquire(&self.dir)?;
        self.load_db()?;
        let mut files = self.list_files()?;
        let known: HashMap<&str, u32> = self
            .db
            .entries
            .iter()
            .map(|(u, b)| (b.as_str(), *u))
            .collect();
        let mut parsed: Vec<(String, MaildirName)> = Vec::with_capacity(files.len());
        let mut present: HashSet<String> = HashSet::with_capacity(files.len());
        for f in files.drain(..) {
            let n = MaildirName::parse(&f);
            if present.insert(n.base.clone()) {
                parsed.push((f, n));
            }
        }
        if known.keys().any(|b| !present.contains(*b)) {
            // A flag rename by another process can hide a file from one
            // directory read; read once more before forgetting any UID.
            for f in read_names(&self.cur())? {
                let n = MaildirName::parse(&f);
                if present.insert(n.base.clone()) {
                    parsed.push((f, n));
                }
            }
        }
        let mut with_uid: Vec<(u32, String, MaildirName, bool)> = Vec::with_capacity(parsed.len());
        let mut unknown: Vec<(String, MaildirName)> = Vec::new();
        for (f, n) in parsed.drain(..) {
            match known.get(n.base.as_str()) {
                Some(&uid) => with_uid.push((uid, f, n, false)),
                None => unknown.push((f, n)),
            }
        }
        drop(known);
        let stale = self.db.entries.len() != with_uid.len();
        // New files get UIDs in delivery order (Courier sorts by the
        // leading timestamp, then the name).
        unknown.sort_by(|a, b| courier_order(&a.0, &b.0));
        let assigned = !unknown.is_empty();
        for (f, n) in unknown {
            let uid = self.db.next_uid;
            if uid == u32::MAX {
                return Err(MailboxError::UidsExhausted);
            }
            self.db.next_uid += 1;
            with_uid.push((uid, f, n, true));
        }
        with_uid.sort_by_key(|(u, ..)| *u);
        if assigned || stale || self.db_stamp.is_none() {
            self.db.entries = with_uid
                .iter()
                .map(|(u, _, n, _)| (*u, n.base.clone()))
                .collect();
            self.save_db()?;
        }
        let names: Vec<(String, MaildirName)> = with_uid
            .iter()
            .map(|(_, f, n, _)| (f.clone(), n.clone()))
            .collect();
        self.load_keywords(&names)?;
        let cur = self.cur();
        let mut live_cache = HashMap::with_capacity(with_uid.len());
        let mut messages = Vec::with_capacity(with_uid.len());
        for (uid, f, n, fresh) in with_uid {
            let (date, size) = match self.stat_cache.get(&f) {
                Some(v) => *v,
                None => match fs::metadata(cur.join(&f)) {
                    Ok(m) => (mtime_date(&m), n.size.unwrap_or(m.len())),
                    // Renamed or removed since the directory was read; the
                    // next scan sees its new state.
                    Err(_) => continue,
                },
            };
            live_cache.insert(f.clone(), (date, size));
            let keywords = self
                .keywords
                .by_base
                .get(&n.base)
                .map(|k| {
                    k.iter()
                        .filter_map(|s| Keyword::new(s).ok())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            messages.push(Msg {
                uid,
                key: f,
                flags: FlagSet::from_parts(n.system, keywords),
                date,
                size,
                vsize: n.vsize,
                modseq: 0,
                fresh,
            });
        }
        self.stat_cache = live_cache;
        Ok(ScanResult {
            uid_validity: self.db.uid_validity,
            uid_next: self.db.next_uid,
            messages,
        })
    }

    /// Finds the current file name of a message whose name changed under us.
    fn relocate(&self, msg: &Msg) -> Option<String> {
        let base = &MaildirName::parse(&msg.key).base;
        read_names(&self.cur())
            .ok()?
            .into_iter()
            .find(|f| MaildirName::parse(f).base == *base)
    }
}

impl FolderBackend for MaildirFolder {
    fn scan(&mut self, force: bool) -> Result<Option<ScanResult>> {
        let stamps = self.current_stamps();
        if !force && self.stamps.is_some() && self.stamps == Some(stamps) {
            return Ok(None);
        }
        let result = self.scan_locked()?;
        // Directory times have coarse granularity: trust a stamp only when
        // it is old enough that a later change must move it.
        let now = SystemTime::now();
        let settled = stamps.iter().flatten().all(|(t, _)| {
            now.duration_since(*t)
                .is_ok_and(|d| d > Duration::from_secs(2))
        });
        self.stamps = settled.then_some(stamps);
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
        if !flags.keywords().is_empty() {
            self.keyword_dirty.insert(base.clone());
            self.keywords.by_base.insert(
                base.clone(),
                flags
                    .keywords()
                    .iter()
                    .map(|k| k.as_str().to_owned())
                    .collect(),
            );
            if let Err(e) = self.write_keywords() {
                self.keywords.by_base.remove(&base);
                let _ = fs::remove_file(&cur_path);
                return Err(e);
            }
        }
        let scan = match self.scan_locked() {
            Ok(s) => s,
            Err(e) => {
                // Not acknowledged: take the message back out so a retry
                // does not leave a second copy.
                let _ = fs::remove_file(&cur_path);
                return Err(e);
            }
        };
        self.stamps = None;
        let uid = scan
            .messages
            .iter()
            .find(|m| m.key == name)
            .map(|m| m.uid)
            .ok_or_else(|| {
                MailboxError::io(&cur_path, io::Error::other("appended file vanished"))
            })?;
        self.quota.record(&root, raw.len() as i64, 1);
        Ok(Appended::Scan(uid, scan))
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
        self.stat_cache.remove(&msg.key);
        let base = MaildirName::parse(&msg.key).base;
        if self.keywords.by_base.remove(&base).is_some() {
            self.keyword_dirty.insert(base);
        }
        self.stamps = None;
        Ok(())
    }

    fn read_header(&self, msg: &Msg) -> Result<Vec<u8>> {
        use std::io::Read;
        // Headers end early; read in chunks until the blank line.
        const CHUNK: usize = 16 * 1024;
        const MAX_HEADER: usize = 1024 * 1024;
        let path = self.cur().join(&msg.key);
        let mut f = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let raw = self.read(msg)?;
                return Ok(raw[..crate::message::header_len(&raw)].to_vec());
            }
            Err(e) => return Err(MailboxError::io(path, e)),
        };
        let mut buf = Vec::with_capacity(CHUNK);
        loop {
            let start = buf.len();
            buf.resize(start + CHUNK, 0);
            let n = f
                .read(&mut buf[start..])
                .map_err(|e| MailboxError::io(&path, e))?;
            buf.truncate(start + n);
            let len = crate::message::header_len(&buf);
            if len < buf.len() || n == 0 || buf.len() >= MAX_HEADER {
                buf.truncate(len);
                return Ok(buf);
            }
        }
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

fn read_names(dir: &Path) -> Result<Vec<String>> {
    let rd = fs::read_dir(dir).map_err(|e| MailboxError::io(dir, e))?;
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|err| MailboxError::io(dir, err))?;
        if let Ok(name) = e.file_name().into_string() {
            if is_message_name(&name) {
                out.push(name);
            }
        }
    }
    Ok(out)
}

fn stamp(path: &Path) -> Stamp {
    let m = fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn mtime_date(m: &fs::Metadata) -> InternalDate {
    let t = m.modified().unwrap_or(UNIX_EPOCH);
    InternalDate(DateTime::<Utc>::from(t).fixed_offset())
}

/// Courier's order for new files: the leading number (delivery time), then
/// the name up to the info part.
fn courier_order(a: &str, b: &str) -> std::cmp::Ordering {
    let lead = |s: &str| -> u64 {
        s.bytes()
            .take_while(u8::is_ascii_digit)
            .take(19)
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))
    };
    let base = |s: &str| {
        s.rsplit_once(':')
            .map_or(s.to_owned(), |(b, _)| b.to_owned())
    };
    lead(a).cmp(&lead(b)).then_with(|| base(a).cmp(&base(b)))
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
