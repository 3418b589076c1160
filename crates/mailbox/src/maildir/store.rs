//! [`MaildirStore`]: a user's Maildir++ root.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use postroom_types::MailboxName;

use super::atomic::{unique_name, write_atomic};
use super::folder::MaildirFolder;
use super::subscriptions::{
    courier_subscriptions_bytes, parse_courier_subscriptions, parse_dovecot_subscriptions,
};
use crate::error::{MailboxError, Result};
use crate::mailbox::Mailbox;
use crate::memory::check_rename;
use crate::names::{self, FolderPath};
use crate::quota::{NoQuota, QuotaHook};
use crate::store::{ListEntry, Store, list_matching};

/// Courier's subscription file at the root.
pub(crate) const SUBSCRIBED: &str = "courierimapsubscribed";
/// Dovecot's subscription file (imported when Courier's is absent).
pub(crate) const DOVECOT_SUBSCRIPTIONS: &str = "subscriptions";
/// Marker file of a Maildir++ subfolder.
pub(crate) const MAILDIRFOLDER: &str = "maildirfolder";
/// Courier's per-folder ACL file (format: `postroom-access`).
pub const ACL_FILE: &str = "courierimapacl";

/// Settings of a [`MaildirStore`].
#[derive(Clone)]
pub struct MaildirOptions {
    /// Folder names on disk in UTF-8 (as Courier 5 writes behind an
    /// option) instead of modified UTF-7 (Dovecot, Courier before 5).
    pub utf8_folder_names: bool,
    /// How often a session waiting for changes (IDLE) rescans the folder
    /// for changes made by other processes.
    pub poll_interval: Duration,
    /// Quota checks and `maildirsize` accounting.
    pub quota: Arc<dyn QuotaHook>,
    /// How long a folder stays open after its last handle is dropped
    /// (zero, the default: closed at once). A client that comes back
    /// within it (webmail opens a session per page; mail programs
    /// reconnect) finds the folder's messages, envelopes and decoded sort
    /// keys in memory instead of reading `postroom-index` again. The
    /// index is saved when the folder is finally closed, as without
    /// this (it is only a cache: a process killed meanwhile loses time at
    /// the next open, nothing else). At most [`KEEP_OPEN_MAX`]
    /// folders are kept per process, the least recently opened dropped
    /// first; expired ones are dropped at the next open, and all by
    /// [`close_kept_folders`] (call it at shutdown).
    pub keep_open: Duration,
}

/// The most folders kept open by [`MaildirOptions::keep_open`].
pub const KEEP_OPEN_MAX: usize = 64;

impl Default for MaildirOptions {
    fn default() -> MaildirOptions {
        MaildirOptions {
            utf8_folder_names: false,
            poll_interval: Duration::from_millis(500),
            quota: Arc::new(NoQuota),
            keep_open: Duration::ZERO,
        }
    }
}

impl std::fmt::Debug for MaildirOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaildirOptions")
            .field("utf8_folder_names", &self.utf8_folder_names)
            .field("poll_interval", &self.poll_interval)
            .field("keep_open", &self.keep_open)
            .finish_non_exhaustive()
    }
}

/// One user's Maildir++ (Courier/Dovecot layout) at a root the caller
/// chooses, e.g. `/srv/mail/example.com/alice`.
#[derive(Debug, Clone)]
pub struct MaildirStore {
    root: PathBuf,
    options: MaildirOptions,
    file_watch: bool,
}

/// Open mailboxes of this process, by folder directory, so every session
/// shares one [`Mailbox`] per folder.
type Registry = HashMap<PathBuf, (Weak<Mailbox>, Arc<Closing>)>;

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Whether a folder backend is gone. A mailbox whose last handle was
/// just dropped is still writing `postroom-index` while its backend
/// lives; an open of the same folder waits for that (see
/// [`Closing::wait`]), since an open that read the index before the save
/// would scan and parse everything again (a webmail opens a session per
/// page, right after the last one closed).
#[derive(Default)]
pub(crate) struct Closing {
    gone: Mutex<bool>,
    cv: Condvar,
}

