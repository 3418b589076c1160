//! The POP3 view, on both backends.

use std::sync::Arc;

use postroom_mailbox::pop3::Maildrop;
use postroom_mailbox::{
    FlagSet, MailboxError, MaildirStore, MemoryStore, Session, Store, StoreMode,
};
use postroom_types::{Flag, MailboxName};

fn both(f: impl Fn(&dyn Store)) {
    f(&MemoryStore::new());
    let dir = tempfile::tempdir().unwrap();
    f(&MaildirStore::new(dir.path()).unwrap());
}

#[test]
fn dovecot_transcript_p1() {
    both(|s| {
        let inbox = s.open(&MailboxName::inbox()).unwrap();
        inbox
            .append(
                b"Subject: p0\r\n\r\nline1\r\n.dotline\r\n..two\r\n.\r\nend\r\n",
                &FlagSet::new(),
                None,
            )
            .unwrap();
        // Stored with bare LF: sizes still count CRLF.
        inbox
            .append(b"Subject: p1\n\nx\n", &FlagSet::new(), None)
            .unwrap();
        let mut d = Maildrop::open(Arc::clone(&inbox)).unwrap();
        assert_eq!(d.stat(), (2, 65));
        assert_eq!(d.size(1).unwrap(), 47);
        assert_eq!(d.size(2).unwrap(), 18);
        let v = inbox.uid_validity().get();
        assert_eq!(d.uidl(1).unwrap(), format!("00000001{v:08x}"));
        assert_eq!(d.top(1, 1).unwrap(), b"Subject: p0\r\n\r\nline1\r\n");
        assert_eq!(d.retr(2).unwrap(), b"Subject: p1\r\n\r\nx\r\n");
        d.dele(1).unwrap();
        assert!(matches!(d.size(1), Err(MailboxError::MarkedDeleted(1))));
        assert_eq!(d.stat(), (1, 18));
        d.rset();
        assert_eq!(d.stat(), (2, 65));
        d.dele(2).unwrap();
        assert!(matches!(d.retr(2), Err(MailboxError::MarkedDeleted(2))));
        assert!(matches!(d.size(3), Err(MailboxError::NoSuchMessage(3))));
        assert_eq!(d.listing().len(), 1);
        d.retr(1).unwrap();
        assert_eq!(d.quit().unwrap(), 1);
        let msgs = inbox.messages();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].uid.get(), 1);
        assert!(msgs[0].flags.contains(&Flag::Seen));
    });
}

#[test]
fn imap_expunge_while_pop3_holds_message() {
    both(|s| {
        let inbox = s.open(&MailboxName::inbox()).unwrap();
        inbox
            .append(b"Subject: a\r\n\r\n", &FlagSet::new(), None)
            .unwrap();
        inbox
            .append(b"Subject: b\r\n\r\n", &FlagSet::new(), None)
            .unwrap();
        let mut d = Maildrop::open(Arc::clone(&inbox)).unwrap();
        let mut imap = Session::open(Arc::clone(&inbox), false).unwrap();
        let u1 = imap.uid(1).unwrap();
        imap.store(
            &[u1],
            StoreMode::Add,
            &FlagSet::from_flags(&[Flag::Deleted]),
        )
        .unwrap();
        imap.expunge(None).unwrap();
        assert!(matches!(d.retr(1), Err(MailboxError::NoSuchMessage(_))));
        assert_eq!(d.stat().0, 2, "the snapshot keeps its numbers");
        assert!(d.retr(2).is_ok());
        d.dele(1).unwrap();
        d.dele(2).unwrap();
        assert_eq!(d.quit().unwrap(), 1);
        let ch = imap.poll(true).unwrap();
        assert_eq!(ch.expunged, vec![1]);
        assert_eq!(inbox.len(), 0);
    });
}

