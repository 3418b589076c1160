//! IDLE, ACL sharing (RFC 4314 and Courier ACL2), QUOTA, SORT and THREAD on
//! the IMAP session, with no sockets.

mod imap_support;

use std::time::{Duration, Instant};

use imap_support::{Env, append_cmd, message};
use postroom_access::maildirsize::QuotaDefinition;

const USERS: &str =
    "alice:{PLAIN}secret\nbob:{PLAIN}hunter2\nroot:{PLAIN}admin::::::acl_groups=administrators\n";

#[test]
fn idle_sees_another_sessions_append_and_a_delivery() {
    let env = Env::new(USERS);
    let mut a = env.login("alice", "secret");
    let mut b = env.login("alice", "secret");
    a.send(append_cmd("a0", "INBOX", "()", &message("first", "x")).as_bytes());
    assert!(a.cmd("a1 SELECT INBOX").contains("a1 OK"));
    let r = a.cmd("a2 IDLE");
    assert_eq!(r, "+ idling\r\n");
    assert!(a.s.is_idling());
    let t0 = Instant::now();
    assert_eq!(a.tick(t0), "");
    // The session asks to be woken well within 100 ms.
    let next = a.s.next_timeout().unwrap();
    assert!(next <= t0 + Duration::from_millis(100), "{next:?}");

    let r = b.send(append_cmd("b1", "INBOX", "()", &message("second", "y")).as_bytes());
    assert!(r.contains("b1 OK"), "{r}");
    let r = a.tick(next);
    assert_eq!(r, "* 2 EXISTS\r\n* 2 RECENT\r\n");

    // A delivery (the MDA path), as another process would make it.
    postroom_mailbox::deliver(&env.maildir("alice"), message("third", "z").as_bytes()).unwrap();
    let mut now = next;
    let mut seen = String::new();
    for _ in 0..40 {
        now = a.s.next_timeout().unwrap();
        seen.push_str(&a.tick(now));
        if seen.contains("EXISTS") {
            break;
        }
    }
    assert!(seen.contains("* 3 EXISTS\r\n"), "{seen}");
    assert!(now <= next + Duration::from_secs(1), "{:?}", now - next);

    // Another session's flag change and expunge arrive too.
    b.cmd("b2 SELECT INBOX");
    b.cmd("b3 STORE 1 +FLAGS.SILENT (\\Deleted)");
    b.cmd("b4 EXPUNGE");
    let mut seen = String::new();
    for _ in 0..40 {
        now = a.s.next_timeout().unwrap();
        seen.push_str(&a.tick(now));
        if seen.contains("EXPUNGE") {
            break;
        }
    }
    assert!(seen.contains("* 1 EXPUNGE\r\n"), "{seen}");

    // Keepalive after a few quiet minutes.
    let r = a.tick(now + Duration::from_secs(121));
    assert!(r.contains("* OK still here\r\n"), "{r}");

    let r = a.cmd("DONE");
    assert_eq!(r, "a2 OK IDLE terminated\r\n");
    assert!(!a.s.is_idling());
    assert_eq!(a.cmd("a3 NOOP"), "a3 OK NOOP completed\r\n");
}

#[test]
fn noop_reports_other_sessions_changes() {
    let env = Env::new(USERS);
    let mut a = env.login("alice", "secret");
    let mut b = env.login("alice", "secret");
    a.cmd("a1 SELECT INBOX");
    b.send(append_cmd("b1", "INBOX", "()", &message("x", "y")).as_bytes());
    let r = a.cmd("a2 NOOP");
    assert_eq!(r, "* 1 EXISTS\r\n* 1 RECENT\r\na2 OK NOOP completed\r\n");
    b.cmd("b2 SELECT INBOX");
    b.cmd("b3 STORE 1 +FLAGS (\\Flagged)");
    let r = a.cmd("a3 NOOP");
    assert!(
        r.starts_with("* 1 FETCH (FLAGS (\\Flagged \\Recent) UID 1)"),
        "{r}"
    );
    // No EXPUNGE during FETCH; it comes with the next NOOP.
    b.cmd("b4 STORE 1 +FLAGS (\\Deleted)");
    b.cmd("b5 EXPUNGE");
    let r = a.cmd("a4 FETCH 1 (FLAGS)");
    assert!(!r.contains("EXPUNGE"), "{r}");
    let r = a.cmd("a5 NOOP");
    assert!(r.contains("* 1 EXPUNGE\r\n"), "{r}");
}

