//! `Mailbox::prefetch_header_values`: the envelopes and sort keys it
//! builds on several threads are those the one-message-at-a-time path
//! builds, and later calls take them from memory.

mod common;

use std::fs;
use std::path::Path;

use postroom_mailbox::{MaildirStore, Store};
use postroom_types::{MailboxName, Uid};

const COUNT: usize = 700;

/// `COUNT` messages with LF line ends and a folded header; every other
/// file name carries `,W=` (the CRLF size), the rest leave it to be
/// computed from the file.
fn fill(root: &Path) {
    common::maildir(root, &[]);
    for i in 0..COUNT {
        let body = format!(
            "From: Sender {i} <s{i}@example.org>\nTo: a@example.org,\n b{i}@example.org\n\
             Subject: {}topic {}\nDate: Mon, 3 Nov 2025 10:{:02}:00 +0000\n\
             Message-ID: <{i}@example.org>\nReferences: <{}@example.org>\n\nbody {i}\n",
            if i % 3 == 0 { "Re: " } else { "" },
            i % 17,
            i % 60,
            i / 2,
        );
        let crlf = body.len() + body.matches('\n').count();
        let name = if i % 2 == 0 {
            format!(
                "{}.M{i}P1.host,S={},W={crlf}:2,",
                1_700_000_000 + i,
                body.len()
            )
        } else {
            format!("{}.M{i}P1.host:2,", 1_700_000_000 + i)
        };
        let path = root.join("cur").join(name);
        fs::write(&path, body).unwrap();
        // The same INTERNALDATE in both copies.
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000 + i as u64);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
}

#[test]
fn prefetched_values_equal_the_sequential_ones_and_need_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    fill(&a);
    fill(&b);
    let store_a = MaildirStore::new(&a).unwrap();
    let mb_a = store_a.open(&MailboxName::inbox()).unwrap();
    let store_b = MaildirStore::new(&b).unwrap();
    let mb_b = store_b.open(&MailboxName::inbox()).unwrap();
    let uids: Vec<Uid> = mb_a.messages().iter().map(|m| m.uid).collect();
    assert_eq!(uids.len(), COUNT);

    mb_a.prefetch_header_values(&uids);
    // The files change under the same names: what follows must come from
    // what the prefetch kept, not from the files.
    for e in fs::read_dir(a.join("cur")).unwrap() {
        fs::write(e.unwrap().path(), b"Subject: scribbled\n\n").unwrap();
    }
    for (m, uid) in mb_b.messages().iter().zip(&uids) {
        assert_eq!(m.uid, *uid);
        let parsed = mb_b.content(*uid).unwrap();
        assert_eq!(*mb_a.envelope(*uid).unwrap(), parsed.envelope());
        assert_eq!(*mb_a.envelope(*uid).unwrap(), *mb_b.envelope(*uid).unwrap());
        assert_eq!(*mb_a.sort_key(*uid).unwrap(), *mb_b.sort_key(*uid).unwrap());
        assert_eq!(mb_a.rfc822_size(*uid).unwrap(), parsed.size());
    }
}

#[test]
fn a_file_gone_before_the_prefetch_is_left_to_the_usual_path() {
    let tmp = tempfile::tempdir().unwrap();
    fill(tmp.path());
    let store = MaildirStore::new(tmp.path()).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    let msgs = mb.messages();
    let uids: Vec<Uid> = msgs.iter().map(|m| m.uid).collect();
    let gone = fs::read_dir(tmp.path().join("cur"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    fs::remove_file(&gone).unwrap();
    mb.prefetch_header_values(&uids);
    let failures = uids.iter().filter(|u| mb.envelope(**u).is_err()).count();
    assert_eq!(failures, 1, "only the removed message has no envelope");
}
