//! RFC 3501 behaviour of the IMAP session, with no sockets.

mod imap_support;

use imap_support::{Env, append_cmd, message};
use postroom_server::imap::{SessionAction, Transport};

const USERS: &str =
    "alice:{PLAIN}secret\nbob:{PLAIN}hunter2\nroot:{PLAIN}admin::::::acl_groups=administrators\n";

/// RFC 3501 §8, replayed against a mailbox holding the message the example
/// fetches (here message 1 of 1).
#[test]
fn rfc3501_section8_session() {
    let env = Env::new(USERS);
    let mut c = env.client();
    let r = c.cmd("abcd CAPABILITY");
    assert!(r.starts_with("* CAPABILITY IMAP4rev1 "), "{r}");
    assert!(r.contains("STARTTLS") && r.contains("AUTH=PLAIN"), "{r}");
    assert!(r.ends_with("abcd OK CAPABILITY completed\r\n"), "{r}");

    let r = c.cmd("a001 login alice secret");
    assert!(r.starts_with("a001 OK [CAPABILITY IMAP4rev1"), "{r}");

    let msg = message(
        "afternoon meeting",
        "Hello Joe, do you think we can meet at 3:30 tomorrow?",
    );
    let r = c.send(append_cmd("a000", "INBOX", "()", &msg).as_bytes());
    assert!(r.contains("a000 OK [APPENDUID "), "{r}");

    let r = c.cmd("a002 select inbox");
    assert!(
        r.contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"),
        "{r}"
    );
    assert!(r.contains("* 1 EXISTS\r\n"), "{r}");
    assert!(r.contains("* 1 RECENT\r\n"), "{r}");
    assert!(r.contains("* OK [UNSEEN 1]"), "{r}");
    assert!(r.contains("* OK [UIDVALIDITY "), "{r}");
    assert!(r.contains("* OK [UIDNEXT 2]"), "{r}");
    assert!(
        r.contains("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]"),
        "{r}"
    );
    assert!(
        r.ends_with("a002 OK [READ-WRITE] SELECT completed\r\n"),
        "{r}"
    );

    let r = c.cmd("a003 fetch 1 full");
    assert!(
        r.starts_with("* 1 FETCH (FLAGS (\\Recent) INTERNALDATE \""),
        "{r}"
    );
    assert!(r.contains(" RFC822.SIZE "), "{r}");
    assert!(
        r.contains("ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" \"afternoon meeting\" ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\"))"),
        "{r}"
    );
    assert!(r.contains("BODY (\"text\" \"plain\""), "{r}");
    assert!(r.ends_with("a003 OK FETCH completed\r\n"), "{r}");

    let r = c.cmd("a004 fetch 1 body[header]");
    assert!(r.starts_with("* 1 FETCH (BODY[HEADER] {"), "{r}");
    assert!(r.contains("Subject: afternoon meeting\r\n"), "{r}");
    // BODY[...] without PEEK sets \Seen, and the change is reported.
    assert!(r.contains("FLAGS (\\Seen \\Recent)"), "{r}");

    let r = c.cmd("a005 store 1 +flags \\deleted");
    assert_eq!(
        r,
        "* 1 FETCH (FLAGS (\\Deleted \\Seen \\Recent))\r\na005 OK STORE completed\r\n"
    );

    let r = c.cmd("a006 logout");
    assert!(r.starts_with("* BYE"), "{r}");
    assert!(r.ends_with("a006 OK LOGOUT completed\r\n"), "{r}");
    assert!(c.actions.contains(&SessionAction::Close));
}

#[test]
fn login_refused_on_wrong_password_and_session_survives() {
    let env = Env::new(USERS);
    let mut c = env.client();
    let r = c.cmd("a1 LOGIN alice wrong");
    assert_eq!(r, "a1 NO [AUTHENTICATIONFAILED] authentication failed\r\n");
    assert!(
        c.actions
            .iter()
            .any(|a| matches!(a, SessionAction::LoginFailed { .. }))
    );
    let r = c.cmd("a2 LOGIN nobody secret");
    assert!(r.starts_with("a2 NO [AUTHENTICATIONFAILED]"), "{r}");
    let r = c.cmd("a3 SELECT INBOX");
    assert!(r.starts_with("a3 BAD"), "{r}");
    let r = c.cmd("a4 LOGIN alice secret");
    assert!(r.starts_with("a4 OK"), "{r}");
}

