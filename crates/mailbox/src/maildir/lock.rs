//! A dot-lock file per folder that serializes UID assignment between
//! processes: created with `O_EXCL`, holding `<pid> <host>`; a lock whose
//! process is gone (same host) or that is older than [`STALE`] is broken.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{MailboxError, Result};

/// Name of the lock file in each folder directory.
pub(crate) const LOCK_NAME: &str = "postroom-uid.lock";
/// A lock older than this is considered left behind by a crash.
const STALE: Duration = Duration::from_secs(30);
/// How long to wait for a lock before failing.
const WAIT: Duration = Duration::from_secs(60);

/// A held lock; released on drop.
#[derive(Debug)]
pub(crate) struct DotLock {
    path: PathBuf,
}

impl DotLock {
    pub(crate) fn acquire(dir: &Path) -> Result<DotLock> {
        let path = dir.join(LOCK_NAME);
        let me = format!("{} {}\n", std::process::id(), host());
        // The lock appears with its contents at once: written under a
        // unique name in tmp/, then hard-linked to the lock name (which
        // fails if the lock exists), so a crash never leaves an empty lock.
        let tmp = dir.join("tmp").join(format!(
            "{LOCK_NAME}.{}",
            crate::maildir::atomic::unique_name()
        ));
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| MailboxError::io(&tmp, e))?;
            f.write_all(me.as_bytes())
                .map_err(|e| MailboxError::io(&tmp, e))?;
        }
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        let result = loop {
            match fs::hard_link(&tmp, &path) {
                Ok(()) => break Ok(DotLock { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if is_stale(&path) {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if start.elapsed() > WAIT {
                        break Err(MailboxError::io(
                            &path,
                            io::Error::new(io::ErrorKind::TimedOut, "lock busy"),
                        ));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(e) => break Err(MailboxError::io(&path, e)),
            }
        };
        let _ = fs::remove_file(&tmp);
        result
    }
}

impl Drop for DotLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn is_stale(path: &Path) -> bool {
    let Ok(text) = fs::read_to_string(path) else {
        // Vanished (released meanwhile) or unreadable: retry.
        return false;
    };
    let mut parts = text.split_whitespace();
    if let (Some(pid), Some(h)) = (parts.next(), parts.next()) {
        if h == host() {
            if let Ok(pid) = pid.parse::<u32>() {
                if !Path::new(&format!("/proc/{pid}")).exists() && Path::new("/proc/self").exists()
                {
                    return true;
                }
            }
        }
    }
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age > STALE)
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_excludes_and_releases() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("tmp")).unwrap();
        let a = DotLock::acquire(d.path()).unwrap();
        assert!(d.path().join(LOCK_NAME).exists());
        drop(a);
        assert!(!d.path().join(LOCK_NAME).exists());
    }

    #[test]
    fn dead_owner_is_broken() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("tmp")).unwrap();
        // pid 0 never names a live process under /proc.
        fs::write(d.path().join(LOCK_NAME), format!("0 {}\n", host())).unwrap();
        let _l = DotLock::acquire(d.path()).unwrap();
    }
}