#[test]
fn acl_sharing_between_two_users() {
    let env = Env::new(USERS);
    let mut alice = env.login("alice", "secret");
    let mut bob = env.login("bob", "hunter2");
    assert!(alice.cmd("a1 CREATE INBOX.Projects").contains("a1 OK"));
    alice.send(append_cmd("a2", "INBOX.Projects", "()", &message("plan", "the plan")).as_bytes());

    // Invisible without `l`.
    let r = bob.cmd("b1 LIST \"\" \"*\"");
    assert!(!r.contains("#shared"), "{r}");
    let r = bob.cmd("b2 SELECT #shared.alice.Projects");
    assert!(r.starts_with("b2 NO [NONEXISTENT]"), "{r}");
    let r = bob.cmd("b3 GETACL #shared.alice.Projects");
    assert!(r.starts_with("b3 NO [NONEXISTENT]"), "{r}");

    let r = alice.cmd("a3 SETACL INBOX.Projects bob lr");
    assert_eq!(r, "a3 OK SETACL completed\r\n");
    let r = alice.cmd("a4 GETACL INBOX.Projects");
    assert!(r.starts_with("* ACL INBOX.Projects "), "{r}");
    assert!(r.contains(" bob lr"), "{r}");
    let r = alice.cmd("a5 LISTRIGHTS INBOX.Projects bob");
    assert!(r.starts_with("* LISTRIGHTS INBOX.Projects bob "), "{r}");
    let r = alice.cmd("a6 MYRIGHTS INBOX.Projects");
    assert!(r.starts_with("* MYRIGHTS INBOX.Projects "), "{r}");
    assert!(r.contains('a'), "{r}");

    // Bob sees the folder the way Courier presents it.
    let r = bob.cmd("b4 LIST \"\" \"*\"");
    assert!(
        r.contains("* LIST (\\Noselect \\HasChildren) \".\" #shared\r\n"),
        "{r}"
    );
    assert!(
        r.contains("* LIST (\\Noselect \\HasChildren) \".\" #shared.alice\r\n"),
        "{r}"
    );
    assert!(
        r.contains("* LIST (\\HasNoChildren) \".\" #shared.alice.Projects\r\n"),
        "{r}"
    );
    assert!(!r.contains("#shared.alice.Sent"), "{r}");
    let r = bob.cmd("b5 LIST \"#shared.\" \"%\"");
    assert_eq!(
        r,
        "* LIST (\\Noselect \\HasChildren) \".\" #shared.alice\r\nb5 OK LIST completed\r\n"
    );
    let r = bob.cmd("b6 SELECT #shared.alice.Projects");
    assert!(r.contains("* 1 EXISTS"), "{r}");
    assert!(r.contains("b6 OK [READ-ONLY]"), "{r}");
    let r = bob.cmd("b7 FETCH 1 BODY[]");
    assert!(r.contains("the plan"), "{r}");
    assert!(!r.contains("\\Seen"), "{r}");
    let r = bob.send(append_cmd("b8", "#shared.alice.Projects", "()", "x").as_bytes());
    assert!(r.starts_with("b8 NO [NOPERM]"), "{r}");
    let r = bob.cmd("b9 GETACL #shared.alice.Projects");
    assert!(r.starts_with("b9 NO [NOPERM]"), "{r}");
    let r = bob.cmd("c1 MYRIGHTS #shared.alice.Projects");
    assert_eq!(
        r,
        "* MYRIGHTS #shared.alice.Projects lr\r\nc1 OK MYRIGHTS completed\r\n"
    );
    let r = bob.cmd("c2 STATUS #shared.alice.Projects (MESSAGES)");
    assert!(r.contains("(MESSAGES 1)"), "{r}");
    // Shared folders can be subscribed (LSUB-only clients see them).
    assert_eq!(
        bob.cmd("c2a SUBSCRIBE #shared.alice.Projects"),
        "c2a OK SUBSCRIBE completed\r\n"
    );
    let r = bob.cmd("c2b LSUB \"\" \"*\"");
    assert!(
        r.contains("* LSUB () \".\" #shared.alice.Projects\r\n"),
        "{r}"
    );
    assert!(r.contains("INBOX.Sent"), "{r}");
    let r = bob.cmd("c2c SUBSCRIBE #shared.alice");
    assert!(r.starts_with("c2c NO [NONEXISTENT]"), "{r}");
    // Bob's alice INBOX stays invisible.
    let r = bob.cmd("c3 STATUS #shared.alice (MESSAGES)");
    assert!(r.starts_with("c3 NO [NONEXISTENT]"), "{r}");

    // Courier ACL2: grant insert, with the ACL echoed in a LIST.
    let r = alice.cmd("a7 ACL STORE INBOX.Projects user=bob +i");
    assert!(
        r.starts_with("* LIST () \".\" INBOX.Projects ((\"ACL\" ("),
        "{r}"
    );
    // Identifiers in ACL2 form; rights as the codec prints them.
    assert!(r.contains("(\"user=bob\" \"lri\")"), "{r}");
    assert!(r.ends_with("a7 OK ACL STORE completed.\r\n"), "{r}");
    let r = bob.send(
        append_cmd(
            "c4",
            "#shared.alice.Projects",
            "(\\Seen)",
            "Subject: hi\r\n\r\nx",
        )
        .as_bytes(),
    );
    // Bob has `r`, so he gets APPENDUID; his selected view learns of the
    // new message at once.
    assert!(r.starts_with("* 2 EXISTS\r\n"), "{r}");
    assert!(r.contains("c4 OK [APPENDUID "), "{r}");
    // A session that changes the rights of its own selection is told the
    // new PERMANENTFLAGS at once.
    alice.cmd("a7b SELECT INBOX.Projects");
    let r = alice.cmd("a7c SETACL INBOX.Projects owner -w");
    assert!(
        r.starts_with("* OK [PERMANENTFLAGS (\\Deleted \\Seen)] rights changed\r\n"),
        "{r}"
    );
    alice.cmd("a7d SETACL INBOX.Projects owner +w");
    alice.cmd("a7e UNSELECT");
    let r = alice.cmd("a8 LIST (ACL MYRIGHTS) \"\" INBOX.Projects");
    assert!(r.contains("(\"MYRIGHTS\" "), "{r}");
    assert!(r.contains("\"user=bob\""), "{r}");
    let r = alice.cmd("a9 ACL STORE INBOX.Projects owner -a");
    assert!(r.starts_with("* RIGHTS-INFO "), "{r}");

    // Unknown rights are refused with BAD (RFC 4314 §3.1).
    let r = alice.cmd("d1 SETACL INBOX.Projects bob lrQ");
    assert!(r.starts_with("d1 BAD"), "{r}");
    let r = alice.cmd("d2 SETACL INBOX.Projects user=bob lr");
    assert!(r.starts_with("d2 NO"), "{r}");

    let r = alice.cmd("d3 DELETEACL INBOX.Projects bob");
    assert_eq!(r, "d3 OK DELETEACL completed\r\n");
    let r = bob.cmd("c5 LIST \"\" \"*\"");
    assert!(!r.contains("#shared"), "{r}");
    // Without `l` the subscription is not listed either.
    let r = bob.cmd("c6 LSUB \"\" \"*\"");
    assert!(!r.contains("#shared"), "{r}");
    assert_eq!(
        bob.cmd("c7 UNSUBSCRIBE #shared.alice.Projects"),
        "c7 OK UNSUBSCRIBE completed\r\n"
    );
}