#[test]
fn authenticate_plain_with_initial_response_and_login_mechanism() {
    let env = Env::new(USERS);
    let mut c = env.client();
    // "\0alice\0secret"
    let r = c.cmd("a1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==");
    assert!(r.starts_with("a1 OK [CAPABILITY"), "{r}");
    assert_eq!(c.s.user(), Some("alice"));

    let mut c = env.client();
    let r = c.cmd("b1 AUTHENTICATE LOGIN");
    assert_eq!(r, "+ VXNlcm5hbWU6\r\n");
    let r = c.cmd("Ym9i");
    assert_eq!(r, "+ UGFzc3dvcmQ6\r\n");
    let r = c.cmd("aHVudGVyMg==");
    assert!(r.starts_with("b1 OK"), "{r}");

    let mut c = env.client();
    let r = c.cmd("c1 AUTHENTICATE PLAIN AGFsaWNlAHdyb25n");
    assert!(r.starts_with("c1 NO [AUTHENTICATIONFAILED]"), "{r}");
}

#[test]
fn plaintext_login_only_from_loopback_unless_tls() {
    let env = Env::new(USERS);
    let mut c = env.client_from("192.0.2.7:5555", Transport::Plain { starttls: true });
    let r = c.cmd("a1 CAPABILITY");
    assert!(r.contains("STARTTLS") && r.contains("LOGINDISABLED"), "{r}");
    assert!(!r.contains("AUTH=PLAIN"), "{r}");
    let r = c.cmd("a2 LOGIN alice secret");
    assert!(r.starts_with("a2 NO [PRIVACYREQUIRED]"), "{r}");
    let r = c.cmd("a3 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==");
    assert!(r.starts_with("a3 NO [PRIVACYREQUIRED]"), "{r}");

    // After STARTTLS the same client may log in, and STARTTLS and
    // LOGINDISABLED are gone.
    let r = c.cmd("a4 STARTTLS");
    assert_eq!(r, "a4 OK begin TLS negotiation now\r\n");
    assert!(c.actions.contains(&SessionAction::StartTls));
    c.s.handle_tls_established();
    let r = c.cmd("a5 CAPABILITY");
    assert!(
        !r.contains("STARTTLS") && !r.contains("LOGINDISABLED"),
        "{r}"
    );
    assert!(r.contains("AUTH=PLAIN"), "{r}");
    let r = c.cmd("a6 LOGIN alice secret");
    assert!(r.starts_with("a6 OK"), "{r}");

    // Implicit TLS allows it from anywhere.
    let mut c = env.client_from("192.0.2.7:5555", Transport::Tls);
    let r = c.cmd("a1 LOGIN alice secret");
    assert!(r.starts_with("a1 OK"), "{r}");
}

#[test]
fn starttls_discards_pipelined_command() {
    let env = Env::new(USERS);
    let mut c = env.client();
    let r = c.send(b"a1 STARTTLS\r\na2 LOGIN alice secret\r\n");
    assert_eq!(r, "a1 OK begin TLS negotiation now\r\n");
    assert!(c.actions.contains(&SessionAction::StartTls));
    c.s.handle_tls_established();
    // The pipelined LOGIN was not executed.
    assert_eq!(c.s.user(), None);
    let r = c.cmd("a3 NOOP");
    assert_eq!(r, "a3 OK NOOP completed\r\n");
    assert_eq!(c.s.user(), None);
}

#[test]
fn capabilities_after_login() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    let r = c.cmd("a1 CAPABILITY");
    let line = r.lines().next().unwrap();
    for cap in [
        "IMAP4rev1",
        "UIDPLUS",
        "CHILDREN",
        "NAMESPACE",
        "THREAD=ORDEREDSUBJECT",
        "THREAD=REFERENCES",
        "SORT",
        "QUOTA",
        "IDLE",
        "ACL",
        "ACL2=UNION",
        "RIGHTS=texk",
        "SPECIAL-USE",
        "APPENDLIMIT=",
        "LITERAL+",
        "SASL-IR",
        "ENABLE",
        "UNSELECT",
        "MOVE",
        "ID",
    ] {
        assert!(line.contains(cap), "{cap} missing from {line}");
    }
    assert!(
        !line.contains("STARTTLS") && !line.contains("AUTH="),
        "{line}"
    );
}