impl Closing {
    fn is_gone(&self) -> bool {
        *self.gone.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut gone = self.gone.lock().unwrap_or_else(|e| e.into_inner());
        while !*gone {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            gone = self
                .cv
                .wait_timeout(gone, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Held by a folder's backend; marks its [`Closing`] gone when dropped.
pub(crate) struct AliveGuard(Arc<Closing>);

impl AliveGuard {
    pub(crate) fn new() -> AliveGuard {
        AliveGuard(Arc::default())
    }

    pub(crate) fn closing(&self) -> Arc<Closing> {
        Arc::clone(&self.0)
    }
}

impl Drop for AliveGuard {
    fn drop(&mut self) {
        *self.0.gone.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.0.cv.notify_all();
    }
}

/// Folders kept open after use ([`MaildirOptions::keep_open`]): until
/// when, least recently opened first.
type Kept = VecDeque<(Instant, Arc<Mailbox>)>;

fn kept() -> &'static Mutex<Kept> {
    static K: OnceLock<Mutex<Kept>> = OnceLock::new();
    K.get_or_init(|| Mutex::new(VecDeque::new()))
}

/// Keeps `mb` open until `keep` from now (or refreshes that), and lets go
/// of the folders whose time is up or that are over [`KEEP_OPEN_MAX`].
fn keep_open(mb: &Arc<Mailbox>, keep: Duration) {
    let now = Instant::now();
    let released: Kept = {
        let mut k = kept().lock().unwrap_or_else(|e| e.into_inner());
        // Refreshed: moved to the back with its new time (the handle it
        // held is simply replaced; the caller holds one too).
        if let Some(i) = k.iter().position(|(_, m)| Arc::ptr_eq(m, mb)) {
            k.remove(i);
        }
        if !keep.is_zero() {
            k.push_back((now + keep, Arc::clone(mb)));
        }
        let mut released = take_kept(&mut k, |(until, _)| *until <= now);
        while k.len() > KEEP_OPEN_MAX {
            released.extend(k.pop_front());
        }
        released
    };
    // Dropped outside the lock, and off the caller's thread: a last
    // handle saves its folder's index (tens of MB for a large folder),
    // which must not delay whoever happened to open next.
    if !released.is_empty() {
        let spawned = std::thread::Builder::new()
            .name("postroom-close".into())
            .spawn(move || drop(released));
        // Without a thread, closing here is still correct, only slower.
        drop(spawned);
    }
}

/// Lets go of every folder kept open by [`MaildirOptions::keep_open`]
/// (those no session holds close now, saving their indexes): call it when
/// the process shuts down, since kept folders are otherwise only let go at
/// a later open.
pub fn close_kept_folders() {
    let released = take_kept(
        &mut kept().lock().unwrap_or_else(|e| e.into_inner()),
        |_| true,
    );
    drop(released);
}

/// Takes the kept entries matching `which` out of `k` (keeping the order
/// of the rest), for the caller to drop once the lock is released.
fn take_kept(k: &mut Kept, which: impl Fn(&(Instant, Arc<Mailbox>)) -> bool) -> Kept {
    let (taken, stay) = std::mem::take(k).into_iter().partition(which);
    *k = stay;
    taken
}

/// The open mailbox of a folder directory in this process, if any.
pub(crate) fn registered(dir: &Path) -> Option<Arc<Mailbox>> {
    let r = registry().lock().unwrap_or_else(|e| e.into_inner());
    r.get(dir).and_then(|(w, _)| w.upgrade())
}

impl MaildirStore {
    /// Opens (creating `cur/`, `new/` and `tmp/` if missing) the Maildir at
    /// `root` with default options.
    pub fn new(root: impl Into<PathBuf>) -> Result<MaildirStore> {
        MaildirStore::with_options(root, MaildirOptions::default())
    }

    /// Whether mailboxes opened from now on watch `cur/` and `new/` with
    /// file system notification (inotify, through the `notify` crate) so
    /// that IDLE learns of other processes' changes at once (default on).
    /// Off, or where watching is unavailable, sessions poll at
    /// [`MaildirOptions::poll_interval`] only. Polling goes on in both cases.
    /// A folder already open in this process keeps its watcher state.
    pub fn with_file_watch(mut self, on: bool) -> MaildirStore {
        self.file_watch = on;
        self
    }

    /// Keeps `mb` open per [`MaildirOptions::keep_open`] (and lets expired
    /// folders go).
    fn kept_open(&self, mb: &Arc<Mailbox>) {
        if !self.options.keep_open.is_zero() {
            keep_open(mb, self.options.keep_open);
        }
    }

    /// Opens the Maildir at `root` with `options`.
    pub fn with_options(root: impl Into<PathBuf>, options: MaildirOptions) -> Result<MaildirStore> {
        let root = root.into();
        for sub in ["cur", "new", "tmp"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(|e| MailboxError::io(&p, e))?;
        }
        Ok(MaildirStore {
            root,
            options,
            file_watch: true,
        })
    }

    /// The root directory (INBOX).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of a mailbox (it need not exist).
    pub fn folder_dir(&self, name: &MailboxName) -> Result<PathBuf> {
        let path = names::parse(name)?;
        Ok(self.dir_of(&path))
    }

    /// The raw `courierimapacl` file of a mailbox, if present (parse it with
    /// `postroom-access`).
    pub fn read_acl_file(&self, name: &MailboxName) -> Result<Option<Vec<u8>>> {
        let p = self.folder_dir(name)?.join(ACL_FILE);
        match fs::read(&p) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(MailboxError::io(p, e)),
        }
    }

    /// Replaces a mailbox's `courierimapacl` file atomically.
    pub fn write_acl_file(&self, name: &MailboxName, bytes: &[u8]) -> Result<()> {
        let dir = self.folder_dir(name)?;
        if !dir.join("cur").is_dir() {
            return Err(MailboxError::NotFound(name.as_str().to_owned()));
        }
        let p = dir.join(ACL_FILE);
        write_atomic(&p, bytes).map_err(|e| MailboxError::io(p, e))
    }

    fn dir_of(&self, path: &FolderPath) -> PathBuf {
        if path.is_inbox() {
            self.root.clone()
        } else {
            self.root
                .join(path.dir_name(self.options.utf8_folder_names))
        }
    }

    /// Every selectable folder under the root.
    fn folders(&self) -> Result<Vec<FolderPath>> {
        let mut out = vec![FolderPath::from_levels(Vec::new())];
        let rd = fs::read_dir(&self.root).map_err(|e| MailboxError::io(&self.root, e))?;
        for e in rd.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            if let Some(p) = FolderPath::from_dir_name(&name, self.options.utf8_folder_names) {
                if e.path().join("cur").is_dir() {
                    out.push(p);
                }
            }
        }
        Ok(out)
    }

    fn forget(&self, dir: &Path) {
        registry()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(dir);
        // A kept mailbox of the old folder must not outlive it: a folder
        // created again at this path would have two, and the old one's
        // index save would land in the new folder.
        let released = take_kept(
            &mut kept().lock().unwrap_or_else(|e| e.into_inner()),
            |(_, m)| m.folder_dir().as_deref() == Some(dir),
        );
        drop(released);
    }

    fn write_subscriptions(&self, names: &[String]) -> Result<()> {
        let p = self.root.join(SUBSCRIBED);
        write_atomic(&p, &courier_subscriptions_bytes(names)).map_err(|e| MailboxError::io(p, e))
    }

    fn raw_subscriptions(&self) -> Result<Vec<String>> {
        let p = self.root.join(SUBSCRIBED);
        match fs::read(&p) {
            Ok(b) => Ok(parse_courier_subscriptions(&b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match fs::read(self.root.join(DOVECOT_SUBSCRIPTIONS)) {
                    Ok(b) => {
                        let names = parse_dovecot_subscriptions(&b);
                        self.write_subscriptions(&names)?;
                        Ok(names)
                    }
                    Err(_) => Ok(Vec::new()),
                }
            }
            Err(e) => Err(MailboxError::io(p, e)),
        }
    }
}

impl Store for MaildirStore {
    fn list(&self, reference: &str, pattern: &str) -> Result<Vec<ListEntry>> {
        let levels: Vec<Vec<String>> = self.folders()?.into_iter().map(|p| p.levels).collect();
        Ok(list_matching(&levels, reference, pattern))
    }

    fn subscriptions(&self) -> Result<Vec<MailboxName>> {
        Ok(self
            .raw_subscriptions()?
            .into_iter()
            .map(|s| MailboxName::from_modified_utf7(&s).unwrap_or_else(|_| MailboxName::new(s)))
            .collect())
    }

    fn create(&self, name: &MailboxName) -> Result<()> {
        let path = names::parse(name)?;
        let dir = self.dir_of(&path);
        if path.is_inbox() || dir.exists() {
            return Err(MailboxError::AlreadyExists(name.as_str().to_owned()));
        }
        // Build the folder in tmp/ and rename it into place, so no other
        // process sees a half-made folder.
        let staging = self
            .root
            .join("tmp")
            .join(format!("folder-{}", unique_name()));
        let build = || -> io::Result<()> {
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(staging.join(sub))?;
            }
            fs::write(staging.join(MAILDIRFOLDER), b"")?;
            Ok(())
        };
        if let Err(e) = build() {
            let _ = fs::remove_dir_all(&staging);
            return Err(MailboxError::io(staging, e));
        }
        if dir.exists() {
            let _ = fs::remove_dir_all(&staging);
            return Err(MailboxError::AlreadyExists(name.as_str().to_owned()));
        }
        match fs::rename(&staging, &dir) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = fs::remove_dir_all(&staging);
                if e.kind() == io::ErrorKind::AlreadyExists
                    || e.kind() == io::ErrorKind::DirectoryNotEmpty
                {
                    Err(MailboxError::AlreadyExists(name.as_str().to_owned()))
                } else {
                    Err(MailboxError::io(dir, e))
                }
            }
        }
    }

    fn delete(&self, name: &MailboxName) -> Result<()> {
        let path = names::parse(name)?;
        if path.is_inbox() {
            return Err(MailboxError::DeleteInbox);
        }
        let dir = self.dir_of(&path);
        if !dir.join("cur").is_dir() {
            let has_children = self
                .folders()?
                .iter()
                .any(|f| path.is_ancestor_of(&f.levels));
            return Err(if has_children {
                MailboxError::HasChildren(name.as_str().to_owned())
            } else {
                MailboxError::NotFound(name.as_str().to_owned())
            });
        }
        // Children are separate directories (`.A.B`), so removing `.A`
        // leaves `INBOX.A` as a \Noselect name (RFC 3501 §6.3.4).
        let trash = self
            .root
            .join("tmp")
            .join(format!("deleted-{}", unique_name()));
        fs::rename(&dir, &trash).map_err(|e| MailboxError::io(&dir, e))?;
        self.forget(&dir);
        if let Some(mb) = registered(&dir) {
            mb.notify();
        }
        fs::remove_dir_all(&trash).map_err(|e| MailboxError::io(trash, e))
    }

    fn rename(&self, from: &MailboxName, to: &MailboxName) -> Result<()> {
        let src = names::parse(from)?;
        let dst = names::parse(to)?;
        if src.is_inbox() {
            // RFC 3501 §6.3.5: INBOX's messages move to the new mailbox;
            // INBOX stays, empty, and its children are not moved.
            self.create(to)?;
            let inbox = self.open(from)?;
            let dest = self.open(to)?;
            let uids: Vec<_> = inbox.messages().iter().map(|m| m.uid).collect();
            inbox.move_to(&uids, &dest)?;
            return Ok(());
        }
        check_rename(&src, &dst, from, to)?;
        let src_dir = self.dir_of(&src);
        if !src_dir.join("cur").is_dir() {
            return Err(MailboxError::NotFound(from.as_str().to_owned()));
        }
        let folders = self.folders()?;
        let mut moves = Vec::new();
        for f in folders
            .iter()
            .filter(|f| f.levels == src.levels || src.is_ancestor_of(&f.levels))
        {
            let mut levels = dst.levels.clone();
            levels.extend_from_slice(&f.levels[src.levels.len()..]);
            let target = FolderPath::from_levels(levels);
            let target_dir = self.dir_of(&target);
            if target_dir.exists() {
                return Err(MailboxError::AlreadyExists(target.name().into_string()));
            }
            moves.push((self.dir_of(f), target_dir));
        }
        for (a, b) in moves {
            fs::rename(&a, &b).map_err(|e| MailboxError::io(&a, e))?;
            self.forget(&a);
        }
        Ok(())
    }

    fn subscribe(&self, name: &MailboxName) -> Result<()> {
        let path = names::parse(name)?;
        let wire = path.name().to_modified_utf7();
        let mut names = self.raw_subscriptions()?;
        if !names.contains(&wire) {
            names.push(wire);
            self.write_subscriptions(&names)?;
        }
        Ok(())
    }

    fn unsubscribe(&self, name: &MailboxName) -> Result<()> {
        let path = names::parse(name)?;
        let wire = path.name().to_modified_utf7();
        let mut names = self.raw_subscriptions()?;
        let before = names.len();
        names.retain(|n| *n != wire);
        if names.len() != before {
            self.write_subscriptions(&names)?;
        }
        Ok(())
    }

    fn open(&self, name: &MailboxName) -> Result<Arc<Mailbox>> {
        let path = names::parse(name)?;
        let dir = self.dir_of(&path);
        if !dir.join("cur").is_dir() {
            return Err(MailboxError::NotFound(name.as_str().to_owned()));
        }
        let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
        if let Some((weak, closing)) = r.get(&dir) {
            if let Some(mb) = weak.upgrade() {
                drop(r);
                self.kept_open(&mb);
                return Ok(mb);
            }
            // The last handle is gone but its backend may still be saving
            // the index: wait for that, without holding the registry.
            let closing = Arc::clone(closing);
            drop(r);
            closing.wait(Duration::from_secs(10));
            r = registry().lock().unwrap_or_else(|e| e.into_inner());
            if let Some(mb) = r.get(&dir).and_then(|(w, _)| w.upgrade()) {
                drop(r);
                self.kept_open(&mb);
                return Ok(mb);
            }
        }
        let backend = MaildirFolder::new(dir.clone(), Arc::clone(&self.options.quota));
        let closing = backend.closing();
        let mb = Mailbox::open(path.name(), Box::new(backend), self.options.poll_interval)?;
        if self.file_watch {
            mb.watch(&[dir.join("cur"), dir.join("new")]);
        }
        r.retain(|_, (w, c)| w.strong_count() > 0 || !c.is_gone());
        r.insert(dir, (Arc::downgrade(&mb), closing));
        drop(r);
        self.kept_open(&mb);
        Ok(mb)
    }
}

/// The Maildir++ root of a folder directory (the parent of a directory
/// holding `maildirfolder`).
pub(crate) fn maildir_root_of(dir: &Path) -> PathBuf {
    if dir.join(MAILDIRFOLDER).exists() {
        dir.parent()
            .map_or_else(|| dir.to_path_buf(), Path::to_path_buf)
    } else {
        dir.to_path_buf()
    }
}
