//! Maildir++ quota: the `maildirsize` file at the top of each user's
//! Maildir, read, checked and appended to through `postroom-access`'s
//! format functions. Plugged into the store as its
//! [`postroom_mailbox::QuotaHook`].

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use postroom_access::maildirsize::{
    self, ListedFile, MaildirQuotaCheck, Maildirsize, QuotaDefinition, RecalcSettings, Totals,
    Writer,
};
use postroom_mailbox::{MailboxError, QuotaHook};

/// Quota kept in Courier's `maildirsize` file.
///
/// A Maildir without the file gets `default` as its definition when it is
/// first checked; [`MaildirsizeQuota::set_definition`] (SETQUOTA) rewrites
/// the definition line. Usage counts every message, `\Deleted` and Trash
/// included, so the delta lines the store appends stay consistent.
#[derive(Debug)]
pub struct MaildirsizeQuota {
    default: QuotaDefinition,
    // Serialises this process's read-modify-write of the files.
    lock: Mutex<()>,
}

/// Usage and limits of one Maildir.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotaState {
    /// The limits (0 = unlimited).
    pub definition: QuotaDefinition,
    /// Bytes in use.
    pub bytes: u64,
    /// Messages stored.
    pub messages: u64,
}

impl MaildirsizeQuota {
    /// Quota with `default` for Maildirs that have no `maildirsize` yet.
    pub fn new(default: QuotaDefinition) -> MaildirsizeQuota {
        MaildirsizeQuota {
            default,
            lock: Mutex::new(()),
        }
    }

    /// The default definition.
    pub fn default_definition(&self) -> QuotaDefinition {
        self.default
    }

    /// The current limits and usage of the Maildir at `root`, creating or
    /// rebuilding `maildirsize` when needed.
    pub fn state(&self, root: &Path) -> std::io::Result<QuotaState> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let file = self.load(root)?;
        let t = file.totals();
        Ok(QuotaState {
            definition: file.definition,
            bytes: t.bytes,
            messages: t.messages,
        })
    }

    /// Replaces the definition line (SETQUOTA), keeping the usage.
    pub fn set_definition(&self, root: &Path, definition: QuotaDefinition) -> std::io::Result<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let totals = recount(root)?;
        write_file(
            root,
            &maildirsize::print_file(definition, totals, Writer::Courier),
        )
    }

    /// Reads `maildirsize`, (re)building it from a directory listing when
    /// it is missing or due for recalculation.
    fn load(&self, root: &Path) -> std::io::Result<Maildirsize> {
        let path = file_path(root);
        match fs::read(&path) {
            Ok(bytes) => {
                let parsed = Maildirsize::parse(&bytes);
                if parsed.recalculate.is_some() {
                    self.rebuild(root, parsed.definition)
                } else {
                    Ok(parsed)
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.rebuild(root, self.default),
            Err(e) => Err(e),
        }
    }

    fn rebuild(&self, root: &Path, definition: QuotaDefinition) -> std::io::Result<Maildirsize> {
        let totals = recount(root)?;
        let bytes = maildirsize::print_file(definition, totals, Writer::Courier);
        write_file(root, &bytes)?;
        Ok(Maildirsize::parse(&bytes))
    }
}

impl QuotaHook for MaildirsizeQuota {
    fn check(&self, root: &Path, bytes: u64, messages: u64) -> postroom_mailbox::Result<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let io = |source| MailboxError::Io {
            path: file_path(root),
            source,
        };
        let mut file = self.load(root).map_err(io)?;
        let add_b = i64::try_from(bytes).unwrap_or(i64::MAX);
        let add_m = i64::try_from(messages).unwrap_or(i64::MAX);
        let age = fs::metadata(file_path(root))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .map_or(0, |d| d.as_secs());
        let over = match file.check(add_b, add_m, age) {
            MaildirQuotaCheck::Within { .. } => false,
            MaildirQuotaCheck::Over => true,
            MaildirQuotaCheck::Recalculate => {
                file = self.rebuild(root, file.definition).map_err(io)?;
                let t = file.totals();
                let b = i64::try_from(t.bytes).unwrap_or(i64::MAX);
                let m = i64::try_from(t.messages).unwrap_or(i64::MAX);
                file.definition
                    .evaluate(b.saturating_add(add_b), m.saturating_add(add_m))
                    .0
            }
        };
        if over {
            Err(MailboxError::OverQuota)
        } else {
            Ok(())
        }
    }

    fn record(&self, root: &Path, bytes: i64, messages: i64) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let path = file_path(root);
        if !path.exists() {
            // The next check rebuilds the file from the listing, which
            // already includes this change.
            return;
        }
        // A failed append only makes the next check recalculate.
        if let Ok(mut f) = fs::OpenOptions::new().append(true).open(&path) {
            let _ =
                f.write_all(maildirsize::delta_line(bytes, messages, Writer::Courier).as_bytes());
        }
    }
}

fn file_path(root: &Path) -> PathBuf {
    root.join(maildirsize::FILE_NAME)
}

/// Writes the file through `tmp/` and a rename, as Courier does.
fn write_file(root: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = root.join("tmp").join(format!(
        "maildirsize.{}.{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    fs::create_dir_all(root.join("tmp"))?;
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, file_path(root))
}

/// Lists `new/` and `cur/` of the Maildir and its folders and sums them.
fn recount(root: &Path) -> std::io::Result<Totals> {
    let mut folders = vec![String::new()];
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name != "." && name != ".." && entry.path().is_dir() {
            folders.push(name);
        }
    }
    let mut names: Vec<(String, String, Option<u64>)> = Vec::new();
    for folder in &folders {
        let dir = if folder.is_empty() {
            root.to_path_buf()
        } else {
            root.join(folder)
        };
        for sub in ["new", "cur"] {
            let Ok(rd) = fs::read_dir(dir.join(sub)) else {
                continue;
            };
            for entry in rd.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let size = maildirsize::size_from_name(&name)
                    .is_none()
                    .then(|| entry.metadata().ok().map(|m| m.len()))
                    .flatten();
                names.push((folder.clone(), name, size));
            }
        }
    }
    Ok(maildirsize::recalculate(
        names.iter().map(|(folder, name, size)| ListedFile {
            folder,
            name,
            stat_size: *size,
        }),
        RecalcSettings::DOVECOT,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_record_and_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        let q = MaildirsizeQuota::new(QuotaDefinition {
            bytes: 1000,
            messages: 2,
        });
        let add = |name: &str| {
            q.check(root, 400, 1).unwrap();
            fs::write(root.join("cur").join(name), vec![b'x'; 400]).unwrap();
            q.record(root, 400, 1);
        };
        add("1.a,S=400:2,");
        add("2.b,S=400:2,");
        let s = q.state(root).unwrap();
        assert_eq!((s.bytes, s.messages), (800, 2));
        // Over the message limit; a recount confirms it.
        assert!(matches!(q.check(root, 10, 1), Err(MailboxError::OverQuota)));
        fs::remove_file(root.join("cur/2.b,S=400:2,")).unwrap();
        q.record(root, -400, -1);
        q.check(root, 100, 1).unwrap();
        assert!(matches!(
            q.check(root, 700, 1),
            Err(MailboxError::OverQuota)
        ));
        q.set_definition(
            root,
            QuotaDefinition {
                bytes: 0,
                messages: 0,
            },
        )
        .unwrap();
        q.check(root, 1 << 30, 100).unwrap();
    }
}
