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