/// RFC 4314 §4 and §6: without `l`, another user's mailbox is answered for
/// exactly as one that does not exist, and so is a user who does not exist
/// (`#shared.nobody.X`), whatever the command.
#[test]
fn hidden_mailboxes_answer_as_missing_ones() {
    let env = Env::new(USERS);
    let mut alice = env.login("alice", "secret");
    let mut bob = env.login("bob", "hunter2");
    assert!(alice.cmd("a1 CREATE INBOX.Projects").contains("a1 OK"));
    assert!(bob.cmd("b1 CREATE INBOX.Mine").contains("b1 OK"));
    bob.send(append_cmd("b2", "INBOX", "()", &message("x", "y")).as_bytes());
    assert!(bob.cmd("b3 SELECT INBOX").contains("b3 OK"));
    let probes = [
        "CREATE {}",
        "RENAME {} INBOX.Stolen",
        "RENAME INBOX.Mine {}",
        "COPY 1 {}",
        "MOVE 1 {}",
        "UNSUBSCRIBE {}",
        "SELECT {}",
        "STATUS {} (MESSAGES)",
        "GETACL {}",
    ];
    for (n, probe) in probes.iter().enumerate() {
        let answer = |bob: &mut imap_support::Client, name: &str| {
            let r = bob.cmd(&format!("p{n} {}", probe.replace("{}", name)));
            r.replace(name, "NAME")
        };
        let hidden = answer(&mut bob, "#shared.alice.Projects");
        let hidden_inbox = answer(&mut bob, "#shared.alice");
        let missing = answer(&mut bob, "#shared.alice.Nothing");
        let nobody = answer(&mut bob, "#shared.nobody.X");
        let nobody_inbox = answer(&mut bob, "#shared.nobody");
        assert_eq!(hidden, missing, "{probe}");
        assert_eq!(hidden, nobody, "{probe}");
        assert_eq!(hidden_inbox, nobody_inbox, "{probe}");
        assert!(!hidden.contains("ALREADYEXISTS"), "{probe}: {hidden}");
    }
    // A quota root names a user: another user's answers as an unknown one.
    let r = bob.cmd("q1 SETQUOTA \"#shared.alice\" (STORAGE 1)");
    assert_eq!(r, bob.cmd("q1 SETQUOTA \"#shared.nobody\" (STORAGE 1)"));
    assert_eq!(r, "q1 NO no such quota root\r\n");
    let r = bob.send(append_cmd("b4", "#shared.alice.Projects", "()", "x").as_bytes());
    let r2 = bob.send(append_cmd("b4", "#shared.nobody.X", "()", "x").as_bytes());
    assert_eq!(r, r2);
    assert!(r.starts_with("b4 NO [NONEXISTENT]"), "{r}");
    // In the user's own namespace a missing destination still says TRYCREATE.
    assert!(bob.cmd("b4a SELECT INBOX").contains("b4a OK"));
    let r = bob.cmd("b5 COPY 1 INBOX.Missing");
    assert!(r.starts_with("b5 NO [TRYCREATE]"), "{r}");
    // With `l` and `k` on the parent, TRYCREATE for a missing child.
    alice.cmd("a2 SETACL INBOX.Projects bob lrk");
    let r = bob.cmd("b6 COPY 1 #shared.alice.Projects.Sub");
    assert!(r.starts_with("b6 NO [TRYCREATE]"), "{r}");
    let r = bob.cmd("b7 CREATE #shared.alice.Projects");
    assert!(r.starts_with("b7 NO [ALREADYEXISTS]"), "{r}");
    // Nothing was created for alice.
    let r = alice.cmd("a3 LIST \"\" \"*\"");
    assert!(!r.contains("Stolen") && !r.contains("Nothing"), "{r}");
}

