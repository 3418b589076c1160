//! POP3 and IMAP on one Maildir at the same time: the POP3 session against
//! the mailbox crate's IMAP-side API (`Session`, `Mailbox`, `deliver`), on
//! a real Maildir++ in a temporary directory. No sockets.

mod pop3_support;

use std::path::Path;
use std::sync::Arc;

use pop3_support::{Client, loopback};
use postroom_mailbox::message::Message;
use postroom_mailbox::{
    FlagSet, Mailbox, MaildirStore, Session as ImapSession, Store, StoreMode, deliver,
};
use postroom_server::pop3::{Config, ConnectionContext, HomeMaildir};
use postroom_server::users::UserDb;
use postroom_types::{Flag, MailboxName};

/// A POP3 client for alice, whose home is the Maildir at `root`.
fn pop3(root: &Path) -> Client {
    let users = format!("alice:{{PLAIN}}secret::::{}\n", root.display());
    let users = UserDb::parse(users.as_bytes()).expect("valid user file");
    let config = Config::new(Arc::new(users), HomeMaildir::default());
    let mut c = Client::new(config, ConnectionContext::plain(loopback()));
    c.greeting();
    c.login("alice", "secret");
    c
}

/// IMAP APPEND of `message` with no flags.
fn append(inbox: &Mailbox, message: impl AsRef<[u8]>) {
    inbox
        .append(message.as_ref(), &FlagSet::new(), None)
        .expect("append");
}

fn maildir() -> (tempfile::TempDir, MaildirStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = MaildirStore::new(dir.path()).expect("Maildir created");
    (dir, store)
}

#[test]
fn appended_and_delivered_mail_is_seen_at_the_next_login() {
    let (dir, store) = maildir();
    let inbox = store.open(&MailboxName::inbox()).expect("INBOX");
    let mut early = pop3(dir.path());
    assert_eq!(early.send("STAT\r\n"), "+OK 0 0\r\n");

    // IMAP APPEND, and an MDA delivering into new/.
    append(&inbox, b"Subject: appended\r\n\r\nA\r\n");
    deliver(dir.path(), b"Subject: delivered\n\nD\n").expect("deliver");

    // The open session keeps its snapshot (RFC 1939 §5).
    assert_eq!(early.send("STAT\r\n"), "+OK 0 0\r\n");
    assert_eq!(early.send("QUIT\r\n"), "+OK bye, 0 messages deleted\r\n");

    let mut next = pop3(dir.path());
    assert_eq!(next.send("STAT\r\n"), "+OK 2 49\r\n");
    let (_, first) = next.multiline("TOP 1 0\r\n");
    let (_, second) = next.multiline("TOP 2 0\r\n");
    assert_eq!(first, b"Subject: appended\r\n\r\n");
    assert_eq!(second, b"Subject: delivered\r\n\r\n");
}

#[test]
fn dele_and_quit_expunge_for_an_open_imap_session() {
    let (dir, store) = maildir();
    let inbox = store.open(&MailboxName::inbox()).expect("INBOX");
    for body in ["one", "two", "three"] {
        append(&inbox, format!("Subject: {body}\r\n\r\n{body}\r\n"));
    }
    let mut imap = ImapSession::open(Arc::clone(&inbox), false).expect("SELECT");
    assert_eq!(imap.exists(), 3);

    let mut c = pop3(dir.path());
    assert_eq!(c.send("DELE 2\r\n"), "+OK message 2 deleted\r\n");
    // DELE only marks: nothing changes before UPDATE.
    assert!(imap.poll(true).expect("poll").is_empty());
    assert_eq!(inbox.len(), 3);
    assert_eq!(c.send("QUIT\r\n"), "+OK bye, 1 messages deleted\r\n");

    let changes = imap.poll(true).expect("poll");
    assert_eq!(changes.expunged, [2], "IMAP gets * 2 EXPUNGE");
    assert_eq!(imap.exists(), 2);
    let uids: Vec<u32> = inbox.messages().iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids, [1, 3]);
    // The file is gone from disk too.
    let reopened = MaildirStore::new(dir.path()).expect("Maildir");
    drop((imap, inbox, store));
    let inbox = reopened.open(&MailboxName::inbox()).expect("INBOX");
    assert_eq!(inbox.len(), 2);
}

