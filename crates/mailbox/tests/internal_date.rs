//! INTERNALDATE of Maildir messages: a folder's first scan does not stat
//! files whose names carry `S=`; their file times are read when a command
//! first needs them (one at a time, in a prefetch, with an envelope, or
//! after the index kept them unread), and are the same in every case.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use postroom_mailbox::{Mailbox, MaildirStore, Session, Store};
use postroom_types::{MailboxName, SearchKey, Uid};

/// One day apart, starting 2020-09-13, each with a sub-second part.
fn file_time(i: usize) -> SystemTime {
    UNIX_EPOCH + Duration::new(1_600_000_000 + 86_400 * i as u64, 1_000 * i as u32 + 7)
}

/// `count` messages in cur/; every third name has no `S=` (its size comes
/// from a stat), the rest do, and of those every other one also has `W=`
/// (an envelope read then reads the header alone). Returns the paths in
/// delivery (UID) order.
fn fill(root: &Path, count: usize) -> Vec<PathBuf> {
    common::maildir(root, &[]);
    (0..count)
        .map(|i| {
            let body = format!("Subject: message {i}\nMessage-ID: <{i}@example.org>\n\nbody\n");
            let crlf = body.len() + body.matches('\n').count();
            let name = match i % 3 {
                0 => format!("{}.M{i}P1.host:2,", 1_700_000_000 + i),
                1 => format!("{}.M{i}P1.host,S={}:2,", 1_700_000_000 + i, body.len()),
                _ => format!(
                    "{}.M{i}P1.host,S={},W={crlf}:2,",
                    1_700_000_000 + i,
                    body.len()
                ),
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

/// INBOX at `root` (a new store, so a first open) and its UIDs.
fn open_inbox(root: &Path) -> (Arc<Mailbox>, Vec<Uid>) {
    let mb = MaildirStore::new(root)
        .unwrap()
        .open(&MailboxName::inbox())
        .unwrap();
    let uids = mb.messages().iter().map(|m| m.uid).collect();
    (mb, uids)
}

fn date_of(mb: &Mailbox, uid: Uid) -> (i64, u32) {
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
    let (mb_a, _) = open_inbox(&a);
    let (mb_b, uids) = open_inbox(&b);
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
    let (mb, uids) = open_inbox(tmp.path());
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
    let (mb, uids) = open_inbox(tmp.path());
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
        let (mb, _) = open_inbox(&root);
        let s = Session::open(mb, true).unwrap();
        let day = |i: u64| NaiveDate::from_ymd_opt(2020, 9, 13).unwrap() + chrono::Days::new(i);
        let hits = |key: SearchKey| common::seqs(&s, key);
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

#[test]
fn a_sized_name_that_is_not_a_regular_file_is_still_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("m");
    let paths = fill(&root, 2);
    let cur = root.join("cur");
    // A link to a message elsewhere counts; a dangling one does not.
    let elsewhere = tmp.path().join("kept");
    fs::write(&elsewhere, b"Subject: linked\n\nbody\n").unwrap();
    set_time(&elsewhere, file_time(9));
    std::os::unix::fs::symlink(&elsewhere, cur.join("1700000009.M9P1.host,S=23:2,")).unwrap();
    std::os::unix::fs::symlink(
        tmp.path().join("missing"),
        cur.join("1700000010.M10P1.host,S=23:2,"),
    )
    .unwrap();
    let (mb, uids) = open_inbox(&root);
    assert_eq!(
        uids.len(),
        paths.len() + 1,
        "the dangling link is no message"
    );
    assert_eq!(date_of(&mb, uids[2]), timestamp(file_time(9)));
    assert_eq!(&mb.raw(uids[2]).unwrap()[..], b"Subject: linked\n\nbody\n");
}

#[test]
fn copy_and_move_keep_a_date_not_read_yet() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fill(root, 4);
    let store = MaildirStore::new(root).unwrap();
    for name in ["INBOX.Copied", "INBOX.Moved"] {
        store.create(&MailboxName::new(name)).unwrap();
    }
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    let uids: Vec<Uid> = inbox.messages().iter().map(|m| m.uid).collect();
    let copied = store.open(&MailboxName::new("INBOX.Copied")).unwrap();
    let moved = store.open(&MailboxName::new("INBOX.Moved")).unwrap();
    // Messages 1 and 2 have S= names: nothing has read their times.
    let c = inbox.copy_to(&uids[1..2], &copied).unwrap();
    let m = inbox.move_to(&uids[2..3], &moved).unwrap();
    // INTERNALDATE has whole seconds (RFC 3501 §9 date-time); a copy is
    // a new file given that time.
    assert_eq!(date_of(&copied, c[0].1).0, timestamp(file_time(1)).0);
    assert_eq!(date_of(&moved, m[0].1).0, timestamp(file_time(2)).0);
}

#[test]
fn a_date_once_read_survives_a_rename_by_another_process() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = fill(tmp.path(), 3);
    let (mb, uids) = open_inbox(tmp.path());
    assert_eq!(date_of(&mb, uids[1]), timestamp(file_time(1)));
    // Another process marks it \Seen (a rename), and its time is then
    // moved: the rescan takes the message's new name, and the date read
    // before stays (a rename keeps a file's time; a second read here
    // would see the moved one).
    let renamed = paths[1].to_str().unwrap().replace(":2,", ":2,S");
    fs::rename(&paths[1], &renamed).unwrap();
    set_time(Path::new(&renamed), UNIX_EPOCH + Duration::from_secs(5));
    mb.rescan().unwrap();
    assert!(mb.message(uids[1]).unwrap().flags.is_seen());
    assert_eq!(date_of(&mb, uids[1]), timestamp(file_time(1)));
}

#[test]
fn a_message_whose_file_is_gone_matches_no_date_key() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = fill(tmp.path(), 3);
    let (mb, _) = open_inbox(tmp.path());
    let s = Session::open(mb, true).unwrap();
    // Expunged by another process; this session has not rescanned.
    fs::remove_file(&paths[1]).unwrap();
    let future = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let hits = |key: SearchKey| common::seqs(&s, key);
    assert_eq!(hits(SearchKey::Before(future)), vec![1, 3]);
    assert_eq!(
        hits(SearchKey::Not(Box::new(SearchKey::Before(future)))),
        Vec::<u32>::new()
    );
    assert_eq!(hits(SearchKey::Since(future)), Vec::<u32>::new());
}