#[test]
fn special_use_folders_on_first_login() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    let r = c.cmd("a1 LIST \"\" \"*\"");
    assert!(r.contains("* LIST (\\HasChildren) \".\" INBOX\r\n"), "{r}");
    for (name, attr) in [
        ("Sent", "Sent"),
        ("Drafts", "Drafts"),
        ("Trash", "Trash"),
        ("Junk", "Junk"),
    ] {
        assert!(
            r.contains(&format!(
                "* LIST (\\HasNoChildren \\{attr}) \".\" INBOX.{name}\r\n"
            )),
            "{name}: {r}"
        );
    }
    let r = c.cmd("a2 LSUB \"\" \"*\"");
    for name in ["Sent", "Drafts", "Trash", "Junk"] {
        assert!(r.contains(&format!("INBOX.{name}\r\n")), "{r}");
    }
    // A folder the user deletes is not recreated at the next login.
    let r = c.cmd("a3 DELETE INBOX.Junk");
    assert!(r.starts_with("a3 OK"), "{r}");
    let mut c = env.login("alice", "secret");
    let r = c.cmd("a4 LIST \"\" \"INBOX.*\"");
    assert!(!r.contains("INBOX.Junk"), "{r}");
    let r = c.cmd("a5 LIST \"\" \"\"");
    assert_eq!(
        r,
        "* LIST (\\Noselect) \".\" \"\"\r\na5 OK LIST completed\r\n"
    );
}

#[test]
fn namespace_response() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    let r = c.cmd("n1 NAMESPACE");
    assert_eq!(
        r,
        "* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\"))\r\nn1 OK NAMESPACE completed\r\n"
    );
}

#[test]
fn mailbox_management() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    assert!(c.cmd("a1 CREATE INBOX.Projects.2024").contains("a1 OK"));
    let r = c.cmd("a2 LIST \"\" \"INBOX.Projects*\"");
    assert!(
        r.contains("* LIST (\\Noselect \\HasChildren) \".\" INBOX.Projects\r\n"),
        "{r}"
    );
    assert!(
        r.contains("* LIST (\\HasNoChildren) \".\" INBOX.Projects.2024\r\n"),
        "{r}"
    );
    assert!(c.cmd("a3 CREATE INBOX.Projects.").contains("a3 OK"));
    let r = c.cmd("a4 CREATE INBOX.Projects");
    assert!(r.starts_with("a4 NO [ALREADYEXISTS]"), "{r}");
    assert!(
        c.cmd("a5 RENAME INBOX.Projects INBOX.Work")
            .contains("a5 OK")
    );
    let r = c.cmd("a6 LIST \"\" \"INBOX.Work*\"");
    assert!(r.contains("INBOX.Work.2024"), "{r}");
    assert!(c.cmd("a7 SUBSCRIBE INBOX.Work").contains("a7 OK"));
    assert!(
        c.cmd("a8 LSUB \"\" INBOX.Work")
            .contains("* LSUB () \".\" INBOX.Work")
    );
    assert!(c.cmd("a9 UNSUBSCRIBE INBOX.Work").contains("a9 OK"));
    assert!(c.cmd("b1 DELETE INBOX.Work.2024").contains("b1 OK"));
    let r = c.cmd("b2 DELETE INBOX");
    assert!(r.starts_with("b2 NO"), "{r}");
    let r = c.cmd("b3 SELECT INBOX.nosuch");
    assert!(r.starts_with("b3 NO [NONEXISTENT]"), "{r}");
    let r = c.cmd("b4 CREATE \"INBOX.a/b\"");
    assert!(r.starts_with("b4 NO"), "{r}");
}