#[test]
fn an_imap_expunge_during_a_pop3_session() {
    let (dir, store) = maildir();
    let inbox = store.open(&MailboxName::inbox()).expect("INBOX");
    for body in ["one", "two", "three"] {
        append(&inbox, format!("Subject: {body}\r\n\r\n{body}\r\n"));
    }
    let mut c = pop3(dir.path());
    assert_eq!(c.send("STAT\r\n"), "+OK 3 67\r\n");

    let mut imap = ImapSession::open(Arc::clone(&inbox), false).expect("SELECT");
    let two = imap.uid(2).expect("message 2");
    imap.store(
        &[two],
        StoreMode::Add,
        &FlagSet::from_flags(&[Flag::Deleted]),
    )
    .expect("STORE");
    let changes = imap.expunge(None).expect("EXPUNGE");
    assert_eq!(changes.expunged, [2]);

    // The POP3 numbering stays; the vanished message cannot be read.
    assert_eq!(c.send("RETR 2\r\n"), "-ERR message 2 was expunged\r\n");
    assert_eq!(c.send("TOP 2 0\r\n"), "-ERR message 2 was expunged\r\n");
    let (status, body) = c.multiline("RETR 3\r\n");
    assert_eq!(status, "+OK 25 octets\r\n");
    assert_eq!(body, b"Subject: three\r\n\r\nthree\r\n");
    let (_, body) = c.multiline("RETR 1\r\n");
    assert_eq!(body, b"Subject: one\r\n\r\none\r\n");
    // Deleting it as well is harmless.
    assert_eq!(c.send("DELE 2\r\n"), "+OK message 2 deleted\r\n");
    assert_eq!(c.send("DELE 3\r\n"), "+OK message 3 deleted\r\n");
    assert_eq!(c.send("QUIT\r\n"), "+OK bye, 2 messages deleted\r\n");
    let uids: Vec<u32> = inbox.messages().iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids, [1]);
}

#[test]
fn retr_marks_seen_and_sends_the_bytes_of_imap_body() {
    let (dir, store) = maildir();
    let inbox = store.open(&MailboxName::inbox()).expect("INBOX");
    let messages: [&[u8]; 4] = [
        b"Subject: crlf\r\n\r\n.dot\r\n..two\r\n.\r\nend\r\n",
        b"Subject: lf only\n\n.dot\nline\n",
        b"Subject: mixed\r\n\nbare\rcr\n.\r\n",
        b"Subject: no final newline\r\n\r\nlast",
    ];
    for m in messages {
        append(&inbox, m);
    }
    let mut imap = ImapSession::open(Arc::clone(&inbox), false).expect("SELECT");
    let mut c = pop3(dir.path());

    // TOP does not mark \Seen.
    c.multiline("TOP 1 1\r\n");
    assert!(imap.poll(true).expect("poll").flags.is_empty());

    for (i, raw) in messages.iter().enumerate() {
        let n = i + 1;
        let uid = imap.uid(n as u32).expect("in view");
        let (status, body) = c.multiline(&format!("RETR {n}\r\n"));
        // What an IMAP server sends for BODY[] of the same message.
        let imap_body = Message::parse(&inbox.raw(uid).expect("stored"))
            .bytes()
            .to_vec();
        assert_eq!(status, format!("+OK {} octets\r\n", imap_body.len()));
        let mut expected = imap_body;
        if !raw.ends_with(b"\n") {
            // RFC 1939 §3: the line end before the terminator.
            expected.extend_from_slice(b"\r\n");
        }
        assert_eq!(body, expected, "message {n}");
        // IMAP sees the message as read, right after RETR.
        assert!(inbox.message(uid).expect("present").flags.is_seen());
        let changes = imap.poll(true).expect("poll");
        assert_eq!(changes.flags.len(), 1, "one FETCH FLAGS for message {n}");
        assert_eq!(changes.flags[0].seq, n as u32);
    }
    // TOP sends what the mailbox crate's own POP3 view gives for it.
    let view = postroom_mailbox::pop3::Maildrop::open(Arc::clone(&inbox)).expect("view");
    for n in 1..=4u32 {
        for lines in [0u32, 1, 5] {
            let (_, body) = c.multiline(&format!("TOP {n} {lines}\r\n"));
            let mut expected = view.top(n, lines).expect("present");
            if !expected.ends_with(b"\n") {
                expected.extend_from_slice(b"\r\n");
            }
            assert_eq!(body, expected, "TOP {n} {lines}");
        }
    }
    drop(view);

    // QUIT without DELE removes nothing and keeps \Seen.
    assert_eq!(c.send("QUIT\r\n"), "+OK bye, 0 messages deleted\r\n");
    assert_eq!(inbox.len(), 4);
    assert!(inbox.messages().iter().all(|m| m.flags.is_seen()));
}

