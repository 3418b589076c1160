//! The persisted per-folder cache (`postroom-index`): used after a restart,
//! ignored when corrupt or of another UID space, and never authoritative.

mod common;

use std::fs;
use std::path::Path;

use postroom_mailbox::{MaildirStore, Store, deliver};
use postroom_types::{Flag, MailboxName, Uid};

const INDEX: &str = "postroom-index";

fn setup(root: &Path) {
    common::maildir(
        root,
        &[
            (
                "1700000000.M1P1.host,S=58:2,S",
                b"Subject: one\nFrom: a@example.org\nMessage-ID: <1@x>\n\nbody\n",
            ),
            (
                "1700000001.M2P1.host:2,",
                b"Subject: Re: two\nReferences: <1@x>\n\nbody\n",
            ),
        ],
    );
}

fn subjects(root: &Path) -> Vec<Option<Vec<u8>>> {
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    mb.messages()
        .iter()
        .map(|m| {
            // Sort keys are built (and persisted) alongside.
            mb.sort_key(m.uid).unwrap();
            mb.envelope(m.uid).unwrap().subject.clone()
        })
        .collect()
}

/// Rewrites every message file in place with another subject (same name,
/// so only a reader of the file would notice).
fn scribble(root: &Path) {
    for e in fs::read_dir(root.join("cur")).unwrap() {
        let p = e.unwrap().path();
        let mtime = fs::metadata(&p).unwrap().modified().unwrap();
        fs::write(&p, b"Subject: scribbled\n\n").unwrap();
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
}

#[test]
fn restart_uses_the_cache_instead_of_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(root);
    let first = subjects(root);
    assert_eq!(
        first,
        vec![Some(b"one".to_vec()), Some(b"Re: two".to_vec())]
    );
    assert!(
        root.join(INDEX).exists(),
        "written when the handle is dropped"
    );
    scribble(root);
    // Served from postroom-index: the files are not read again.
    assert_eq!(subjects(root), first);

    // Sort keys are persisted too (built after the scribble they would
    // say SCRIBBLED).
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    let k = mb.sort_key(Uid::new(2).unwrap()).unwrap();
    assert_eq!(k.subject(), b"TWO");
    assert!(k.is_reply_or_forward());
    assert_eq!(mb.sort_key(Uid::new(1).unwrap()).unwrap().subject(), b"ONE");
}

#[test]
fn corrupt_or_foreign_cache_is_ignored_and_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(root);
    let first = subjects(root);
    let good = fs::read(root.join(INDEX)).unwrap();

    // A flipped byte: ignored, the files are read, then rewritten.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    fs::write(root.join(INDEX), &bad).unwrap();
    assert_eq!(subjects(root), first);
    assert_eq!(fs::read(root.join(INDEX)).unwrap(), good);

    // Truncated: likewise.
    fs::write(root.join(INDEX), &good[..good.len() - 3]).unwrap();
    assert_eq!(subjects(root), first);

    // A new UID space (UID file lost): the cache of the old one must not be
    // applied to the new UIDs.
    scribble(root);
    fs::remove_file(root.join("courierimapuiddb")).unwrap();
    assert_eq!(
        subjects(root),
        vec![Some(b"scribbled".to_vec()), Some(b"scribbled".to_vec())]
    );
}

#[test]
fn changes_by_other_processes_are_seen_with_a_warm_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(root);
    subjects(root);
    // A delivery agent and another server act while nothing is open here.
    deliver(root, b"Subject: three\n\nnew\n").unwrap();
    let cur = root.join("cur");
    fs::rename(
        cur.join("1700000001.M2P1.host:2,"),
        cur.join("1700000001.M2P1.host:2,F"),
    )
    .unwrap();
    fs::remove_file(cur.join("1700000000.M1P1.host,S=58:2,S")).unwrap();
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    let msgs = mb.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].uid.get(), 2);
    assert!(msgs[0].flags.to_flags().contains(&Flag::Flagged));
    assert_eq!(msgs[1].uid.get(), 3);
    assert_eq!(
        mb.envelope(msgs[1].uid).unwrap().subject.as_deref(),
        Some(&b"three"[..])
    );
    assert_eq!(
        mb.envelope(msgs[0].uid).unwrap().subject.as_deref(),
        Some(&b"Re: two"[..])
    );
}

