//! The seam where Maildir++ quota (`maildirsize`) plugs in.
//!
//! This crate calls a [`QuotaHook`] before every append and delivery and
//! after every append, delivery and expunge. [`MaildirsizeQuota`] keeps
//! Maildir++ `maildirsize` (format from `postroom-access`); [`NoQuota`] is
//! the default.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use postroom_access::maildirsize::{
    ListedFile, MaildirQuotaCheck, Maildirsize, QuotaDefinition, RecalcSettings, Writer,
    delta_line, print_file, recalculate,
};

use crate::error::{MailboxError, Result};

/// Quota checks and accounting for one Maildir++ root.
pub trait QuotaHook: Send + Sync {
    /// Called before `bytes` octets in `messages` messages are added under
    /// `root`; an error (normally [`crate::MailboxError::OverQuota`]) refuses
    /// the append or delivery before anything is written.
    fn check(&self, root: &Path, bytes: u64, messages: u64) -> Result<()>;

    /// Called after a change is on disk: positive deltas for appends and
    /// deliveries, negative for expunges (a `maildirsize` line).
    fn record(&self, root: &Path, bytes: i64, messages: i64);
}

/// No quota: every check passes, nothing is recorded.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoQuota;

impl QuotaHook for NoQuota {
    fn check(&self, _root: &Path, _bytes: u64, _messages: u64) -> Result<()> {
        Ok(())
    }

    fn record(&self, _root: &Path, _bytes: i64, _messages: i64) {}
}

/// Maildir++ quota in the `maildirsize` file at the root (Courier's
/// definition, through `postroom-access`'s format code): a root without
/// the file has no quota; appends and deliveries that would go over the
/// limit are refused with [`crate::MailboxError::OverQuota`]; every append,
/// delivery and expunge adds a delta line; the file is rebuilt from the
/// folders when the format asks for it (too large, malformed, stale while
/// over).
#[derive(Clone, Copy, Debug)]
pub struct MaildirsizeQuota {
    /// Whose line format to write.
    pub writer: Writer,
    /// What a rebuild counts.
    pub settings: RecalcSettings,
}

impl Default for MaildirsizeQuota {
    fn default() -> MaildirsizeQuota {
        MaildirsizeQuota {
            writer: Writer::Courier,
            settings: RecalcSettings::COURIER,
        }
    }
}

/// The quota file's name at the Maildir++ root.
pub const MAILDIRSIZE: &str = "maildirsize";

impl MaildirsizeQuota {
    /// Rebuilds `maildirsize` from the folders and returns it.
    fn rebuild(&self, root: &Path, definition: QuotaDefinition) -> Result<Maildirsize> {
        let mut listed: Vec<(String, String, Option<u64>)> = Vec::new();
        let mut dirs = vec![(String::new(), root.to_path_buf())];
        for e in fs::read_dir(root)
            .map_err(|e| MailboxError::io(root, e))?
            .flatten()
        {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.')
                && name.len() > 1
                && !name.starts_with("..")
                && e.path().join("cur").is_dir()
            {
                dirs.push((name, e.path()));
            }
        }
        for (folder, dir) in dirs {
            for sub in ["new", "cur"] {
                let Ok(rd) = fs::read_dir(dir.join(sub)) else {
                    continue;
                };
                for e in rd.flatten() {
                    let Ok(name) = e.file_name().into_string() else {
                        continue;
                    };
                    let size = e.metadata().ok().map(|m| m.len());
                    listed.push((folder.clone(), name, size));
                }
            }
        }
        let totals = recalculate(
            listed.iter().map(|(folder, name, size)| ListedFile {
                folder,
                name,
                stat_size: *size,
            }),
            self.settings,
        );
        let bytes = print_file(definition, totals, self.writer);
        let path = root.join(MAILDIRSIZE);
        crate::maildir::atomic::write_atomic(&path, &bytes)
            .map_err(|e| MailboxError::io(path, e))?;
        Ok(Maildirsize::parse(&bytes))
    }
}

impl QuotaHook for MaildirsizeQuota {
    fn check(&self, root: &Path, bytes: u64, messages: u64) -> Result<()> {
        let path = root.join(MAILDIRSIZE);
        let (data, age) = match fs::read(&path) {
            Ok(d) => {
                let age = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .map_or(0, |d| d.as_secs());
                (d, age)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(MailboxError::io(path, e)),
        };
        let add_b = i64::try_from(bytes).unwrap_or(i64::MAX);
        let add_m = i64::try_from(messages).unwrap_or(i64::MAX);
        let current = Maildirsize::parse(&data);
        let verdict = match current.check(add_b, add_m, age) {
            MaildirQuotaCheck::Recalculate => {
                let rebuilt = self.rebuild(root, current.definition)?;
                // Right after a rebuild only the limit decides.
                match rebuilt.check(add_b, add_m, 0) {
                    MaildirQuotaCheck::Within { .. } => MaildirQuotaCheck::Within { percent: 0 },
                    _ => MaildirQuotaCheck::Over,
                }
            }
            v => v,
        };
        match verdict {
            MaildirQuotaCheck::Over => Err(MailboxError::OverQuota),
            _ => Ok(()),
        }
    }

    fn record(&self, root: &Path, bytes: i64, messages: i64) {
        let path = root.join(MAILDIRSIZE);
        // Only a root that has quota keeps the file; no lock, as Courier
        // (the quota may be overshot slightly).
        if let Ok(mut f) = fs::OpenOptions::new().append(true).open(&path) {
            let _ = f.write_all(delta_line(bytes, messages, self.writer).as_bytes());
        }
    }
}