#[test]
fn uidls_are_stable_and_not_reused() {
    both(|s| {
        let inbox = s.open(&MailboxName::inbox()).unwrap();
        inbox.append(b"a\r\n", &FlagSet::new(), None).unwrap();
        let d = Maildrop::open(Arc::clone(&inbox)).unwrap();
        let first = d.uidl(1).unwrap();
        drop(d);
        let mut d = Maildrop::open(Arc::clone(&inbox)).unwrap();
        assert_eq!(d.uidl(1).unwrap(), first);
        d.dele(1).unwrap();
        d.quit().unwrap();
        inbox.append(b"a\r\n", &FlagSet::new(), None).unwrap();
        let d = Maildrop::open(Arc::clone(&inbox)).unwrap();
        assert_ne!(d.uidl(1).unwrap(), first);
        assert!(d.uidl(1).unwrap().len() <= 70);
    });
}

fn inbox_with_two(root: &std::path::Path) -> std::sync::Arc<postroom_mailbox::Mailbox> {
    let store = postroom_mailbox::MaildirStore::new(root).unwrap();
    let mb = postroom_mailbox::Store::open(&store, &postroom_types::MailboxName::inbox()).unwrap();
    let none = postroom_mailbox::FlagSet::default();
    mb.append(b"Subject: one\n\nfirst\n", &none, None).unwrap();
    mb.append(b"Subject: two\r\n\r\nsecond\r\n", &none, None)
        .unwrap();
    mb
}

#[test]
fn exclusive_maildrop_is_in_use_across_sessions_and_processes() {
    use postroom_mailbox::MailboxError;
    use postroom_mailbox::pop3::Maildrop;
    let tmp = tempfile::tempdir().unwrap();
    let mb = inbox_with_two(tmp.path());
    let first = Maildrop::open_exclusive(mb.clone()).unwrap();
    let lock = tmp.path().join("postroom-pop3.lock");
    assert!(lock.exists());
    assert!(matches!(
        Maildrop::open_exclusive(mb.clone()),
        Err(MailboxError::InUse)
    ));
    // A plain (non-exclusive) open is still allowed.
    Maildrop::open(mb.clone()).unwrap();
    first.quit().unwrap();
    assert!(!lock.exists());
    let again = Maildrop::open_exclusive(mb.clone()).unwrap();
    drop(again);

    // Another live process (pid 1 always runs) holds it.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    std::fs::write(&lock, format!("1 {}\n", host.trim())).unwrap();
    assert!(matches!(
        Maildrop::open_exclusive(mb.clone()),
        Err(MailboxError::InUse)
    ));
    // Its owner is gone (pid 0 never runs): the lock is broken.
    std::fs::write(&lock, format!("0 {}\n", host.trim())).unwrap();
    Maildrop::open_exclusive(mb).unwrap();
}

#[test]
fn maildrop_uid_stored_bytes_streaming_and_seen_at_retr() {
    use postroom_mailbox::pop3::Maildrop;
    use postroom_types::Flag;
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let mb = inbox_with_two(tmp.path());
    let uids: Vec<_> = mb.messages().iter().map(|m| m.uid).collect();
    let mut md = Maildrop::open(mb.clone()).unwrap();
    assert_eq!(md.uid(1).unwrap(), uids[0]);
    assert_eq!(md.uid(2).unwrap(), uids[1]);
    assert!(md.uid(3).is_err());
    assert_eq!(&md.stored(1).unwrap()[..], b"Subject: one\n\nfirst\n");
    assert_eq!(md.stored_size(1).unwrap(), 20);
    assert_eq!(md.size(1).unwrap(), 23);
    let mut streamed = Vec::new();
    md.retr_reader(1)
        .unwrap()
        .read_to_end(&mut streamed)
        .unwrap();
    assert_eq!(streamed, b"Subject: one\r\n\r\nfirst\r\n");
    assert_eq!(streamed.len() as u64, md.size(1).unwrap());
    // Default: \Seen only at QUIT.
    assert!(!mb.message(uids[0]).unwrap().flags.is_seen());
    md.set_seen_at_retr(true);
    assert_eq!(md.retr(2).unwrap(), b"Subject: two\r\n\r\nsecond\r\n");
    assert!(mb.message(uids[1]).unwrap().flags.is_seen());
    md.quit().unwrap();
    assert!(
        mb.message(uids[0])
            .unwrap()
            .flags
            .to_flags()
            .contains(&Flag::Seen)
    );
}
