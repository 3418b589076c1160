//! The POP3 session replayed without sockets: RFC 1939's example, STLS,
//! pipelining, logins, wrong states, limits, locking, errors, autologout.

mod pop3_support;

use std::sync::Arc;
use std::time::Duration;

use md5::{Digest, Md5};
use pop3_support::{Client, config_for, loopback, remote, split_multiline};
use postroom_mailbox::{FlagSet, Mailbox, MailboxError, MemoryStore, Store};
use postroom_pop3::SessionState;
use postroom_server::pop3::{Action, Config, ConnectionContext, Notice, PlaintextAuth};
use postroom_types::MailboxName;

fn store_with(messages: &[&[u8]]) -> (Arc<MemoryStore>, Arc<Mailbox>) {
    let store = Arc::new(MemoryStore::new());
    let inbox = store.open(&MailboxName::inbox()).expect("INBOX exists");
    for m in messages {
        inbox.append(m, &FlagSet::new(), None).expect("append");
    }
    (store, inbox)
}

fn client(store: &Arc<MemoryStore>, context: ConnectionContext) -> Client {
    let mut c = Client::new(config_for(store.clone()), context);
    let greeting = c.greeting();
    assert!(
        greeting.starts_with("+OK POP3 server ready <"),
        "{greeting}"
    );
    c
}

/// A message of exactly `size` octets (CRLF line ends).
fn message_of(size: usize, tag: &str) -> Vec<u8> {
    let mut m = format!("Subject: {tag}\r\n\r\n").into_bytes();
    while m.len() + 4 <= size {
        m.extend_from_slice(b"ab\r\n");
    }
    while m.len() < size {
        m.insert(m.len() - 2, b'x');
    }
    assert_eq!(m.len(), size);
    m
}