#[test]
fn status_append_uidplus_copy_move() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    for (i, subject) in ["one", "two", "three"].iter().enumerate() {
        let r = c.send(
            append_cmd(
                &format!("p{i}"),
                "INBOX",
                "(\\Seen $Work)",
                &message(subject, "x"),
            )
            .as_bytes(),
        );
        assert!(r.contains(&format!("p{i} OK [APPENDUID ")), "{r}");
        assert!(r.contains(&format!(" {}] APPEND completed", i + 1)), "{r}");
    }
    // A synchronizing literal gets a continuation request.
    let m = message("four", "y");
    let r = c.send(format!("p4 APPEND INBOX {{{}}}\r\n", m.len()).as_bytes());
    assert!(r.starts_with("+ "), "{r}");
    let r = c.send(format!("{m}\r\n").as_bytes());
    assert!(r.contains("p4 OK [APPENDUID "), "{r}");
    let r = c.cmd("s1 STATUS INBOX (MESSAGES UNSEEN UIDNEXT RECENT DELETED)");
    assert!(
        r.starts_with("* STATUS INBOX (MESSAGES 4 UNSEEN 1 UIDNEXT 5 RECENT 4 DELETED 0)"),
        "{r}"
    );
    let r = c.cmd("s2 STATUS INBOX.nosuch (MESSAGES)");
    assert!(r.starts_with("s2 NO"), "{r}");
    let r = c.send(append_cmd("s3", "INBOX.nosuch", "()", "x").as_bytes());
    assert!(r.starts_with("s3 NO [TRYCREATE]"), "{r}");

    assert!(c.cmd("c0 SELECT INBOX").contains("c0 OK [READ-WRITE]"));
    let r = c.cmd("c1 COPY 1:2 INBOX.Trash");
    assert!(r.contains("c1 OK [COPYUID "), "{r}");
    assert!(r.contains(" 1:2 1:2] COPY completed"), "{r}");
    let r = c.cmd("c2 UID MOVE 3 INBOX.Trash");
    assert!(r.contains("* OK [COPYUID "), "{r}");
    assert!(r.contains(" 3 3] moved\r\n"), "{r}");
    assert!(r.contains("* 3 EXPUNGE\r\n"), "{r}");
    assert!(r.ends_with("c2 OK MOVE completed\r\n"), "{r}");
    let r = c.cmd("c3 STATUS INBOX.Trash (MESSAGES)");
    assert!(r.contains("(MESSAGES 3)"), "{r}");
    // COPY's flags are kept.
    let r = c.cmd("c4 EXAMINE INBOX.Trash");
    assert!(r.contains("c4 OK [READ-ONLY]"), "{r}");
    let r = c.cmd("c5 FETCH 1 (FLAGS)");
    assert!(r.contains("FLAGS (\\Seen $Work"), "{r}");
    let r = c.cmd("c6 COPY 1 INBOX.nosuch");
    assert!(r.starts_with("c6 NO [TRYCREATE]"), "{r}");

    // UID EXPUNGE removes only the named \Deleted messages.
    assert!(c.cmd("d0 SELECT INBOX").contains("d0 OK"));
    let r = c.cmd("d1 STORE 1:3 +FLAGS.SILENT (\\Deleted)");
    assert_eq!(r, "d1 OK STORE completed\r\n");
    let r = c.cmd("d2 UID EXPUNGE 2");
    assert_eq!(r, "* 2 EXPUNGE\r\nd2 OK EXPUNGE completed\r\n");
    let r = c.cmd("d3 EXPUNGE");
    assert_eq!(
        r,
        "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\nd3 OK EXPUNGE completed\r\n"
    );
    let r = c.cmd("d4 UID FETCH 1:* (FLAGS)");
    assert_eq!(r, "d4 OK UID FETCH completed\r\n");
}

#[test]
fn close_after_examine_does_not_expunge() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    c.send(append_cmd("a1", "INBOX", "(\\Deleted)", &message("x", "y")).as_bytes());
    assert!(c.cmd("a2 EXAMINE INBOX").contains("a2 OK [READ-ONLY]"));
    let r = c.cmd("a3 STORE 1 +FLAGS (\\Seen)");
    assert!(r.starts_with("a3 NO"), "{r}");
    assert_eq!(c.cmd("a4 CLOSE"), "a4 OK CLOSE completed\r\n");
    let r = c.cmd("a5 STATUS INBOX (MESSAGES)");
    assert!(r.contains("(MESSAGES 1)"), "{r}");
    // FETCH BODY[] under EXAMINE does not set \Seen.
    c.cmd("a6 EXAMINE INBOX");
    let r = c.cmd("a7 FETCH 1 BODY[]");
    assert!(!r.contains("\\Seen"), "{r}");
    // SELECT + CLOSE does.
    c.cmd("a8 SELECT INBOX");
    assert_eq!(c.cmd("a9 CLOSE"), "a9 OK CLOSE completed\r\n");
    let r = c.cmd("b1 STATUS INBOX (MESSAGES)");
    assert!(r.contains("(MESSAGES 0)"), "{r}");
}

