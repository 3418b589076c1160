//! INTERNALDATE of Maildir messages: a folder's first scan does not stat
//! files whose names carry `S=`; their file times are read when a command
//! first needs them (one at a time, in a prefetch, with an envelope, or
//! after the index kept them unread), and are the same in every case.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use postroom_mailbox::{MaildirStore, Session, Store};
use postroom_types::{MailboxName, SearchKey, Uid};

/// One day apart, starting 2020-09-13, each with a sub-second part.
fn file_time(i: usize) -> SystemTime {
    UNIX_EPOCH + Duration::new(1_600_000_000 + 86_400 * i as u64, 1_000 * i as u32 + 7)
}

/// `count` messages in cur/; every third name has no `S=` (its size comes
/// from a stat), the rest do. Returns the paths in delivery (UID) order.
fn fill(root: &Path, count: usize) -> Vec<PathBuf> {
    for s in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(s)).unwrap();
    }
    (0..count)
        .map(|i| {
            let body = format!("Subject: message {i}\nMessage-ID: <{i}@example.org>\n\nbody\n");
            let name = if i % 3 == 0 {
                format!("{}.M{i}P1.host:2,", 1_700_000_000 + i)
            } else {
                format!("{}.M{i}P1.host,S={}:2,", 1_700_000_000 + i, body.len())
            };
            let path = root.join("cur").join(name);
            fs::write(&path, body).unwrap();
            set_time(&path, file_time(i));
            path
        })
        .collect()
}

fn set_time(path: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn timestamp(t: SystemTime) -> (i64, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap();
    (d.as_secs() as i64, d.subsec_nanos())
}

fn date_of(mb: &postroom_mailbox::Mailbox, uid: Uid) -> (i64, u32) {
    let d = mb.internal_date(uid).unwrap();
    (d.0.timestamp(), d.0.timestamp_subsec_nanos())
}

#[test]
fn dates_read_one_at_a_time_or_prefetched_are_the_file_times() {
    const COUNT: usize = 400;
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    fill(&a, COUNT);
    fill(&b, COUNT);
    let mb_a = MaildirStore::new(&a)
        .unwrap()
        .open(&MailboxName::inbox())
        .unwrap();
    let mb_b = MaildirStore::new(&b)
        .unwrap()
        .open(&MailboxName::inbox())
        .unwrap();
    let uids: Vec<Uid> = mb_b.messages().iter().map(|m| m.uid).collect();
    assert_eq!(uids.len(), COUNT);
    // Enough for the prefetch's threads.
    mb_b.prefetch_internal_dates(&uids);
    for (i, uid) in uids.iter().enumerate() {
        let want = timestamp(file_time(i));
        assert_eq!(date_of(&mb_a, *uid), want, "one at a time, message {i}");
        assert_eq!(date_of(&mb_b, *uid), want, "prefetched, message {i}");
    }
}

#[test]
fn a_first_open_leaves_the_time_of_a_sized_name_to_its_first_use() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = fill(tmp.path(), 3);
    let mb = MaildirStore::new(tmp.path())
        .unwrap()
        .open(&MailboxName::inbox())
        .unwrap();
    let uids: Vec<Uid> = mb.messages().iter().map(|m| m.uid).collect();
    // Message 1's name has S=: the open did not read its time, so a time
    // set afterwards is the one the first use sees, and then kept.
    let later = UNIX_EPOCH + Duration::new(1_750_000_000, 5);
    set_time(&paths[1], later);
    assert_eq!(date_of(&mb, uids[1]), timestamp(later));
    set_time(&paths[1], file_time(1));
    assert_eq!(date_of(&mb, uids[1]), timestamp(later));
    // Message 0's name has no S=: the open stat'ed it for its size.
    set_time(&paths[0], later);
    assert_eq!(date_of(&mb, uids[0]), timestamp(file_time(0)));
}

#[test]
fn an_envelope_read_fills_in_the_date_from_the_open_file() {
    const COUNT: usize = 300;
    let tmp = tempfile::tempdir().unwrap();
    let paths = fill(tmp.path(), COUNT);
    let mb = MaildirStore::new(tmp.path())
        .unwrap()
        .open(&MailboxName::inbox())
        .unwrap();
    let uids: Vec<Uid> = mb.messages().iter().map(|m| m.uid).collect();
    mb.prefetch_header_values(&uids);
    // The dates came with the headers: moving the files' times now does
    // not change them.
    for p in &paths {
        set_time(p, UNIX_EPOCH + Duration::from_secs(5));
    }
    for (i, uid) in uids.iter().enumerate() {
        assert_eq!(date_of(&mb, *uid), timestamp(file_time(i)), "message {i}");
        // RFC 5256 ARRIVAL: the sort key holds the same date.
        assert_eq!(
            mb.sort_key(*uid).unwrap().internal_date(),
            timestamp(file_time(i)).0
        );
    }
}

#[test]
fn an_unread_date_survives_the_index_and_a_rename_by_another_process() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let paths = fill(root, 6);
    {
        let store = MaildirStore::new(root).unwrap();
        let mb = store.open(&MailboxName::inbox()).unwrap();
        assert_eq!(mb.len(), 6);
        // Closing saves postroom-index with these dates unread.
    }
    // Old enough stamps: the next open comes from the index alone.
    let old = SystemTime::now() - Duration::from_secs(60);
    for p in ["cur", "new", "courierimapuiddb"] {
        fs::File::open(root.join(p))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    let uids: Vec<Uid> = mb.messages().iter().map(|m| m.uid).collect();
    // Another process marks message 4 \Seen: its file is renamed, which
    // keeps its time. The mailbox still holds the old name.
    let renamed = paths[4].to_str().unwrap().replace(":2,", ":2,S");
    fs::rename(&paths[4], &renamed).unwrap();
    for (i, uid) in uids.iter().enumerate() {
        assert_eq!(date_of(&mb, *uid), timestamp(file_time(i)), "message {i}");
    }
}

#[test]
fn search_by_internal_date_on_a_folder_just_opened() {
    let tmp = tempfile::tempdir().unwrap();
    // Above and below the prefetch's threshold.
    for count in [20, 300] {
        let root = tmp.path().join(count.to_string());
        fill(&root, count);
        let mb = MaildirStore::new(&root)
            .unwrap()
            .open(&MailboxName::inbox())
            .unwrap();
        let s = Session::open(mb, true).unwrap();
        let day = |i: u64| NaiveDate::from_ymd_opt(2020, 9, 13).unwrap() + chrono::Days::new(i);
        let hits = |key: SearchKey| -> Vec<u32> {
            s.search(None, &key)
                .unwrap()
                .into_iter()
                .map(|(seq, _)| seq)
                .collect()
        };
        // Message i (sequence number i + 1) is dated day i, in UTC.
        assert_eq!(hits(SearchKey::On(day(7))), vec![8]);
        assert_eq!(hits(SearchKey::Before(day(3))), vec![1, 2, 3]);
        let since = count as u64 - 2;
        assert_eq!(
            hits(SearchKey::Since(day(since))),
            vec![count as u32 - 1, count as u32]
        );
    }
}