fn backdate(path: &Path) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    fs::File::open(path).unwrap().set_modified(old).unwrap();
}

/// Writes a message into cur/ and puts cur/'s time back: only a directory
/// read sees it.
fn slip_in_unseen(root: &Path) {
    let cur_time = fs::metadata(root.join("cur")).unwrap().modified().unwrap();
    fs::write(
        root.join("cur/1700000009.M9P1.host:2,"),
        b"Subject: hidden\n\n",
    )
    .unwrap();
    set_cur_time(root, cur_time);
}

fn set_cur_time(root: &Path, t: std::time::SystemTime) {
    fs::File::open(root.join("cur"))
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn backdate_folder(root: &Path) {
    for p in ["cur", "new", "courierimapuiddb"] {
        backdate(&root.join(p));
    }
}

/// With settled folder stamps equal to those in `postroom-index`, open
/// takes the message list from the cache alone (no directory read); any
/// change to the folder moves a stamp and brings back the full scan.
#[test]
fn warm_open_uses_the_index_when_stamps_match() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(root);
    let first = subjects(root);
    backdate_folder(root);
    // Full scan (stamps now settled); the cache is written with them.
    assert_eq!(subjects(root), first);
    slip_in_unseen(root);
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    assert_eq!(mb.len(), 2, "served from postroom-index");
    drop(mb);
    drop(store);
    // A real change (new time on cur/): the full scan finds the file.
    set_cur_time(root, std::time::SystemTime::now());
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    assert_eq!(mb.len(), 3);
    assert_eq!(mb.uid_next().get(), 4);
}

const MULTIPART: &[u8] = b"Subject: parts\nFrom: a@example.org\nMIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n\
hello\n--b\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner\n--b\n\
Content-Type: application/pdf; name=\"r.pdf\"\nContent-Disposition: attachment; filename=\"r.pdf\"\n\
Content-Transfer-Encoding: base64\n\nAAAA\n--b--\n";

/// BODYSTRUCTURE is kept in `postroom-index` too: after a restart it is
/// answered without reading the message files.
#[test]
fn body_structures_are_persisted() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(root);
    fs::write(root.join("cur/1700000002.M3P1.host:2,"), MULTIPART).unwrap();
    let structures = |root: &Path| {
        let store = MaildirStore::new(root).unwrap();
        let mb = store.open(&MailboxName::inbox()).unwrap();
        mb.messages()
            .iter()
            .map(|m| {
                mb.envelope(m.uid).unwrap();
                mb.sort_key(m.uid).unwrap();
                (*mb.body_structure(m.uid).unwrap()).clone()
            })
            .collect::<Vec<_>>()
    };
    let first = structures(root);
    assert_eq!(first.len(), 3);
    let direct = postroom_mailbox::message::Message::parse(MULTIPART).body_structure(true);
    assert_eq!(first[2], direct);
    scribble(root);
    assert_eq!(structures(root), first, "served from postroom-index");

    // A damaged cache is not trusted: the files (now scribbled) are read.
    let mut bad = fs::read(root.join(INDEX)).unwrap();
    let last = bad.len() - 20;
    bad[last] ^= 0x40;
    fs::write(root.join(INDEX), &bad).unwrap();
    let again = structures(root);
    assert_ne!(again[2], first[2]);
    let scribbled =
        postroom_mailbox::message::Message::parse(b"Subject: scribbled\n\n").body_structure(true);
    assert!(again.iter().all(|s| *s == scribbled));
}