#[test]
fn fetch_body_sets_seen_and_peek_does_not() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    c.send(append_cmd("a1", "INBOX", "()", &message("one", "body one")).as_bytes());
    c.send(append_cmd("a2", "INBOX", "()", &message("two", "body two")).as_bytes());
    c.cmd("a3 SELECT INBOX");
    let r = c.cmd("a4 FETCH 1 BODY.PEEK[]");
    assert!(!r.contains("FLAGS"), "{r}");
    let r = c.cmd("a5 FETCH 2 BODY[]");
    assert!(r.contains("FLAGS (\\Seen \\Recent)"), "{r}");
    assert!(r.contains("body two"), "{r}");
    let r = c.cmd("a6 FETCH 1:2 (FLAGS)");
    assert!(r.contains("* 1 FETCH (FLAGS (\\Recent))"), "{r}");
    assert!(r.contains("* 2 FETCH (FLAGS (\\Seen \\Recent))"), "{r}");
    let r = c.cmd("a7 UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)]<0.5>)");
    assert!(
        r.contains("* 1 FETCH (UID 1 BODY[HEADER.FIELDS (Subject)]<0> {5}\r\nSubje)"),
        "{r}"
    );
    let r = c.cmd("a8 FETCH 1 RFC822.SIZE");
    assert!(r.contains("RFC822.SIZE "), "{r}");
    let r = c.cmd("a9 FETCH 3 FLAGS");
    assert!(r.starts_with("a9 BAD"), "{r}");
    let r = c.cmd("b1 FETCH 1 BODYSTRUCTURE");
    assert!(r.contains("BODYSTRUCTURE (\"text\" \"plain\""), "{r}");
}

#[test]
fn search_with_charset() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    c.send(append_cmd("a1", "INBOX", "()", &message("Grüße", "hallo welt")).as_bytes());
    c.send(append_cmd("a2", "INBOX", "(\\Seen)", &message("other", "nothing")).as_bytes());
    c.cmd("a3 SELECT INBOX");
    assert_eq!(
        c.cmd("s1 SEARCH UNSEEN"),
        "* SEARCH 1\r\ns1 OK SEARCH completed\r\n"
    );
    assert_eq!(
        c.cmd("s2 SEARCH CHARSET UTF-8 BODY welt"),
        "* SEARCH 1\r\ns2 OK SEARCH completed\r\n"
    );
    assert_eq!(
        c.cmd("s3 UID SEARCH SEEN"),
        "* SEARCH 2\r\ns3 OK UID SEARCH completed\r\n"
    );
    let r = c.cmd("s4 SEARCH CHARSET FOO SUBJECT x");
    assert!(r.starts_with("s4 NO [BADCHARSET"), "{r}");
    let r = c.send(b"s5 SEARCH CHARSET UTF-8 SUBJECT {6+}\r\nGr\xc3\xbc\xc3\x9f\r\n");
    assert_eq!(r, "* SEARCH 1\r\ns5 OK SEARCH completed\r\n");
}

#[test]
fn enable_id_unselect_check() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    assert_eq!(
        c.cmd("e1 ENABLE UTF8=ACCEPT"),
        "* ENABLED\r\ne1 OK ENABLE completed\r\n"
    );
    let r = c.cmd("e2 ID (\"name\" \"mutt\")");
    assert!(r.starts_with("* ID (\"name\" \"postroom\""), "{r}");
    c.cmd("e3 SELECT INBOX");
    assert_eq!(c.cmd("e4 CHECK"), "e4 OK CHECK completed\r\n");
    assert_eq!(c.cmd("e5 UNSELECT"), "e5 OK UNSELECT completed\r\n");
    let r = c.cmd("e6 FETCH 1 FLAGS");
    assert!(r.starts_with("e6 BAD"), "{r}");
}

