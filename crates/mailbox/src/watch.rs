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
    imp: imp::Watch,
}

impl DirWatch {
    /// Watches `dirs` (not recursively) and calls `on_change` from a
    /// background thread whenever something in one of them changes, or
    /// when events may have been lost (queue overflow, a watched directory
    /// removed), so the caller rescans.
    ///
    /// On Linux the watches are added by that thread: adding the first
    /// watch on a directory costs the kernel a walk over the entries it
    /// has cached (about 16 ms for a `cur/` of 100,000 files), which a
    /// folder's open need not wait for. Once they are in place,
    /// `on_change` is called once, for what changed before. `None` when
    /// no watch can be started; when the thread cannot add its watches
    /// (watch limits reached), [`DirWatch::is_active`] stays false. The
    /// caller polls in either case.
    pub(crate) fn start(
        dirs: &[PathBuf],
        on_change: impl Fn() + Send + Sync + 'static,
    ) -> Option<DirWatch> {
        imp::Watch::start(dirs, on_change).map(|imp| DirWatch { imp })
    }

    /// Whether the watches are in place and reporting.
    pub(crate) fn is_active(&self) -> bool {
        self.imp.is_active()
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    pub(super) struct Watch {
        shared: Arc<Shared>,
    }

    /// What the handle and the watcher thread share.
    #[derive(Default)]
    struct Shared {
        /// The handle was dropped.
        stop: AtomicBool,
        /// The watches are in place.
        active: AtomicBool,
        /// The watches, once the thread has added them (the handle's drop
        /// removes them, which wakes the thread to end).
        set: Mutex<Option<(Watches, Vec<WatchDescriptor>)>>,
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
            let dirs = dirs.to_vec();
            let shared = Arc::new(Shared::default());
            let sh = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("postroom-watch".into())
                .spawn(move || {
                    let Ok(mut inotify) = Inotify::init() else {
                        return;
                    };
                    {
                        let mut set = sh.set.lock().unwrap_or_else(|e| e.into_inner());
                        if sh.stop.load(Ordering::Acquire) {
                            return;
                        }
                        let mut watches = inotify.watches();
                        let mut wds = Vec::with_capacity(dirs.len());
                        for d in &dirs {
                            match watches.add(d, mask()) {
                                Ok(wd) => wds.push(wd),
                                // Closing the descriptor (on return)
                                // removes the watches added so far.
                                Err(_) => return,
                            }
                        }
                        *set = Some((watches, wds));
                        sh.active.store(true, Ordering::Release);
                    }
                    // What changed before the watches were in place.
                    on_change();
                    let mut live = dirs.len();
                    let mut buf = [0u8; 4096];
                    loop {
                        let events = match inotify.read_events_blocking(&mut buf) {
                            Ok(events) => events,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(_) => {
                                sh.active.store(false, Ordering::Release);
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
                        if sh.stop.load(Ordering::Acquire) {
                            return;
                        }
                        on_change();
                        if live == 0 {
                            // Every watched directory is gone.
                            sh.active.store(false, Ordering::Release);
                            return;
                        }
                    }
                })
                .ok()?;
            Some(Watch { shared })
        }

        pub(super) fn is_active(&self) -> bool {
            self.shared.active.load(Ordering::Acquire)
        }
    }

    impl Drop for Watch {
        /// Removing the watches queues an `IN_IGNORED` event for each,
        /// which wakes the thread; it sees `stop` and ends, closing the
        /// inotify descriptor. A thread that has not added its watches
        /// yet sees `stop` before it does. A watch the kernel already
        /// removed (its directory deleted) has woken the thread itself.
        fn drop(&mut self) {
            self.shared.stop.store(true, Ordering::Release);
            let set = self
                .shared
                .set
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some((mut watches, wds)) = set {
                for wd in wds {
                    let _ = watches.remove(wd);
                }
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

        pub(super) fn is_active(&self) -> bool {
            true
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

    /// A watch on `dir` counting its calls, once it is set up (on Linux
    /// it then reports once, for what changed before; that call is not
    /// counted).
    fn counting_watch(dir: &std::path::Path) -> (DirWatch, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&count);
        let w = DirWatch::start(&[dir.to_path_buf()], move || {
            c.fetch_add(1, Ordering::AcqRel);
        })
        .expect("watch");
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert!(wait_for(&count, 1), "the watch reports once it is set up");
        assert!(w.is_active());
        count.store(0, Ordering::Release);
        (w, count)
    }

    #[test]
    fn a_new_file_wakes_and_reading_does_not() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cur");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("old"), b"x").unwrap();
        let (w, count) = counting_watch(&dir);
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
        let (w, count) = counting_watch(&dir);
        std::fs::remove_dir(&dir).unwrap();
        assert!(wait_for(&count, 1));
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let deadline = Instant::now() + Duration::from_secs(5);
            while w.is_active() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert!(!w.is_active(), "a watch on a removed directory ends");
        }
    }
}
