//! Directory change notification for [`crate::Mailbox`]: wakes a mailbox
//! when another process delivers, renames or removes a message file.
//!
//! On Linux this is inotify, asked only for the events that change a
//! Maildir (entries created, moved, deleted, files written): not for
//! opens and reads, which every FETCH of a message file would otherwise
//! queue, each one waking the watcher thread. Elsewhere the `notify`
//! crate's recommended watcher is used, with access events ignored.

use std::path::PathBuf;

/// A running watch; dropping it stops the watcher thread.
pub(crate) struct DirWatch {
    #[allow(dead_code)] // Kept for its Drop.
    imp: imp::Watch,
}

impl DirWatch {
    /// Watches `dirs` (not recursively) and calls `on_change` from a
    /// background thread whenever something in one of them changes, or
    /// when events may have been lost (queue overflow, a watched directory
    /// removed), so the caller rescans. `None` when the watch cannot be
    /// set up (no support, watch limits reached); the caller then polls.
    pub(crate) fn start(
        dirs: &[PathBuf],
        on_change: impl Fn() + Send + Sync + 'static,
    ) -> Option<DirWatch> {
        imp::Watch::start(dirs, on_change).map(|imp| DirWatch { imp })
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    pub(super) struct Watch {
        watches: Watches,
        wds: Vec<WatchDescriptor>,
        stop: Arc<AtomicBool>,
    }

    /// What changes a Maildir: a delivery (create, or rename from tmp/),
    /// a flag change (rename), an expunge (unlink), a UID list or keyword
    /// file rewritten (rename over it, or written in place), the
    /// directory itself removed or renamed.
    fn mask() -> WatchMask {
        WatchMask::CREATE
            | WatchMask::DELETE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::CLOSE_WRITE
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
            | WatchMask::ONLYDIR
    }

    impl Watch {
        pub(super) fn start(
            dirs: &[PathBuf],
            on_change: impl Fn() + Send + Sync + 'static,
        ) -> Option<Watch> {
            let mut inotify = Inotify::init().ok()?;
            let mut watches = inotify.watches();
            let mut wds = Vec::with_capacity(dirs.len());
            for d in dirs {
                wds.push(watches.add(d, mask()).ok()?);
            }
            let stop = Arc::new(AtomicBool::new(false));
            let stopped = Arc::clone(&stop);
            let mut live = wds.len();
            std::thread::Builder::new()
                .name("postroom-watch".into())
                .spawn(move || {
                    let mut buf = [0u8; 4096];
                    loop {
                        let events = match inotify.read_events_blocking(&mut buf) {
                            Ok(events) => events,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(_) => {
                                on_change();
                                return;
                            }
                        };
                        let mut ended = 0;
                        for ev in events {
                            if ev.mask.contains(EventMask::IGNORED) {
                                ended += 1;
                            }
                        }
                        live = live.saturating_sub(ended);
                        if stopped.load(Ordering::Acquire) {
                            return;
                        }
                        on_change();
                        if live == 0 {
                            // Every watched directory is gone.
                            return;
                        }
                    }
                })
                .ok()?;
            Some(Watch { watches, wds, stop })
        }
    }

    impl Drop for Watch {
        /// Removing the watches queues an `IN_IGNORED` event for each,
        /// which wakes the thread; it sees `stop` and ends, closing the
        /// inotify descriptor. A watch the kernel already removed (its
        /// directory deleted) has woken the thread itself.
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Release);
            for wd in self.wds.drain(..) {
                let _ = self.watches.remove(wd);
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    use notify::Watcher;
    use std::path::PathBuf;

    pub(super) struct Watch(notify::RecommendedWatcher);

    impl Watch {
        pub(super) fn start(
            dirs: &[PathBuf],
            on_change: impl Fn() + Send + Sync + 'static,
        ) -> Option<Watch> {
            let handler = move |res: notify::Result<notify::Event>| {
                let relevant = match res {
                    Ok(ev) => !matches!(ev.kind, notify::EventKind::Access(_)),
                    // Lost events: rescan to be sure.
                    Err(_) => true,
                };
                if relevant {
                    on_change();
                }
            };
            let mut w = notify::recommended_watcher(handler).ok()?;
            for d in dirs {
                w.watch(d, notify::RecursiveMode::NonRecursive).ok()?;
            }
            Some(Watch(w))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    fn wait_for(count: &AtomicUsize, at_least: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if count.load(Ordering::Acquire) >= at_least {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn a_new_file_wakes_and_reading_does_not() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cur");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("old"), b"x").unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&count);
        let w = DirWatch::start(std::slice::from_ref(&dir), move || {
            c.fetch_add(1, Ordering::AcqRel);
        })
        .expect("watch");
        for _ in 0..50 {
            let _ = std::fs::read(dir.join("old")).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(count.load(Ordering::Acquire), 0, "reads are not changes");
        std::fs::write(tmp.path().join("msg"), b"y").unwrap();
        std::fs::rename(tmp.path().join("msg"), dir.join("new-msg")).unwrap();
        assert!(wait_for(&count, 1), "a delivery by rename wakes the watch");
        drop(w);
    }

    #[test]
    fn a_removed_directory_wakes_the_watch() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("new");
        std::fs::create_dir(&dir).unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&count);
        let _w = DirWatch::start(std::slice::from_ref(&dir), move || {
            c.fetch_add(1, Ordering::AcqRel);
        })
        .expect("watch");
        std::fs::remove_dir(&dir).unwrap();
        assert!(wait_for(&count, 1));
    }
}