#[test]
fn bad_input_does_not_harm_the_session() {
    let env = Env::new(USERS);
    let mut c = env.client();
    let r = c.cmd("x1 FROBNICATE");
    assert!(r.starts_with("x1 BAD"), "{r}");
    let r = c.cmd("x2 SELECT INBOX");
    assert!(r.starts_with("x2 BAD"), "{r}");
    // A 4 GiB literal announcement is refused before any `+`.
    let r = c.cmd("x3 LOGIN alice {4294967296}");
    assert!(!r.starts_with('+'), "{r}");
    assert!(r.contains("x3 BAD") || r.contains("x3 NO"), "{r}");
    // A 1 MiB line.
    let mut line = b"x4 NOOP ".to_vec();
    line.resize(1 << 20, b'a');
    line.extend_from_slice(b"\r\n");
    let r = c.send(&line);
    assert!(r.contains("BAD"), "{r}");
    let r = c.cmd("x5 LOGIN alice secret");
    assert!(r.starts_with("x5 OK"), "{r}");
    // And after login: a 4 GiB APPEND.
    let r = c.cmd("x6 APPEND INBOX {4294967296}");
    assert!(!r.starts_with('+'), "{r}");
    assert!(r.contains("x6 BAD") || r.contains("x6 NO"), "{r}");
    let r = c.cmd("x7 NOOP");
    assert_eq!(r, "x7 OK NOOP completed\r\n");
    let r = c.cmd("x8 LOGIN alice secret");
    assert!(r.starts_with("x8 BAD"), "{r}");
    let r = c.cmd("x9 FETCH 1 FLAGS");
    assert!(r.starts_with("x9 BAD"), "{r}");
    assert_eq!(c.cmd("y1 NOOP"), "y1 OK NOOP completed\r\n");
}

#[test]
fn appendlimit_is_enforced() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    let r = c.cmd("a1 CAPABILITY");
    let limit: u64 = r
        .split("APPENDLIMIT=")
        .nth(1)
        .unwrap()
        .split([' ', '\r'])
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let r = c.cmd(&format!("a2 APPEND INBOX {{{}}}", limit + 1));
    assert!(!r.starts_with('+'), "{r}");
    assert!(r.contains("a2 NO") || r.contains("a2 BAD"), "{r}");
    assert_eq!(c.cmd("a3 NOOP"), "a3 OK NOOP completed\r\n");
}

#[test]
fn deferred_password_check_holds_pipelined_commands() {
    let env = Env::new(USERS);
    let mut c = env.client();
    c.s.set_deferred_password_checks(true);
    let r = c.send(b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n");
    assert_eq!(r, "");
    let check = c.s.poll_password_check().expect("a check is waiting");
    assert!(c.s.poll_password_check().is_none());
    // Runs anywhere, e.g. on a worker thread.
    let verdict = std::thread::spawn(move || check.run()).join().unwrap();
    c.s.handle_password_checked(verdict);
    let r = c.read();
    assert!(r.starts_with("a1 OK [CAPABILITY"), "{r}");
    assert!(r.contains("a2 OK [READ-WRITE]"), "{r}");

    let mut c = env.client();
    c.s.set_deferred_password_checks(true);
    c.cmd("b1 LOGIN alice nope");
    let verdict = c.s.poll_password_check().unwrap().run();
    c.s.handle_password_checked(verdict);
    assert!(c.read().starts_with("b1 NO [AUTHENTICATIONFAILED]"));
    assert!(
        c.actions
            .iter()
            .any(|a| matches!(a, SessionAction::LoginFailed { .. }))
    );
}

#[test]
fn large_fetch_is_answered_as_output_drains() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    let body = "x".repeat(100 * 1024);
    for i in 0..8 {
        let r =
            c.send(append_cmd(&format!("p{i}"), "INBOX", "()", &message("big", &body)).as_bytes());
        assert!(r.contains("OK"), "{r}");
    }
    c.cmd("s1 SELECT INBOX");
    c.s.handle_input(b"f1 FETCH 1:* BODY.PEEK[]\r\nn1 NOOP\r\n");
    // The first part stays within the budget; the tag comes at the end.
    let mut first = Vec::new();
    c.s.poll_transmit(&mut first);
    assert!(first.len() < 512 * 1024, "{}", first.len());
    assert!(!first.windows(5).any(|w| w == b"f1 OK"));
    let rest = c.read();
    let all = format!("{}{rest}", String::from_utf8_lossy(&first));
    assert_eq!(all.matches(" FETCH (BODY[] {").count(), 8);
    assert!(
        all.contains("f1 OK FETCH completed\r\nn1 OK NOOP completed\r\n"),
        "tail"
    );
}

