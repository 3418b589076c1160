//! Delivery the Maildir way, usable by an MDA in another process.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{MailboxError, Result};
use crate::maildir::atomic::{sync_dir, unique_name};
use crate::maildir::folder::write_synced;
use crate::quota::{NoQuota, QuotaHook};

/// Delivers `raw` into the INBOX of the Maildir at `root`: written to
/// `tmp/` under a unique name, fsynced, renamed into `new/` as
/// `<unique>,S=<size>`, and `new/` fsynced. Returns the path in `new/`.
///
/// Once this returns, the message survives a crash; a reader that opens the
/// mailbox (in any process) moves it to `cur/` and gives it the next UID.
/// Sessions of this process are woken.
pub fn deliver(root: &Path, raw: &[u8]) -> Result<PathBuf> {
    deliver_with_quota(root, raw, &NoQuota)
}

/// [`deliver`] with a quota check before writing and accounting after.
pub fn deliver_with_quota(root: &Path, raw: &[u8], quota: &dyn QuotaHook) -> Result<PathBuf> {
    quota.check(root, raw.len() as u64, 1)?;
    let new = root.join("new");
    if !new.is_dir() || !root.join("tmp").is_dir() {
        return Err(MailboxError::NotFound(root.display().to_string()));
    }
    let unique = unique_name();
    let tmp = root.join("tmp").join(&unique);
    write_synced(&tmp, raw, None).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        MailboxError::io(&tmp, e)
    })?;
    let target = new.join(format!("{unique},S={}", raw.len()));
    fs::rename(&tmp, &target).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        MailboxError::io(&target, e)
    })?;
    sync_dir(&new).map_err(|e| MailboxError::io(&new, e))?;
    quota.record(root, raw.len() as i64, 1);
    if let Some(mb) = crate::maildir::store::registered(root) {
        let _ = mb.rescan();
    }
    Ok(target)
}