#[test]
fn quota_commands_and_overquota() {
    let env = Env::with_quota(
        USERS,
        QuotaDefinition {
            bytes: 100 * 1024,
            messages: 3,
        },
    );
    let mut alice = env.login("alice", "secret");
    let r = alice.cmd("q1 GETQUOTAROOT INBOX");
    assert_eq!(
        r,
        "* QUOTAROOT INBOX \"\"\r\n* QUOTA \"\" (STORAGE 0 100 MESSAGE 0 3)\r\nq1 OK GETQUOTAROOT completed\r\n"
    );
    for i in 0..3 {
        let r =
            alice.send(append_cmd(&format!("p{i}"), "INBOX", "()", &message("m", "x")).as_bytes());
        assert!(r.contains(&format!("p{i} OK")), "{r}");
    }
    let r = alice.send(append_cmd("p3", "INBOX", "()", &message("m", "x")).as_bytes());
    assert!(r.starts_with("p3 NO [OVERQUOTA]"), "{r}");
    let r = alice.cmd("q2 GETQUOTA \"\"");
    assert!(
        r.starts_with("* QUOTA \"\" (STORAGE 1 100 MESSAGE 3 3)"),
        "{r}"
    );
    alice.cmd("q3 SELECT INBOX");
    let r = alice.cmd("q4 COPY 1:3 INBOX.Trash");
    assert!(r.starts_with("q4 NO [OVERQUOTA]"), "{r}");
    // MOVE inside the quota root renames the file: at the limit it still
    // works (deleting to Trash must not fail), and usage does not change.
    let r = alice.cmd("q5 MOVE 1 INBOX.Trash");
    assert!(r.contains("q5 OK"), "{r}");
    assert!(r.contains("* 1 EXPUNGE\r\n"), "{r}");
    let r = alice.cmd("q5b STATUS INBOX.Trash (MESSAGES)");
    assert!(r.contains("(MESSAGES 1)"), "{r}");
    let r = alice.cmd("q5c GETQUOTA \"\"");
    assert!(
        r.starts_with("* QUOTA \"\" (STORAGE 1 100 MESSAGE 3 3)"),
        "{r}"
    );
    let r = alice.cmd("q6 SETQUOTA \"\" (MESSAGE 10)");
    assert!(r.starts_with("q6 NO"), "{r}");
    let r = alice.cmd("q7 GETQUOTA \"#shared.bob\"");
    assert!(r.starts_with("q7 NO"), "{r}");

    let mut root = env.login("root", "admin");
    let r = root.cmd("r1 SETQUOTA \"#shared.alice\" (STORAGE 200 MESSAGE 10)");
    assert!(
        r.starts_with("* QUOTA #shared.alice (STORAGE 1 200 MESSAGE 3 10)"),
        "{r}"
    );
    assert!(r.contains("r1 OK"), "{r}");
    let r = alice.send(append_cmd("p4", "INBOX", "()", &message("m", "x")).as_bytes());
    assert!(r.contains("p4 OK"), "{r}");
    let r = alice.cmd("q8 GETQUOTAROOT INBOX");
    assert!(
        r.contains("* QUOTA \"\" (STORAGE 1 200 MESSAGE 4 10)"),
        "{r}"
    );
}

