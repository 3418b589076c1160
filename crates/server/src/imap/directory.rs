//! Where users' Maildirs live, how wire names map to (owner, mailbox), and
//! the per-folder ACL files.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use postroom_access::aclfile::{
    apply_courier_admin_defaults, default_inbox_acl, parse_acl_file, print_acl_file,
};
use postroom_access::{ADMINISTRATORS_GROUP, Acl, Principal, Subject};
use postroom_mailbox::{ListAttribute, MailboxError, MaildirOptions, MaildirStore, Store};
use postroom_types::{MailboxName, Right, Rights};

use super::quota::MaildirsizeQuota;
use crate::users::UserDb;

/// The prefix of the namespace where other users' shared folders appear,
/// as Courier-IMAP presents them (`#shared.bob.Projects`).
pub const SHARED_PREFIX: &str = "#shared";

/// The users and their mail: the user database, the directory holding
/// Maildirs of users without a home, and the quota applied to every store.
#[derive(Debug)]
pub struct Directory {
    users: RwLock<Arc<UserDb>>,
    mail_root: PathBuf,
    quota: Arc<MaildirsizeQuota>,
    poll_interval: Duration,
    keep_open: Duration,
    /// Bumped by [`Directory::folders_changed`].
    generation: AtomicU64,
    shared_index: Mutex<Option<SharedIndex>>,
}

/// How long a folder stays open after its last session by default: a
/// webmail's next page or a mail program's reconnect finds it in memory.
pub const DEFAULT_KEEP_OPEN: Duration = Duration::from_secs(60);

/// How long [`Directory::shared_folders`] trusts its index before reading
/// every user's folders again (ACL files changed by another process, or
/// Maildirs copied in, show up within this time).
pub(crate) const SHARED_INDEX_TTL: Duration = Duration::from_secs(30);

/// The folders whose ACL lets someone other than their owner and the
/// administrators look them up, as of one scan.
#[derive(Debug)]
struct SharedIndex {
    built: Instant,
    generation: u64,
    folders: Arc<Vec<(String, MailboxName)>>,
}

impl Directory {
    /// A directory: users without a `home` keep their Maildir at
    /// `mail_root/NAME`; `quota` is every Maildir's `maildirsize` policy.
    pub fn new(users: UserDb, mail_root: impl Into<PathBuf>, quota: MaildirsizeQuota) -> Directory {
        Directory {
            users: RwLock::new(Arc::new(users)),
            mail_root: mail_root.into(),
            quota: Arc::new(quota),
            poll_interval: Duration::from_millis(500),
            keep_open: DEFAULT_KEEP_OPEN,
            generation: AtomicU64::new(0),
            shared_index: Mutex::new(None),
        }
    }

    /// Tells the directory that an ACL or a user's set of folders changed
    /// (SETACL, CREATE, DELETE, RENAME), so the next LIST that looks under
    /// `#shared.` reads every user's folders again instead of using the
    /// index of shared folders (otherwise refreshed every 30 seconds, for
    /// changes made by other processes).
    pub fn folders_changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Every user's folders whose ACL grants the lookup right (`l`) to
    /// someone other than the owner and the administrators: the only
    /// folders a non-administrator can see under `#shared.`. Read from the
    /// users' Maildirs once, then kept until
    /// [`folders_changed`](Directory::folders_changed) or
    /// [`SHARED_INDEX_TTL`], so LIST does not read every user's folders.
    /// `(owner, folder)` pairs; callers check the rights themselves.
    pub(crate) fn shared_folders(&self) -> Arc<Vec<(String, MailboxName)>> {
        let generation = self.generation.load(Ordering::Acquire);
        let mut index = self.shared_index.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = index.as_ref() {
            if i.generation == generation && i.built.elapsed() < SHARED_INDEX_TTL {
                return Arc::clone(&i.folders);
            }
        }
        let mut folders = Vec::new();
        for entry in self.users().iter() {
            let owner = entry.name();
            let Some(store) = self.existing_store(owner) else {
                continue;
            };
            let Ok(list) = store.list("", "*") else {
                continue;
            };
            for e in list {
                if !e.attributes.contains(&ListAttribute::Noselect)
                    && grants_lookup_to_others(&read_acl(&store, &e.name))
                {
                    folders.push((owner.to_owned(), e.name));
                }
            }
        }
        let folders = Arc::new(folders);
        *index = Some(SharedIndex {
            built: Instant::now(),
            generation,
            folders: Arc::clone(&folders),
        });
        folders
    }