/// The same client bytes in any chunking give the same answers; garbage
/// never panics the session.
#[test]
fn chunking_does_not_change_answers_and_garbage_is_survived() {
    let script = concat!(
        "a1 LOGIN alice secret\r\n",
        "a2 CREATE INBOX.x\r\n",
        "a3 APPEND INBOX.x (\\Seen) {11+}\r\nSubject: x\r\n\r\n",
        "a4 SELECT INBOX.x\r\n",
        "a5 FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
        "a6 STORE 1 +FLAGS (\\Flagged)\r\n",
        "a7 SEARCH FLAGGED\r\n",
        "a8 LIST \"\" *\r\n",
        "a9 LOGOUT\r\n",
    );
    let tagged = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with('a'))
            .map(|l| l.split(" [").next().unwrap_or(l).to_owned())
            .collect()
    };
    let whole = {
        let env = Env::new(USERS);
        let mut c = env.client();
        tagged(&c.send(script.as_bytes()))
    };
    assert_eq!(whole.len(), 9, "{whole:?}");
    for step in [1usize, 2, 3, 7, 64] {
        let env = Env::new(USERS);
        let mut c = env.client();
        let mut out = String::new();
        for chunk in script.as_bytes().chunks(step) {
            out.push_str(&c.send(chunk));
        }
        assert_eq!(tagged(&out), whole, "chunk size {step}");
    }

    // Pseudo-random garbage (a fixed xorshift sequence) mixed with valid
    // commands: the session answers and keeps working.
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..200 {
        let mut junk = Vec::new();
        for _ in 0..(x % 200) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            junk.push(b" aA1(){}*%\\\"\r\n+-.[]<>~\x00\xff"[(x % 22) as usize]);
        }
        c.send(&junk);
        c.send(b"\r\n");
        if round % 50 == 0 {
            // Too many BADs in a row close the connection; start afresh.
            c = env.login("alice", "secret");
        }
    }
    let mut c = env.login("alice", "secret");
    assert_eq!(c.cmd("z1 NOOP"), "z1 OK NOOP completed\r\n");
}

#[test]
fn autologout_after_thirty_minutes_even_in_idle() {
    let env = Env::new(USERS);
    let mut c = env.login("alice", "secret");
    c.cmd("a1 SELECT INBOX");
    assert_eq!(c.cmd("a2 IDLE"), "+ idling\r\n");
    let t0 = std::time::Instant::now();
    c.tick(t0);
    let r = c.tick(t0 + std::time::Duration::from_secs(29 * 60));
    assert!(!r.contains("BYE"), "{r}");
    let r = c.tick(t0 + std::time::Duration::from_secs(31 * 60));
    assert!(r.contains("* BYE"), "{r}");
    assert!(c.actions.contains(&SessionAction::Close));
    assert_eq!(c.s.next_timeout(), None);
}

/// SELECT's FLAGS lists the keywords in use, each once, after the system
/// flags (RFC 3501 §7.2.6), in the order of their first use by UID.
#[test]
fn select_flags_list_the_keywords_in_use_once() {
    let env = Env::new(USERS);
    let mut c = env.client();
    c.cmd("a1 LOGIN alice secret");
    for (i, flags) in ["(project)", "($Junk project)", "(\\Seen later)"]
        .iter()
        .enumerate()
    {
        let msg = message(&format!("m{i}"), "body");
        let r = c.send(append_cmd(&format!("b{i}"), "INBOX", flags, &msg).as_bytes());
        assert!(r.contains(&format!("b{i} OK [APPENDUID ")), "{r}");
    }
    let r = c.cmd("a2 SELECT INBOX");
    assert!(
        r.contains(
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft project $Junk later)\r\n"
        ),
        "{r}"
    );
}