fn threaded(subject: &str, id: &str, reply_to: Option<&str>, date: &str) -> String {
    let irt = reply_to
        .map(|r| format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: a@example.org\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{irt}Date: {date}\r\n\r\nbody\r\n"
    )
}

#[test]
fn sort_and_thread() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    let msgs = [
        threaded("Lunch", "a@x", None, "Mon, 1 Jan 2024 10:00:00 +0000"),
        threaded("Agenda", "b@x", None, "Mon, 1 Jan 2024 11:00:00 +0000"),
        threaded(
            "Re: lunch",
            "c@x",
            Some("a@x"),
            "Mon, 1 Jan 2024 12:00:00 +0000",
        ),
        threaded("Zebra", "d@x", None, "Mon, 1 Jan 2024 09:00:00 +0000"),
    ];
    for (i, m) in msgs.iter().enumerate() {
        c.send(append_cmd(&format!("p{i}"), "INBOX", "()", m).as_bytes());
    }
    c.cmd("s0 SELECT INBOX");
    assert_eq!(
        c.cmd("s1 SORT (SUBJECT DATE) UTF-8 ALL"),
        "* SORT 2 1 3 4\r\ns1 OK SORT completed\r\n"
    );
    assert_eq!(
        c.cmd("s2 SORT (REVERSE DATE) UTF-8 ALL"),
        "* SORT 3 2 1 4\r\ns2 OK SORT completed\r\n"
    );
    assert_eq!(
        c.cmd("s3 UID SORT (DATE) US-ASCII NOT SUBJECT zebra"),
        "* SORT 1 2 3\r\ns3 OK UID SORT completed\r\n"
    );
    let r = c.cmd("s4 SORT (DATE) KOI8-R ALL");
    assert!(r.starts_with("s4 NO [BADCHARSET"), "{r}");
    assert_eq!(
        c.cmd("t1 THREAD REFERENCES UTF-8 ALL"),
        "* THREAD (4)(1 3)(2)\r\nt1 OK THREAD completed\r\n"
    );
    assert_eq!(
        c.cmd("t2 THREAD ORDEREDSUBJECT UTF-8 ALL"),
        "* THREAD (4)(1 3)(2)\r\nt2 OK THREAD completed\r\n"
    );
    assert_eq!(
        c.cmd("t3 UID THREAD REFERENCES UTF-8 SUBJECT lunch"),
        "* THREAD (1 3)\r\nt3 OK UID THREAD completed\r\n"
    );
    let r = c.cmd("t4 THREAD REFS UTF-8 ALL");
    assert!(r.starts_with("t4 BAD") || r.starts_with("t4 NO"), "{r}");
}

#[test]
fn noop_sees_a_message_dropped_into_new_by_another_program() {
    let env = Env::new(USERS);
    let mut a = env.login("alice", "secret");
    a.cmd("a1 SELECT INBOX");
    // What an MDA in another process does: tmp/ then rename into new/.
    let root = env.maildir("alice");
    let tmp = root.join("tmp").join("1700000000.M1P1.mda");
    std::fs::write(&tmp, message("external", "x")).unwrap();
    std::fs::rename(&tmp, root.join("new").join("1700000000.M1P1.mda")).unwrap();
    let r = a.cmd("a2 NOOP");
    assert!(r.starts_with("* 1 EXISTS\r\n"), "{r}");
    let r = a.cmd("a3 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    assert!(r.contains("Subject: external"), "{r}");
}