    /// Sets how often sessions rescan folders for other processes' changes
    /// (default 500 ms).
    pub fn with_poll_interval(mut self, interval: Duration) -> Directory {
        self.poll_interval = interval;
        self
    }

    /// How often sessions rescan folders for other processes' changes.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// Sets how long a folder stays open after its last session let go of
    /// it (default [`DEFAULT_KEEP_OPEN`]; zero closes at once); see
    /// `postroom_mailbox::MaildirOptions::keep_open`.
    pub fn with_keep_open(mut self, keep: Duration) -> Directory {
        self.keep_open = keep;
        self
    }

    /// The current user database.
    pub fn users(&self) -> Arc<UserDb> {
        Arc::clone(&self.users.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the user database (e.g. after the file changed).
    pub fn set_users(&self, users: UserDb) {
        *self.users.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(users);
    }

    /// The quota policy.
    pub fn quota(&self) -> &MaildirsizeQuota {
        &self.quota
    }

    /// The Maildir root of `user`: the `home` field when set, else
    /// `mail_root/NAME`. `None` for unknown users.
    pub fn maildir_root(&self, user: &str) -> Option<PathBuf> {
        let users = self.users();
        let entry = users.get(user)?;
        Some(match entry.home() {
            Some(home) => home.to_path_buf(),
            None => self.mail_root.join(user),
        })
    }

    /// Opens (creating if needed) the Maildir store of `user`.
    pub fn store(&self, user: &str) -> postroom_mailbox::Result<MaildirStore> {
        let root = self
            .maildir_root(user)
            .ok_or_else(|| MailboxError::NotFound(user.to_owned()))?;
        let quota: Arc<dyn postroom_mailbox::QuotaHook> = self.quota.clone();
        MaildirStore::with_options(
            root,
            MaildirOptions {
                poll_interval: self.poll_interval,
                keep_open: self.keep_open,
                quota,
                ..MaildirOptions::default()
            },
        )
    }

    /// The store of `user` if their Maildir exists (never creates one; for
    /// looking at other users' shared folders).
    pub fn existing_store(&self, user: &str) -> Option<MaildirStore> {
        let root = self.maildir_root(user)?;
        if !root.join("cur").is_dir() {
            return None;
        }
        self.store(user).ok()
    }

    /// The groups of `user` (for ACL `group=` entries and administrators).
    pub fn principal(&self, user: &str) -> Principal {
        let users = self.users();
        let groups = users
            .get(user)
            .map(|e| e.groups().to_vec())
            .unwrap_or_default();
        Principal::with_groups(user, groups)
    }
}

/// A mailbox: whose store it is in and its name there (`INBOX...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) owner: String,
    pub(crate) name: MailboxName,
}

/// Maps a wire name to a location for `me`: personal names as they are,
/// `#shared.USER` to USER's INBOX and `#shared.USER.A.B` to USER's
/// `INBOX.A.B` (the longest existing user name wins, so names with dots
/// work).
pub(crate) fn resolve(users: &UserDb, me: &str, wire: &MailboxName) -> Option<Location> {
    let s = wire.as_str();
    let Some(rest) = s
        .strip_prefix(SHARED_PREFIX)
        .and_then(|r| r.strip_prefix('.'))
    else {
        if s.starts_with(SHARED_PREFIX) {
            return None;
        }
        return Some(Location {
            owner: me.to_owned(),
            name: wire.clone(),
        });
    };
    // Try the longest prefix of `rest` (ending at a `.` or the end) that is
    // a user name.
    let mut cut = Some(rest.len());
    while let Some(end) = cut {
        let user = &rest[..end];
        if user != me && users.get(user).is_some() {
            let folder = &rest[end..];
            let name = if folder.is_empty() {
                MailboxName::inbox()
            } else {
                MailboxName::new(format!("INBOX{folder}"))
            };
            return Some(Location {
                owner: user.to_owned(),
                name,
            });
        }
        cut = rest[..end].rfind('.');
    }
    None
}

/// The wire name of a location as `me` sees it.
pub(crate) fn display(me: &str, loc: &Location) -> MailboxName {
    if loc.owner == me {
        return loc.name.clone();
    }
    let rest = loc.name.as_str().strip_prefix("INBOX").unwrap_or("");
    MailboxName::new(format!("{SHARED_PREFIX}.{}{rest}", loc.owner))
}

/// Whether `name` exists in `store`: `Some(true)` selectable,
/// `Some(false)` a `\Noselect` hierarchy name, `None` absent.
pub(crate) fn exists(store: &dyn Store, name: &MailboxName) -> Option<bool> {
    let escaped = name.as_str();
    if escaped.contains(['*', '%']) {
        // A literal wildcard cannot be asked for by pattern; list all.
        return store
            .list("", "*")
            .ok()?
            .into_iter()
            .find(|e| e.name == *name)
            .map(|e| !e.attributes.contains(&ListAttribute::Noselect));
    }
    store
        .list("", escaped)
        .ok()?
        .into_iter()
        .find(|e| e.name == *name)
        .map(|e| !e.attributes.contains(&ListAttribute::Noselect))
}

/// The ACL of a mailbox: its `courierimapacl`, else the nearest ancestor's
/// (a folder inherits its parent's ACL), else Courier's INBOX default; with
/// Courier's administrator defaults applied.
pub(crate) fn read_acl(store: &MaildirStore, name: &MailboxName) -> Acl {
    let mut current = Some(name.clone());
    while let Some(n) = current {
        if let Ok(Some(bytes)) = store.read_acl_file(&n) {
            let mut acl = parse_acl_file(&bytes).acl;
            apply_courier_admin_defaults(&mut acl);
            return acl;
        }
        current = n.parent('.');
    }
    default_inbox_acl()
}

/// Whether a positive entry of `acl` other than the owner's and the
/// administrators' grants `l` (a user, a group, `anyone`, `authuser`).
fn grants_lookup_to_others(acl: &Acl) -> bool {
    acl.entries().any(|(id, rights)| {
        !id.is_negative()
            && rights.contains(Right::Lookup)
            && match id.subject() {
                Subject::Owner | Subject::Administrators => false,
                Subject::Group(g) => g != ADMINISTRATORS_GROUP,
                _ => true,
            }
    })
}

/// Writes a mailbox's ACL file.
pub(crate) fn write_acl(
    store: &MaildirStore,
    name: &MailboxName,
    acl: &Acl,
) -> postroom_mailbox::Result<()> {
    store.write_acl_file(name, &print_acl_file(acl))
}

/// The rights of `who` on `loc` in `store`; `None` when it does not exist
/// (or is only a hierarchy name).
pub(crate) fn rights_on(store: &MaildirStore, who: &Principal, loc: &Location) -> Option<Rights> {
    exists(store, &loc.name)?;
    Some(read_acl(store, &loc.name).rights_of(who, Some(&loc.owner)))
}

/// The file, at the top of a user's Maildir, listing the user's
/// subscriptions to other users' shared folders (one `#shared.` name per
/// line; the store's own subscription file holds personal names only).
pub(crate) const SHARED_SUBSCRIPTIONS: &str = "postroom-shared-subscriptions";

/// The user's subscriptions to shared folders.
pub(crate) fn shared_subscriptions(store: &MaildirStore) -> Vec<String> {
    std::fs::read(store.root().join(SHARED_SUBSCRIPTIONS))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces the shared subscriptions (written to `tmp/`, then renamed).
pub(crate) fn set_shared_subscriptions(
    store: &MaildirStore,
    names: &[String],
) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    for n in names {
        bytes.extend_from_slice(n.as_bytes());
        bytes.push(b'\n');
    }
    let tmp = store
        .root()
        .join("tmp")
        .join(format!("{SHARED_SUBSCRIPTIONS}.{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, store.root().join(SHARED_SUBSCRIPTIONS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_names() {
        let db = UserDb::parse(b"alice:{PLAIN}a\nbob:{PLAIN}b\nbob.smith:{PLAIN}c\n").unwrap();
        let r = |s: &str| resolve(&db, "alice", &MailboxName::new(s));
        assert_eq!(r("INBOX.x").unwrap().owner, "alice");
        let l = r("#shared.bob.Projects.2024").unwrap();
        assert_eq!(
            (l.owner.as_str(), l.name.as_str()),
            ("bob", "INBOX.Projects.2024")
        );
        let l = r("#shared.bob.smith.Sent").unwrap();
        assert_eq!(
            (l.owner.as_str(), l.name.as_str()),
            ("bob.smith", "INBOX.Sent")
        );
        let l = r("#shared.bob").unwrap();
        assert_eq!(l.name.as_str(), "INBOX");
        assert!(r("#shared.alice.x").is_none());
        assert!(r("#shared.nobody").is_none());
        assert!(r("#sharedfoo").is_none());
        let loc = Location {
            owner: "bob".into(),
            name: MailboxName::new("INBOX.Projects"),
        };
        assert_eq!(display("alice", &loc).as_str(), "#shared.bob.Projects");
    }
}