/// After a warm open (messages from the index, no stat), a delivery by
/// another process is picked up by a rescan, and the known messages keep
/// their dates and sizes.
#[test]
fn rescan_after_a_warm_open_sees_deliveries() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(root);
    subjects(root);
    backdate_folder(root);
    subjects(root);
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    let before = mb.messages();
    assert_eq!(before.len(), 2);
    deliver(root, b"Subject: three\n\nnew\n").unwrap();
    mb.rescan().unwrap();
    let after = mb.messages();
    assert_eq!(after.len(), 3);
    assert_eq!(after[..2], before[..]);
    assert_eq!(after[2].uid.get(), 3);
    assert_eq!(
        mb.envelope(after[2].uid).unwrap().subject.as_deref(),
        Some(&b"three"[..])
    );
}

/// A new UID space found by a rescan (the UID file lost and the files
/// replaced while the mailbox is open): values derived under the old
/// UIDs are not served for the messages that now carry them.
#[test]
fn a_new_uid_space_drops_derived_values() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(root);
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    let one = Uid::new(1).unwrap();
    assert_eq!(
        mb.envelope(one).unwrap().subject.as_deref(),
        Some(&b"one"[..])
    );
    mb.body_structure(one).unwrap();
    for e in fs::read_dir(root.join("cur")).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    fs::remove_file(root.join("courierimapuiddb")).unwrap();
    fs::write(
        root.join("cur/1700000005.M5P1.host:2,"),
        b"Subject: other\nContent-Type: text/html\n\nx\n",
    )
    .unwrap();
    mb.rescan().unwrap();
    let msgs = mb.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        mb.envelope(msgs[0].uid).unwrap().subject.as_deref(),
        Some(&b"other"[..])
    );
    let s = mb.body_structure(msgs[0].uid).unwrap();
    let postroom_types::BodyStructure::Single { part, .. } = &*s else {
        panic!("single part expected");
    };
    assert_eq!(part.media_subtype, "html");
}

#[test]
fn long_headers_are_read_whole_for_envelope_and_sort_key() {
    // A References field of about 40 KiB puts the Subject, and the blank
    // line, far past the first read of the header.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    common::maildir(root, &[]);
    let refs: Vec<String> = (0..2_000)
        .map(|i| format!("<ref{i}@example.org>"))
        .collect();
    let raw = format!(
        "From: a@example.org\nReferences: {}\nSubject: after the long field\nMessage-ID: <long@x>\n\nbody\n",
        refs.join("\n ")
    );
    assert!(raw.len() > 40_000);
    fs::write(root.join("cur/1700000000.M1P1.host:2,"), &raw).unwrap();
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    let uid = mb.messages()[0].uid;
    let env = mb.envelope(uid).unwrap();
    assert_eq!(env.subject.as_deref(), Some(&b"after the long field"[..]));
    let key = mb.sort_key(uid).unwrap();
    assert_eq!(key.references().len(), 2_000);
    assert_eq!(key.message_id().map(|m| m.as_bytes()), Some(&b"long@x"[..]));
}

/// The scan that assigned UIDs (and so wrote the UID file) leaves the
/// folder's stamps trusted: a rescan right after it does not read the
/// directory again while the directories are unchanged.
#[test]
fn a_rescan_after_uid_assignment_needs_no_directory_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(root);
    for p in ["cur", "new"] {
        backdate(&root.join(p));
    }
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    assert_eq!(mb.len(), 2);
    assert!(root.join("courierimapuiddb").exists(), "UIDs assigned");
    slip_in_unseen(root);
    mb.rescan().unwrap();
    assert_eq!(mb.len(), 2, "stamps unchanged: no directory read");
    set_cur_time(
        root,
        std::time::SystemTime::now() - std::time::Duration::from_secs(5),
    );
    mb.rescan().unwrap();
    assert_eq!(mb.len(), 3, "a moved stamp brings the full scan back");
}