fn apop_digest(timestamp: &str, secret: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(timestamp.as_bytes());
    md5.update(secret.as_bytes());
    md5.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn rfc1939_example_session() {
    // RFC 1939 §10, with the timestamp this session sent.
    let m1 = message_of(120, "one");
    let m2 = message_of(200, "two");
    let (store, inbox) = store_with(&[&m1, &m2]);
    let mut c = client(&store, ConnectionContext::plain(loopback()));
    let digest = apop_digest(c.session.apop_timestamp(), "tanstaaf");
    assert_eq!(
        c.send(&format!("APOP mrose {digest}\r\n")),
        "+OK maildrop has 2 messages (320 octets)\r\n"
    );
    assert_eq!(c.send("STAT\r\n"), "+OK 2 320\r\n");
    assert_eq!(
        c.send("LIST\r\n"),
        "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"
    );
    let (status, body) = c.multiline("RETR 1\r\n");
    assert_eq!(
        (status.as_str(), body.as_slice()),
        ("+OK 120 octets\r\n", &m1[..])
    );
    assert_eq!(c.send("DELE 1\r\n"), "+OK message 1 deleted\r\n");
    let (status, body) = c.multiline("RETR 2\r\n");
    assert_eq!(
        (status.as_str(), body.as_slice()),
        ("+OK 200 octets\r\n", &m2[..])
    );
    assert_eq!(c.send("DELE 2\r\n"), "+OK message 2 deleted\r\n");
    assert_eq!(c.send("QUIT\r\n"), "+OK bye, 2 messages deleted\r\n");
    assert!(c.session.is_closed());
    assert_eq!(c.actions, [Action::Close]);
    assert!(inbox.is_empty(), "the maildrop is empty after UPDATE");
}

#[test]
fn capa_before_and_after_login() {
    let (store, _inbox) = store_with(&[]);
    let mut c = client(&store, ConnectionContext::starttls(loopback()));
    let before = c.send("CAPA\r\n");
    let implementation = format!("IMPLEMENTATION postroom {}\r\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        before,
        format!(
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n\
             AUTH-RESP-CODE\r\nUSER\r\nSASL PLAIN LOGIN\r\nSTLS\r\n{implementation}.\r\n"
        )
    );
    c.login("alice", "secret");
    assert_eq!(
        c.send("CAPA\r\n"),
        format!(
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n\
             AUTH-RESP-CODE\r\n{implementation}.\r\n"
        )
    );
}

#[test]
fn stls_discards_a_pipelined_command() {
    let (store, _inbox) = store_with(&[b"Subject: a\r\n\r\nx\r\n"]);
    let mut c = client(&store, ConnectionContext::starttls(remote()));
    let capa = c.send("CAPA\r\n");
    assert!(capa.contains("\r\nSTLS\r\n"), "{capa}");
    assert!(!capa.contains("USER") && !capa.contains("SASL"), "{capa}");
    // Plaintext would let an attacker inject USER into the TLS session.
    assert_eq!(
        c.send("STLS\r\nUSER alice\r\n"),
        "+OK Begin TLS negotiation\r\n"
    );
    assert_eq!(c.actions, [Action::StartTls]);
    // Nothing more until the handshake, even if more plaintext comes.
    assert_eq!(c.send("PASS secret\r\n"), "");
    c.session.handle_tls_started();
    assert!(c.session.is_tls_active());
    assert_eq!(c.text(), "", "the pipelined USER was not executed");
    assert_eq!(c.session.state(), SessionState::Authorization);
    let capa = c.send("CAPA\r\n");
    assert!(capa.contains("\r\nUSER\r\nSASL PLAIN LOGIN\r\n"), "{capa}");
    assert!(!capa.contains("STLS"), "{capa}");
    assert!(c.send("STLS\r\n").starts_with("-ERR "));
    c.login("alice", "secret");
}

#[test]
fn implicit_tls_offers_no_stls_and_allows_plaintext() {
    let (store, _inbox) = store_with(&[]);
    let mut config = config_for(store.clone());
    config.plaintext = PlaintextAuth::Never;
    let mut c = Client::new(config, ConnectionContext::implicit_tls(remote()));
    c.greeting();
    let capa = c.send("CAPA\r\n");
    assert!(!capa.contains("STLS") && capa.contains("USER"), "{capa}");
    assert!(c.send("STLS\r\n").starts_with("-ERR "));
    c.login("alice", "secret");
}

#[test]
fn stls_is_refused_when_the_driver_cannot_start_tls() {
    let (store, _inbox) = store_with(&[]);
    let mut c = client(&store, ConnectionContext::plain(loopback()));
    assert!(!c.send("CAPA\r\n").contains("STLS"));
    assert_eq!(c.send("STLS\r\n"), "-ERR STLS not available\r\n");
    assert!(c.actions.is_empty());
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let m1: &[u8] = b"Subject: one\n\n.dot\nline\n";
    let m2: &[u8] = b"Subject: two\r\n\r\nbody\r\n";
    let (store, inbox) = store_with(&[m1, m2]);
    let mut config = config_for(store.clone());
    // Small chunks: RETR takes many poll_transmit calls, and the commands
    // behind it must wait for its terminator.
    config.chunk_size = 5;
    let mut c = Client::new(config, ConnectionContext::plain(loopback()));
    c.greeting();
    let all = c.send(
        "USER alice\r\nPASS secret\r\nSTAT\r\nRETR 1\r\nLIST 2\r\nTOP 2 0\r\nUIDL 1\r\nDELE 2\r\nSTAT\r\nNOOP\r\nQUIT\r\n",
    );
    let uidl = format!("+OK 1 {:08x}{:08x}", 1, inbox.uid_validity().get());
    let lines: Vec<&str> = all.split("\r\n").collect();
    assert_eq!(
        lines[..lines.len() - 1],
        [
            "+OK send PASS",
            "+OK maildrop has 2 messages (50 octets)",
            "+OK 2 50",
            "+OK 28 octets",
            "Subject: one",
            "",
            "..dot",
            "line",
            ".",
            "+OK 2 22",
            "+OK top of message follows",
            "Subject: two",
            "",
            ".",
            &uidl,
            "+OK message 2 deleted",
            "+OK 1 28",
            "+OK",
            "+OK bye, 1 messages deleted",
        ][..]
    );
    assert!(c.session.is_closed());
}

#[test]
fn wrong_password() {
    let (store, _inbox) = store_with(&[]);
    let mut c = client(&store, ConnectionContext::plain(loopback()));
    // The answer to the failed PASS waits for the delay; the command
    // pipelined behind it is not read until the driver took it.
    c.session
        .handle_input(c.now, b"USER alice\r\nPASS wrong\r\nUSER alice\r\n");
    let mut out = Vec::new();
    c.session.poll_transmit(&mut out);
    assert_eq!(
        out,
        b"+OK send PASS\r\n-ERR [AUTH] authentication failed\r\n"
    );
    assert_eq!(
        c.session.poll_action(),
        Some(Action::Delay(Duration::from_millis(1500)))
    );
    assert_eq!(c.text(), "+OK send PASS\r\n");
    assert_eq!(
        c.session.poll_notice(),
        Some(Notice::LoginFailed {
            user: Some("alice".into()),
            method: "USER"
        })
    );
    // Unknown users get the same answer.
    assert_eq!(
        c.send("PASS x\r\n"),
        "-ERR [AUTH] authentication failed\r\n"
    );
    assert_eq!(c.session.state(), SessionState::Authorization);
    // The third failure closes the connection.
    assert_eq!(
        c.send("USER nobody\r\nPASS x\r\n"),
        "+OK send PASS\r\n-ERR [AUTH] authentication failed\r\n"
    );
    assert!(c.session.is_closed());
    let delay = Action::Delay(Duration::from_millis(1500));
    assert_eq!(c.actions, [delay, delay, Action::Close]);
}

#[test]
fn wrong_apop_and_sasl_credentials() {
    let (store, _inbox) = store_with(&[]);
    let mut config = config_for(store.clone());
    config.login_delay = Duration::ZERO;
    config.max_login_failures = 10;
    let mut c = Client::new(config, ConnectionContext::plain(loopback()));
    c.greeting();
    let wrong = apop_digest(c.session.apop_timestamp(), "not-the-secret");
    let fail = "-ERR [AUTH] authentication failed\r\n";
    assert_eq!(c.send(&format!("APOP mrose {wrong}\r\n")), fail);
    // A digest for another greeting's timestamp is a replay.
    let replay = apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf");
    assert_eq!(c.send(&format!("APOP mrose {replay}\r\n")), fail);
    // AUTH PLAIN with a wrong password, and asking to act as another user.
    assert_eq!(c.send("AUTH PLAIN AGFsaWNlAHdyb25n\r\n"), fail);
    assert_eq!(c.send("AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==\r\n"), fail);
    assert_eq!(c.send("AUTH LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
    assert_eq!(c.send("YWxpY2U=\r\n"), "+ UGFzc3dvcmQ6\r\n");
    assert_eq!(c.send("d3Jvbmc=\r\n"), fail);
    assert!(c.send("AUTH CRAM-MD5\r\n").starts_with("-ERR "));
    assert_eq!(c.send("AUTH PLAIN\r\n"), "+ \r\n");
    assert!(c.send("*\r\n").starts_with("-ERR "));
    assert!(c.actions.is_empty(), "no delay configured");
    assert_eq!(c.session.state(), SessionState::Authorization);
}

#[test]
fn good_apop_and_sasl_logins() {
    let (store, _inbox) = store_with(&[]);
    let mut c = client(&store, ConnectionContext::plain(loopback()));
    // AUTH PLAIN with an initial response: "\0alice\0secret".
    assert_eq!(
        c.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
        "+OK maildrop has 0 messages (0 octets)\r\n"
    );
    c.send("QUIT\r\n");

    let mut c = client(&store, ConnectionContext::plain(loopback()));
    assert_eq!(c.send("AUTH PLAIN\r\n"), "+ \r\n");
    assert!(
        c.send("AGFsaWNlAHNlY3JldA==\r\n")
            .starts_with("+OK maildrop")
    );
    c.send("QUIT\r\n");

    let mut c = client(&store, ConnectionContext::plain(loopback()));
    assert_eq!(c.send("AUTH LOGIN YWxpY2U=\r\n"), "+ UGFzc3dvcmQ6\r\n");
    assert!(c.send("c2VjcmV0\r\n").starts_with("+OK maildrop"));
    assert_eq!(
        c.session.poll_notice(),
        Some(Notice::LoggedIn {
            user: "alice".into(),
            method: "LOGIN"
        })
    );
    c.send("QUIT\r\n");

    let mut c = client(&store, ConnectionContext::plain(remote()));
    let digest = apop_digest(c.session.apop_timestamp(), "secret");
    // APOP sends no password, so it is allowed without TLS.
    assert!(
        c.send(&format!("APOP alice {digest}\r\n"))
            .starts_with("+OK maildrop")
    );
    assert_eq!(c.session.user().map(|u| u.name()), Some("alice"));
}

#[test]
fn plaintext_is_refused_outside_tls_unless_allowed() {
    let (store, _inbox) = store_with(&[]);
    let mut c = client(&store, ConnectionContext::starttls(remote()));
    let refused = "-ERR [AUTH] plaintext authentication disallowed without TLS\r\n";
    assert_eq!(c.send("USER alice\r\n"), refused);
    assert!(c.send("PASS secret\r\n").starts_with("-ERR "));
    assert_eq!(c.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), refused);
    assert_eq!(c.send("AUTH LOGIN\r\n"), refused);

    let mut config = config_for(store.clone());
    config.plaintext = PlaintextAuth::Always;
    let mut c = Client::new(config, ConnectionContext::plain(remote()));
    c.greeting();
    c.login("alice", "secret");

    let mut config = config_for(store.clone());
    config.plaintext = PlaintextAuth::Never;
    let mut c = Client::new(config, ConnectionContext::plain(loopback()));
    c.greeting();
    assert_eq!(c.send("USER alice\r\n"), refused);
}

#[test]
fn commands_in_the_wrong_state() {
    let (store, _inbox) = store_with(&[b"Subject: a\r\n\r\nx\r\n"]);
    let mut c = client(&store, ConnectionContext::starttls(loopback()));
    for command in [
        "STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "UIDL", "TOP 1 1",
    ] {
        let answer = c.send(&format!("{command}\r\n"));
        assert!(
            answer.starts_with("-ERR ") && answer.ends_with("\r\n"),
            "{command}: {answer}"
        );
        assert_eq!(answer.matches("\r\n").count(), 1, "{command}: {answer}");
    }
    assert!(
        c.send("PASS secret\r\n").starts_with("-ERR "),
        "PASS without USER"
    );
    c.login("alice", "secret");
    for command in [
        "USER alice",
        "PASS secret",
        "STLS",
        "AUTH PLAIN",
        "APOP alice 0123456789abcdef0123456789abcdef",
    ] {
        let answer = c.send(&format!("{command}\r\n"));
        assert!(
            answer.starts_with("-ERR ") && answer.ends_with("\r\n"),
            "{command}: {answer}"
        );
    }
    assert_eq!(c.session.state(), SessionState::Transaction);
    assert_eq!(c.send("STAT\r\n"), "+OK 1 17\r\n");
}

#[test]
fn message_numbers_that_are_deleted_or_missing() {
    let (store, inbox) = store_with(&[b"Subject: a\r\n\r\nx\r\n", b"Subject: b\r\n\r\ny\r\n"]);
    let mut c = client(&store, ConnectionContext::plain(loopback()));
    c.login("alice", "secret");
    assert_eq!(c.send("DELE 1\r\n"), "+OK message 1 deleted\r\n");
    for command in ["DELE 1", "RETR 1", "LIST 1", "UIDL 1", "TOP 1 0"] {
        assert_eq!(
            c.send(&format!("{command}\r\n")),
            "-ERR message 1 is deleted\r\n"
        );
    }
    assert_eq!(c.send("LIST 3\r\n"), "-ERR no message 3\r\n");
    assert_eq!(
        c.send("LIST\r\n"),
        "+OK 1 messages (17 octets)\r\n2 17\r\n.\r\n"
    );
    assert_eq!(c.send("STAT\r\n"), "+OK 1 17\r\n");
    assert_eq!(
        c.send("RSET\r\n"),
        "+OK maildrop has 2 messages (34 octets)\r\n"
    );
    assert_eq!(c.send("STAT\r\n"), "+OK 2 34\r\n");
    assert_eq!(c.send("DELE 2\r\n"), "+OK message 2 deleted\r\n");
    assert_eq!(c.send("QUIT\r\n"), "+OK bye, 1 messages deleted\r\n");
    let left: Vec<u32> = inbox.messages().iter().map(|m| m.uid.get()).collect();
    assert_eq!(left, [1], "exactly the marked message was removed");
}

#[test]
fn an_over_long_line_is_refused_and_the_session_goes_on() {
    let (store, _inbox) = store_with(&[]);
    let mut c = client(&store, ConnectionContext::plain(loopback()));
    let long = format!("USER {}\r\n", "a".repeat(300));
    let answer = c.send(&long);
    assert!(answer.starts_with("-ERR line too long"), "{answer}");
    assert_eq!(answer.matches("\r\n").count(), 1);
    // Arriving in pieces changes nothing.
    c.session.handle_input(c.now, &long.as_bytes()[..200]);
    c.session.handle_input(c.now, &long.as_bytes()[200..]);
    assert!(c.text().starts_with("-ERR line too long"));
    c.login("alice", "secret");
    assert_eq!(c.send("NOOP\r\n"), "+OK\r\n");
}

#[test]
fn a_second_session_gets_in_use() {
    let (store, _inbox) = store_with(&[b"Subject: a\r\n\r\nx\r\n"]);
    let mut first = client(&store, ConnectionContext::plain(loopback()));
    first.login("alice", "secret");
    let mut second = client(&store, ConnectionContext::plain(loopback()));
    assert_eq!(
        second.send("USER alice\r\nPASS secret\r\n"),
        "+OK send PASS\r\n-ERR [IN-USE] maildrop is locked by another POP3 session\r\n"
    );
    assert_eq!(second.session.state(), SessionState::Authorization);
    assert!(
        second.actions.is_empty(),
        "no delay: the credentials were good"
    );
    assert_eq!(first.send("QUIT\r\n"), "+OK bye, 0 messages deleted\r\n");
    second.login("alice", "secret");
}

#[test]
fn a_dropped_session_releases_the_lock_and_deletes_nothing() {
    let (store, inbox) = store_with(&[b"Subject: a\r\n\r\nx\r\n"]);
    let mut first = client(&store, ConnectionContext::plain(loopback()));
    first.login("alice", "secret");
    first.send("DELE 1\r\n");
    drop(first);
    assert_eq!(inbox.len(), 1);
    let mut second = client(&store, ConnectionContext::plain(loopback()));
    second.login("alice", "secret");
}

#[test]
fn store_errors_are_sys_temp() {
    let users = postroom_server::users::UserDb::parse(pop3_support::USERS).expect("valid");
    let config = Config::new(
        Arc::new(users),
        |_user: &postroom_server::users::UserEntry| -> Result<Arc<Mailbox>, MailboxError> {
            Err(MailboxError::Io {
                path: "/nonexistent".into(),
                source: std::io::Error::other("disk on fire"),
            })
        },
    );
    let mut c = Client::new(config, ConnectionContext::plain(loopback()));
    c.greeting();
    assert_eq!(
        c.send("USER alice\r\nPASS secret\r\n"),
        "+OK send PASS\r\n-ERR [SYS/TEMP] maildrop unavailable, try again later\r\n"
    );
    assert!(matches!(
        c.session.poll_notice(),
        Some(Notice::StoreError {
            context: "opening the maildrop",
            ..
        })
    ));
    assert_eq!(c.session.state(), SessionState::Authorization);
}

#[test]
fn autologout_after_ten_minutes_without_update() {
    let (store, inbox) = store_with(&[b"Subject: a\r\n\r\nx\r\n"]);
    let mut config = config_for(store.clone());
    // Shorter than RFC 1939 allows: raised to 10 minutes.
    config.autologout = Duration::from_secs(60);
    let mut c = Client::new(config, ConnectionContext::plain(loopback()));
    c.greeting();
    c.login("alice", "secret");
    c.send("DELE 1\r\n");
    let start = c.now;
    assert_eq!(
        c.session.next_timeout(),
        Some(start + Duration::from_secs(600))
    );
    c.session.handle_timeout(start + Duration::from_secs(599));
    assert!(!c.session.is_closed());
    // Input moves the deadline.
    c.now = start + Duration::from_secs(300);
    assert_eq!(c.send("NOOP\r\n"), "+OK\r\n");
    c.session.handle_timeout(start + Duration::from_secs(601));
    assert!(!c.session.is_closed());
    c.session.handle_timeout(start + Duration::from_secs(900));
    assert!(c.session.is_closed());
    assert_eq!(c.text(), "", "POP3 says nothing on autologout");
    assert_eq!(c.actions, [Action::Close]);
    assert_eq!(c.session.next_timeout(), None);
    assert_eq!(inbox.len(), 1, "no UPDATE: the marked message stays");
    // The lock is released.
    let mut again = client(&store, ConnectionContext::plain(loopback()));
    again.login("alice", "secret");
}

#[test]
fn a_large_retr_is_streamed_in_chunks() {
    let big: Vec<u8> = {
        let mut m = b"Subject: big\n\n".to_vec();
        for i in 0..100_000 {
            m.extend_from_slice(format!(".line {i}\n").as_bytes());
        }
        m
    };
    let (store, _inbox) = store_with(&[&big]);
    let mut c = client(&store, ConnectionContext::plain(loopback()));
    c.login("alice", "secret");
    c.session.handle_input(c.now, b"RETR 1\r\nNOOP\r\n");
    let mut wire = Vec::new();
    let mut calls = 0;
    loop {
        let mut out = Vec::new();
        let n = c.session.poll_transmit(&mut out);
        if n == 0 {
            break;
        }
        // One 64 KiB chunk grows by CRLF and stuffing, never by much.
        assert!(n <= 2 * 64 * 1024, "{n} octets in one call");
        wire.extend_from_slice(&out);
        calls += 1;
    }
    assert!(calls > 10, "{calls} calls");
    let noop = b"+OK\r\n";
    assert!(wire.ends_with(noop));
    let (status, body) = split_multiline(&wire[..wire.len() - noop.len()]);
    let crlf = postroom_mailbox::message::to_crlf(&big).into_owned();
    assert_eq!(status, format!("+OK {} octets\r\n", crlf.len()));
    assert_eq!(body, crlf);
}

#[test]
fn flooding_input_during_a_retr_closes_cleanly() {
    let big = message_of(200_000, "big");
    let (store, inbox) = store_with(&[&big]);
    let mut config = config_for(store.clone());
    config.chunk_size = 1000;
    let mut c = Client::new(config, ConnectionContext::plain(loopback()));
    c.greeting();
    c.login("alice", "secret");
    c.session.handle_input(c.now, b"RETR 1\r\n");
    let mut out = Vec::new();
    c.session.poll_transmit(&mut out);
    // The client pipelines far more than the codec buffers.
    c.session.handle_input(c.now, &b"NOOP\r\n".repeat(20_000));
    let rest = c.text();
    assert!(c.session.is_closed());
    assert!(
        rest.ends_with("-ERR too much unprocessed input\r\n"),
        "{}",
        &rest[rest.len().saturating_sub(80)..]
    );
    assert_eq!(c.actions, [Action::Close]);
    let flags = &inbox.messages()[0].flags;
    assert!(!flags.is_seen(), "an interrupted RETR does not mark \\Seen");
}

#[test]
fn logins_can_be_checked_off_the_session() {
    let (store, _inbox) = store_with(&[b"Subject: a\r\n\r\nx\r\n"]);
    let mut config = config_for(store.clone());
    config.offload_logins = true;
    let mut c = Client::new(config, ConnectionContext::plain(loopback()));
    c.greeting();
    // The pipelined STAT waits for the login's outcome.
    assert_eq!(
        c.send("USER alice\r\nPASS wrong\r\nUSER alice\r\nPASS secret\r\nSTAT\r\n"),
        "+OK send PASS\r\n"
    );
    let job = c.session.poll_login_job().expect("a login to check");
    assert!(c.session.poll_login_job().is_none());
    assert!(format!("{job:?}").contains("alice") && !format!("{job:?}").contains("wrong"));
    c.session.handle_login_done(job.run());
    assert_eq!(
        c.text(),
        "-ERR [AUTH] authentication failed\r\n+OK send PASS\r\n"
    );
    assert_eq!(c.actions, [Action::Delay(Duration::from_millis(1500))]);
    let job = c.session.poll_login_job().expect("the second login");
    c.session.handle_login_done(job.run());
    assert_eq!(
        c.text(),
        "+OK maildrop has 1 messages (17 octets)\r\n+OK 1 17\r\n"
    );
    assert_eq!(c.session.state(), SessionState::Transaction);
    // An outcome nobody asked for changes nothing.
    let (other, _inbox) = store_with(&[]);
    let mut d = Client::new(config_for(other), ConnectionContext::plain(loopback()));
    d.greeting();
    let mut offload = config_for(store.clone());
    offload.offload_logins = true;
    let mut e = Client::new(offload, ConnectionContext::plain(loopback()));
    e.greeting();
    e.send("USER bob\r\nPASS hunter2\r\n");
    let job = e.session.poll_login_job().expect("bob's login");
    d.session.handle_login_done(job.run());
    assert_eq!(d.text(), "");
    assert_eq!(d.session.state(), SessionState::Authorization);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any chunking of the same pipelined input gives the same answers.
    #[test]
    fn chunking_does_not_change_the_answers(cuts in proptest::collection::vec(1usize..40, 1..40)) {
        let script = "CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL\r\n\
                      RETR 1\r\nTOP 2 1\r\nDELE 1\r\nLIST 1\r\nRSET\r\nRETR 2\r\nNOOP\r\nQUIT\r\n";
        let m1: &[u8] = b"Subject: one\n\n.dot\n..two\n.\nend";
        let m2: &[u8] = b"Subject: two\r\n\r\nx\r\ny\r\n";
        // One store for both runs: its UIDVALIDITY comes from the clock, so
        // two stores made across a second boundary would differ in UIDL.
        // The script deletes nothing (RSET before QUIT), so the runs see the
        // same maildrop.
        let (store, _inbox) = store_with(&[m1, m2]);
        let transcript = |pieces: &[&[u8]]| {
            let mut config = config_for(store.clone());
            config.chunk_size = 3;
            let mut c = Client::new(config, ConnectionContext::plain(loopback()));
            c.greeting();
            let mut all = Vec::new();
            for piece in pieces {
                c.session.handle_input(c.now, piece);
                all.extend(c.drain());
            }
            assert!(c.session.is_closed());
            all
        };
        let whole = transcript(&[script.as_bytes()]);
        let mut pieces = Vec::new();
        let mut rest = script.as_bytes();
        for cut in cuts {
            if rest.is_empty() {
                break;
            }
            let (a, b) = rest.split_at(cut.min(rest.len()));
            pieces.push(a);
            rest = b;
        }
        pieces.push(rest);
        proptest::prop_assert_eq!(transcript(&pieces), whole);
    }
}