#[test]
fn uidls_stay_the_same_across_a_restart() {
    let (dir, store) = maildir();
    let inbox = store.open(&MailboxName::inbox()).expect("INBOX");
    for i in 0..5 {
        append(&inbox, format!("Subject: {i}\r\n\r\nbody {i}\r\n"));
    }
    deliver(dir.path(), b"Subject: delivered\n\nx\n").expect("deliver");

    let mut c = pop3(dir.path());
    let (_, before) = c.multiline("UIDL\r\n");
    assert_eq!(
        c.send("DELE 2\r\nQUIT\r\n"),
        "+OK message 2 deleted\r\n+OK bye, 1 messages deleted\r\n"
    );
    let before = String::from_utf8(before).expect("text");
    let before: Vec<(u32, String)> = before
        .lines()
        .map(|l| {
            let (n, id) = l.split_once(' ').expect("n SP uid");
            (n.parse().expect("number"), id.to_owned())
        })
        .collect();
    assert_eq!(before.len(), 6);
    for (_, id) in &before {
        // RFC 1939 §7: 1 to 70 characters 0x21-0x7E.
        assert!((1..=70).contains(&id.len()) && id.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    }

    // The mailbox crate's own POP3 view gives the same UIDLs.
    let view = postroom_mailbox::pop3::Maildrop::open(Arc::clone(&inbox)).expect("view");
    let theirs: Vec<String> = view.listing().into_iter().map(|(_, _, id)| id).collect();
    let ours: Vec<String> = before
        .iter()
        .filter(|(n, _)| *n != 2)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(theirs, ours);

    // A restart: every handle dropped, the Maildir read again from disk.
    drop((view, inbox, store, c));
    let mut after = pop3(dir.path());
    let (_, listing) = after.multiline("UIDL\r\n");
    let after: Vec<String> = String::from_utf8(listing)
        .expect("text")
        .lines()
        .map(|l| l.split_once(' ').expect("n SP uid").1.to_owned())
        .collect();
    assert_eq!(after, ours);
}

#[test]
fn uidls_given_by_courier_pop3d_are_kept() {
    let (dir, store) = maildir();
    let inbox = store.open(&MailboxName::inbox()).expect("INBOX");
    for i in 0..2 {
        append(&inbox, format!("Subject: {i}\r\n\r\nbody {i}\r\n"));
    }
    // Courier's pop3d listed the first message (by its file name).
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("cur"))
        .expect("cur/")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8"))
        .collect();
    names.sort();
    let first = inbox.messages()[0].uid;
    let first_name = names
        .iter()
        .find(|n| {
            std::fs::read(dir.path().join("cur").join(n)).expect("read")
                == *inbox.raw(first).expect("raw")
        })
        .expect("the first message's file");
    let list = format!("/3 8 1700000000\n{first_name} 20 7:1700000000:0\n");
    std::fs::write(dir.path().join("courierpop3dsizelist"), list).expect("write list");

    let mut c = pop3(dir.path());
    let (_, listing) = c.multiline("UIDL\r\n");
    let uv = inbox.uid_validity().get();
    let second = inbox.messages()[1].uid.get();
    assert_eq!(
        String::from_utf8(listing).expect("text"),
        format!("1 UID7-1700000000\r\n2 {second:08x}{uv:08x}\r\n")
    );
    assert_eq!(c.send("UIDL 1\r\n"), "+OK 1 UID7-1700000000\r\n");
}
