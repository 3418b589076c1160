//! Several threads append, flag and expunge in one folder while others
//! read through sessions; on both backends.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use postroom_mailbox::{FlagSet, MaildirStore, MemoryStore, Session, Store, StoreMode};
use postroom_types::{Flag, MailboxName, SearchKey};

const WRITERS: usize = 3;
const PER_WRITER: usize = 40;

fn run(store: &dyn Store) {
    let mb = store.open(&MailboxName::inbox()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let mb = Arc::clone(&mb);
            writers.push(s.spawn(move || {
                let mut uids = Vec::new();
                for i in 0..PER_WRITER {
                    let raw = format!("Subject: w{w} m{i}\r\n\r\nbody\r\n");
                    uids.push(mb.append(raw.as_bytes(), &FlagSet::new(), None).unwrap());
                }
                uids
            }));
        }
        // Flagger: marks every third message \Deleted, others \Seen.
        let flagger = {
            let mb = Arc::clone(&mb);
            let stop = Arc::clone(&stop);
            s.spawn(move || {
                let mut session = Session::open(mb, false).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    session.poll(true).unwrap();
                    for seq in 1..=session.exists() {
                        let Some(uid) = session.uid(seq) else {
                            continue;
                        };
                        let flag = if uid.get() % 3 == 0 {
                            Flag::Deleted
                        } else {
                            Flag::Seen
                        };
                        session
                            .store(&[uid], StoreMode::Add, &FlagSet::from_flags(&[flag]))
                            .unwrap();
                    }
                }
            })
        };
        let expunger = {
            let mb = Arc::clone(&mb);
            let stop = Arc::clone(&stop);
            s.spawn(move || {
                let mut session = Session::open(mb, false).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    session.expunge(None).unwrap();
                }
            })
        };
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let mb = Arc::clone(&mb);
                let stop = Arc::clone(&stop);
                s.spawn(move || {
                    let mut session = Session::open(mb, true).unwrap();
                    let mut max_uid = 0;
                    let mut known: HashSet<u32> = HashSet::new();
                    while !stop.load(Ordering::Relaxed) {
                        let ch = session.poll(true).unwrap();
                        assert!(!ch.uid_validity_changed);
                        // Sequence numbers stay in strictly ascending UID order.
                        let uids: Vec<u32> = (1..=session.exists())
                            .filter_map(|n| session.uid(n))
                            .map(|u| u.get())
                            .collect();
                        assert!(uids.windows(2).all(|w| w[0] < w[1]));
                        // Messages new to this session always have larger
                        // UIDs than any it saw before (expunges may remove
                        // the last one, so the maximum itself can drop).
                        for &u in &uids {
                            if !known.contains(&u) {
                                assert!(u > max_uid, "uid {u} appeared after {max_uid}");
                            }
                        }
                        known = uids.iter().copied().collect();
                        max_uid = max_uid.max(uids.last().copied().unwrap_or(0));
                        let _ = session.search(None, &SearchKey::Seen).unwrap();
                        for seq in 1..=session.exists().min(5) {
                            if let Some(uid) = session.uid(seq) {
                                // Gone between the poll and the read is fine.
                                let _ = session.mailbox().raw(uid);
                            }
                        }
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in writers {
            all.extend(w.join().unwrap());
        }
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(
            unique.len(),
            WRITERS * PER_WRITER,
            "every append got its own UID"
        );
        stop.store(true, Ordering::Relaxed);
        flagger.join().unwrap();
        expunger.join().unwrap();
        for r in readers {
            r.join().unwrap();
        }
    });
    // Finish: every remaining \Deleted message expunged, the rest present.
    let mut session = Session::open(Arc::clone(&mb), false).unwrap();
    for seq in 1..=session.exists() {
        let uid = session.uid(seq).unwrap();
        if uid.get() % 3 == 0 {
            session
                .store(
                    &[uid],
                    StoreMode::Add,
                    &FlagSet::from_flags(&[Flag::Deleted]),
                )
                .unwrap();
        }
    }
    session.expunge(None).unwrap();
    let left: Vec<u32> = mb.messages().iter().map(|m| m.uid.get()).collect();
    let expected: Vec<u32> = (1..=(WRITERS * PER_WRITER) as u32)
        .filter(|u| u % 3 != 0)
        .collect();
    assert_eq!(left, expected);
    assert_eq!(session.exists() as usize, left.len());
}

#[test]
fn concurrent_memory() {
    run(&MemoryStore::new());
}

#[test]
fn concurrent_maildir() {
    let dir = tempfile::tempdir().unwrap();
    run(&MaildirStore::new(dir.path()).unwrap());
    // A fresh process view (new handle) agrees.
    let store = MaildirStore::new(dir.path()).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    assert_eq!(mb.len(), WRITERS * PER_WRITER * 2 / 3);
}
