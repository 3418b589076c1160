//! Transcripts replayed through the sans-IO server connection.

use std::time::{Duration, Instant};

use postroom_imap::command::{Atom, Command, Tag};
use postroom_imap::error::FrameError;
use postroom_imap::response::{Code, Data, StatusKind};
use postroom_imap::server::{ServerConfig, ServerConnection, ServerError, ServerEvent, State};

fn config() -> ServerConfig {
    let caps = ["IMAP4rev1", "LITERAL+", "SASL-IR", "AUTH=PLAIN", "IDLE"]
        .iter()
        .map(|c| Atom::new(*c).unwrap())
        .collect();
    let mut c = ServerConfig::new(caps);
    c.starttls = true;
    c
}

struct H {
    conn: ServerConnection,
}

impl H {
    fn new() -> H {
        H::with(config())
    }

    fn with(c: ServerConfig) -> H {
        let mut h = H {
            conn: ServerConnection::new(c),
        };
        let greeting = h.out();
        assert!(
            greeting.starts_with("* OK [CAPABILITY IMAP4rev1"),
            "{greeting}"
        );
        h
    }

    fn out(&mut self) -> String {
        let mut v = Vec::new();
        self.conn.poll_transmit(&mut v);
        String::from_utf8(v).unwrap()
    }

    fn feed(&mut self, input: &[u8]) -> Vec<ServerEvent> {
        self.conn.handle_input(input);
        let mut ev = Vec::new();
        while let Some(e) = self.conn.poll_event() {
            ev.push(e);
        }
        ev
    }

    /// Feeds a command, expects exactly one Command event and completes it
    /// with `kind`.
    fn run(&mut self, input: &[u8], kind: StatusKind) -> (Command, String) {
        let mut ev = self.feed(input);
        assert_eq!(ev.len(), 1, "{ev:?}");
        let Some(ServerEvent::Command { tag, command }) = ev.pop() else {
            panic!("{ev:?}")
        };
        self.conn.complete(&tag, kind, None, "done");
        (command, self.out())
    }

    fn login(&mut self) {
        let (_, out) = self.run(b"a LOGIN u p\r\n", StatusKind::Ok);
        assert_eq!(out, "a OK done\r\n");
        assert_eq!(self.conn.state(), State::Authenticated);
    }
}

fn tag(s: &str) -> Tag {
    Tag::new(s).unwrap()
}

#[test]
fn state_machine() {
    let mut h = H::new();
    assert_eq!(h.conn.state(), State::NotAuthenticated);
    // Not valid before authentication: answered by the connection.
    let ev = h.feed(b"s1 SELECT INBOX\r\n");
    assert!(matches!(
        &ev[..],
        [ServerEvent::ProtocolViolation {
            error: ServerError::InvalidState {
                command: "SELECT",
                ..
            },
            ..
        }]
    ));
    assert_eq!(
        h.out(),
        "s1 BAD SELECT is not valid in the NotAuthenticated state\r\n"
    );
    h.run(b"c1 CAPABILITY\r\n", StatusKind::Ok);
    // A failed LOGIN keeps the state.
    h.run(b"l1 LOGIN u wrong\r\n", StatusKind::No);
    assert_eq!(h.conn.state(), State::NotAuthenticated);
    h.login();
    assert!(matches!(
        &h.feed(b"l2 LOGIN u p\r\n")[..],
        [ServerEvent::ProtocolViolation { .. }]
    ));
    h.out();
    assert!(matches!(
        &h.feed(b"f1 FETCH 1 FLAGS\r\n")[..],
        [ServerEvent::ProtocolViolation { .. }]
    ));
    assert_eq!(
        h.out(),
        "f1 BAD FETCH is not valid in the Authenticated state\r\n"
    );
    h.run(b"s2 SELECT INBOX\r\n", StatusKind::Ok);
    assert_eq!(h.conn.state(), State::Selected);
    h.run(b"f2 FETCH 1 FLAGS\r\n", StatusKind::Ok);
    // RFC 3501 §6.3.1: a failed SELECT leaves the selected state.
    h.run(b"s3 SELECT nosuch\r\n", StatusKind::No);
    assert_eq!(h.conn.state(), State::Authenticated);
    h.run(b"s4 EXAMINE INBOX\r\n", StatusKind::Ok);
    h.run(b"c2 CLOSE\r\n", StatusKind::Ok);
    assert_eq!(h.conn.state(), State::Authenticated);
    let (_, out) = h.run(b"z LOGOUT\r\n", StatusKind::Ok);
    assert_eq!(out, "* BYE logging out\r\nz OK done\r\n");
    assert!(h.conn.is_closed());
    assert_eq!(h.conn.poll_event(), Some(ServerEvent::Closed));
    assert_eq!(h.conn.poll_event(), None);
}

#[test]
fn commands_run_one_at_a_time() {
    let mut h = H::new();
    h.conn.handle_input(b"a1 NOOP\r\na2 NOOP\r\n");
    let Some(ServerEvent::Command { tag: t1, .. }) = h.conn.poll_event() else {
        panic!()
    };
    assert_eq!(h.conn.poll_event(), None, "a2 waits for a1");
    h.conn.complete(&t1, StatusKind::Ok, None, "ok");
    let Some(ServerEvent::Command { tag: t2, .. }) = h.conn.poll_event() else {
        panic!()
    };
    assert_eq!(t2, tag("a2"));
}

#[test]
fn parse_errors_name_tag_offset_and_expectation() {
    let mut h = H::new();
    let ev = h.feed(b"x9 FETCH 1,,2 FLAGS\r\n");
    assert!(
        matches!(&ev[..], [ServerEvent::ProtocolViolation { tag: Some(t), error: ServerError::Parse(_) }] if t.as_str() == "x9")
    );
    assert_eq!(
        h.out(),
        "x9 BAD [PARSE] command x9: at byte 11: expected sequence number or '*', found ','\r\n"
    );
    h.feed(b"+ NOOP\r\n");
    assert!(h.out().starts_with("* BAD [PARSE]"));
}

#[test]
fn literals_continuation_and_limits() {
    let mut h = H::new();
    // Within the pre-authentication limit: `+` then the data.
    assert_eq!(h.feed(b"a1 LOGIN {4}\r\n"), vec![]);
    assert_eq!(h.out(), "+ Ready for literal data\r\n");
    let ev = h.feed(b"fred {2}\r\n");
    assert_eq!(ev, vec![]);
    assert_eq!(h.out(), "+ Ready for literal data\r\n");
    let ev = h.feed(b"pw\r\n");
    assert!(
        matches!(&ev[..], [ServerEvent::Command { command: Command::Login { username, .. }, .. }] if username == "fred")
    );
    h.conn.complete(&tag("a1"), StatusKind::No, None, "no");
    h.out();
    // A 22-byte LOGIN announcing 400 MB: refused before `+`.
    let ev = h.feed(b"a2 LOGIN {400000000}\r\n");
    assert!(matches!(
        &ev[..],
        [ServerEvent::ProtocolViolation {
            tag: Some(_),
            error: ServerError::Frame(FrameError::LiteralTooLarge {
                synchronizing: true,
                ..
            })
        }]
    ));
    assert_eq!(
        h.out(),
        "a2 BAD [TOOBIG] literal of 400000000 bytes exceeds the limit of 4096 bytes\r\n"
    );
    // An over-limit `{n+}` is read, discarded, then answered.
    let mut input = b"a3 LOGIN {5000+}\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 5000));
    input.extend_from_slice(b" pw\r\n");
    for chunk in input.chunks(700) {
        assert!(
            h.feed(chunk)
                .iter()
                .all(|e| matches!(e, ServerEvent::ProtocolViolation { .. }))
        );
    }
    assert!(h.out().starts_with("a3 BAD [TOOBIG]"));
    // `{4294967295}` is a number, refused by the limit; one more is a
    // syntax error.
    h.feed(b"a4 LOGIN {4294967295}\r\n");
    assert!(h.out().starts_with("a4 BAD [TOOBIG]"));
    h.feed(b"a5 LOGIN {4294967296}\r\n");
    assert_eq!(
        h.out(),
        "a5 BAD [PARSE] command a5: at byte 10: expected literal length below 4294967296, found '4'\r\n"
    );
    h.login();
    // After login APPEND gets the APPEND limit, other commands less.
    h.feed(b"b1 APPEND INBOX {27000000}\r\n");
    assert_eq!(h.out(), "+ Ready for literal data\r\n");
    h.conn.handle_input(&vec![b'a'; 27_000_000]);
    h.conn.handle_input(b"\r\n");
    let Some(ServerEvent::Command {
        command: Command::Append { message, .. },
        tag,
    }) = h.conn.poll_event()
    else {
        panic!()
    };
    assert_eq!(message.len(), 27_000_000);
    h.conn.complete(&tag, StatusKind::Ok, None, "ok");
    h.out();
    h.feed(b"b2 APPEND INBOX {99000000}\r\n");
    assert!(h.out().starts_with("b2 NO [TOOBIG]"));
    h.feed(b"b3 SEARCH TEXT {27000000}\r\n");
    assert!(h.out().starts_with("b3 BAD [TOOBIG]"));
}

#[test]
fn authenticate_plain_and_login() {
    let mut h = H::new();
    // SASL-IR.
    let ev = h.feed(b"a1 AUTHENTICATE PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
    let [
        ServerEvent::Authenticate {
            tag: t,
            credentials,
            ..
        },
    ] = &ev[..]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(credentials.username, "tim");
    assert_eq!(credentials.password.expose_secret(), "tanstaaftanstaaf");
    h.conn
        .complete(t, StatusKind::No, Some(Code::AuthenticationFailed), "no");
    assert_eq!(h.out(), "a1 NO [AUTHENTICATIONFAILED] no\r\n");
    // Without initial response.
    assert_eq!(h.feed(b"a2 AUTHENTICATE plain\r\n"), vec![]);
    assert_eq!(h.out(), "+ \r\n");
    let ev = h.feed(b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
    assert!(matches!(&ev[..], [ServerEvent::Authenticate { .. }]));
    h.conn.complete(&tag("a2"), StatusKind::No, None, "no");
    h.out();
    // Cancelled.
    h.feed(b"a3 AUTHENTICATE PLAIN\r\n");
    h.out();
    let ev = h.feed(b"*\r\n");
    assert_eq!(
        ev,
        vec![ServerEvent::AuthenticateCancelled { tag: tag("a3") }]
    );
    assert_eq!(h.out(), "a3 BAD authentication cancelled\r\n");
    // Bad base64.
    h.feed(b"a4 AUTHENTICATE PLAIN\r\n");
    h.out();
    let ev = h.feed(b"!!!\r\n");
    assert!(matches!(&ev[..], [ServerEvent::ProtocolViolation { .. }]));
    assert_eq!(h.out(), "a4 BAD client response is not valid base64\r\n");
    // LOGIN: Username:, Password:.
    h.feed(b"a5 AUTHENTICATE LOGIN\r\n");
    assert_eq!(h.out(), "+ VXNlcm5hbWU6\r\n");
    assert_eq!(h.feed(b"dGlt\r\n"), vec![]);
    assert_eq!(h.out(), "+ UGFzc3dvcmQ6\r\n");
    let ev = h.feed(b"c2VjcmV0\r\n");
    let [
        ServerEvent::Authenticate {
            credentials,
            mechanism,
            ..
        },
    ] = &ev[..]
    else {
        panic!()
    };
    assert_eq!(
        (credentials.username.as_str(), mechanism.as_str()),
        ("tim", "LOGIN")
    );
    h.conn.complete(&tag("a5"), StatusKind::Ok, None, "welcome");
    assert_eq!(h.conn.state(), State::Authenticated);
}

#[test]
fn authenticate_login_with_the_user_name_as_initial_response() {
    // SASL-IR (RFC 4959) with LOGIN: the initial response is the user
    // name, so the password is asked for at once.
    let mut h = H::new();
    assert_eq!(h.feed(b"a1 AUTHENTICATE LOGIN dGlt\r\n"), vec![]);
    assert_eq!(h.out(), "+ UGFzc3dvcmQ6\r\n");
    let ev = h.feed(b"c2VjcmV0\r\n");
    let [ServerEvent::Authenticate { credentials, .. }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(credentials.username, "tim");
    assert_eq!(credentials.password.expose_secret(), "secret");
    h.conn.complete(
        &tag("a1"),
        StatusKind::No,
        Some(Code::AuthenticationFailed),
        "no",
    );
    h.out();
    // A user name that is not UTF-8 ends the exchange with BAD.
    let ev = h.feed(b"a2 AUTHENTICATE LOGIN /w==\r\n");
    assert!(
        matches!(&ev[..], [ServerEvent::ProtocolViolation { .. }]),
        "{ev:?}"
    );
    assert!(h.out().starts_with("a2 BAD"));
}

#[test]
fn authenticate_driven_by_the_application() {
    let mut h = H::new();
    let ev = h.feed(b"a1 AUTHENTICATE X-TOKEN\r\n");
    let [
        ServerEvent::Command {
            tag: t,
            command: Command::Authenticate { .. },
        },
    ] = &ev[..]
    else {
        panic!()
    };
    h.conn.authenticate_challenge(t, b"nonce");
    assert_eq!(h.out(), "+ bm9uY2U=\r\n");
    let ev = h.feed(b"dG9rZW4=\r\n");
    let [ServerEvent::AuthenticateData { data, .. }] = &ev[..] else {
        panic!()
    };
    assert_eq!(data.expose_secret(), b"token");
    h.conn.complete(&tag("a1"), StatusKind::Ok, None, "ok");
    assert_eq!(h.conn.state(), State::Authenticated);
}

#[test]
fn idle_and_done() {
    let mut h = H::new();
    h.login();
    h.run(b"s SELECT INBOX\r\n", StatusKind::Ok);
    let ev = h.feed(b"i1 IDLE\r\n");
    let [
        ServerEvent::Command {
            tag: t,
            command: Command::Idle,
        },
    ] = &ev[..]
    else {
        panic!()
    };
    h.conn.accept_idle(t);
    assert_eq!(h.out(), "+ idling\r\n");
    h.conn.respond_data(Data::Exists(4));
    assert_eq!(h.out(), "* 4 EXISTS\r\n");
    // `{5}` during IDLE is no literal: just a wrong line.
    assert_eq!(h.feed(b"do"), vec![]);
    let ev = h.feed(b"ne\r\n");
    assert_eq!(ev, vec![ServerEvent::IdleDone { tag: tag("i1") }]);
    h.conn
        .complete(&tag("i1"), StatusKind::Ok, None, "IDLE terminated");
    assert_eq!(h.out(), "i1 OK IDLE terminated\r\n");
    // Anything but DONE ends IDLE with BAD.
    let ev = h.feed(b"i2 IDLE\r\n");
    let [ServerEvent::Command { tag: t, .. }] = &ev[..] else {
        panic!()
    };
    h.conn.accept_idle(t);
    h.out();
    let ev = h.feed(b"a NOOP {5}\r\n");
    assert!(matches!(
        &ev[..],
        [ServerEvent::ProtocolViolation {
            error: ServerError::ExpectedDone,
            ..
        }]
    ));
    assert_eq!(h.out(), "i2 BAD expected DONE during IDLE\r\n");
    h.run(b"n NOOP\r\n", StatusKind::Ok);
}

#[test]
fn starttls_discards_injected_plaintext() {
    let mut h = H::new();
    let ev = h.feed(b"t1 STARTTLS\r\nt2 LOGIN evil injected\r\n");
    assert_eq!(ev, vec![ServerEvent::StartTls { tag: tag("t1") }]);
    h.conn.complete(
        &tag("t1"),
        StatusKind::Ok,
        None,
        "Begin TLS negotiation now",
    );
    assert_eq!(h.out(), "t1 OK Begin TLS negotiation now\r\n");
    let ev: Vec<_> = std::iter::from_fn(|| h.conn.poll_event()).collect();
    assert_eq!(
        ev,
        vec![ServerEvent::ProtocolViolation {
            tag: None,
            error: ServerError::PlaintextAfterStartTls { bytes: 24 }
        }]
    );
    // Now inside TLS: commands work, STARTTLS no longer.
    h.run(b"c CAPABILITY\r\n", StatusKind::Ok);
    let ev = h.feed(b"t3 STARTTLS\r\n");
    assert!(matches!(
        &ev[..],
        [ServerEvent::ProtocolViolation {
            error: ServerError::StartTlsUnavailable,
            ..
        }]
    ));
}

#[test]
fn too_many_bad_commands_closes() {
    let mut h = H::new();
    let mut ev = Vec::new();
    for i in 0..10 {
        ev.extend(h.feed(format!("b{i} FROB\r\n").as_bytes()));
    }
    assert!(ev.contains(&ServerEvent::ProtocolViolation {
        tag: None,
        error: ServerError::TooManyBadCommands
    }));
    assert_eq!(ev.last(), Some(&ServerEvent::Closed));
    assert!(h.out().ends_with("* BYE too many invalid commands\r\n"));
    assert!(h.feed(b"a NOOP\r\n").is_empty());
}

#[test]
fn output_high_water_mark_pauses_input() {
    let mut c = config();
    c.limits.output_high_water = 1000;
    let mut h = H::with(c);
    h.conn.handle_input(b"a1 NOOP\r\na2 NOOP\r\n");
    let Some(ServerEvent::Command { tag: t, .. }) = h.conn.poll_event() else {
        panic!()
    };
    for _ in 0..100 {
        h.conn.respond_data(Data::Exists(1));
    }
    h.conn.complete(&t, StatusKind::Ok, None, "ok");
    assert_eq!(
        h.conn.poll_event(),
        None,
        "paused above the high-water mark"
    );
    h.out();
    assert!(matches!(
        h.conn.poll_event(),
        Some(ServerEvent::Command { .. })
    ));
}

#[test]
fn autologout() {
    let mut h = H::new();
    let t0 = Instant::now();
    h.conn.handle_timeout(t0);
    h.conn.handle_timeout(t0 + Duration::from_secs(30));
    assert!(!h.conn.is_closed());
    h.conn.handle_input(b"a1 NOOP\r\n");
    h.conn.handle_timeout(t0 + Duration::from_secs(50));
    h.conn.handle_timeout(t0 + Duration::from_secs(100));
    assert!(!h.conn.is_closed());
    h.conn.handle_timeout(t0 + Duration::from_secs(111));
    assert!(h.conn.is_closed());
    assert!(h.out().ends_with("* BYE autologout; idle for too long\r\n"));
}

#[test]
fn any_chunking_gives_the_same_transcript() {
    let input: &[u8] = b"a1 LOGIN {4+}\r\nfred {2+}\r\npw\r\na2 SELECT INBOX\r\na3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\na4 APPEND INBOX {5}\r\nhello\r\na5 SEARCH OR (FROM x) NOT (TO y)\r\na6 LOGOUT\r\n";
    let run = |chunk: usize| {
        let mut h = H::new();
        let mut log = Vec::new();
        for piece in input.chunks(chunk) {
            h.conn.handle_input(piece);
            while let Some(e) = h.conn.poll_event() {
                if let ServerEvent::Command { tag, command } = &e {
                    h.conn.complete(tag, StatusKind::Ok, None, command.name());
                }
                log.push(format!("{e:?}"));
            }
        }
        log.push(h.out());
        log
    };
    let whole = run(input.len());
    assert_eq!(whole.len(), 8, "{whole:?}");
    for chunk in [1, 2, 3, 7, 16, 64] {
        assert_eq!(run(chunk), whole, "chunk {chunk}");
    }
}

#[test]
fn hostile_commands() {
    let mut h = H::new();
    h.login();
    h.run(b"s SELECT INBOX\r\n", StatusKind::Ok);
    // 100,000 nested parentheses: a clean BAD, no stack overflow.
    let mut deep = b"d1 SEARCH ".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 100_000));
    deep.extend_from_slice(b"ALL\r\n");
    let ev = h.feed(&deep);
    assert!(
        matches!(
            &ev[..],
            [ServerEvent::ProtocolViolation {
                error: ServerError::Frame(FrameError::LineTooLong { .. }),
                ..
            }]
        ),
        "{ev:?}"
    );
    let mut deep = b"d2 SEARCH ".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 60_000));
    deep.extend_from_slice(b"ALL\r\n");
    let ev = h.feed(&deep);
    assert!(
        matches!(&ev[..], [ServerEvent::ProtocolViolation { error: ServerError::Parse(p), .. }] if p.expected.contains("nested")),
        "{ev:?}"
    );
    let mut deep = b"d3 SEARCH ".to_vec();
    deep.extend(std::iter::repeat_n(&b"NOT "[..], 15_000).flatten());
    deep.extend_from_slice(b"ALL\r\n");
    let ev = h.feed(&deep);
    assert!(
        matches!(
            &ev[..],
            [ServerEvent::ProtocolViolation {
                error: ServerError::Parse(_),
                ..
            }]
        ),
        "{ev:?}"
    );
    h.out();
    // A 1 MiB line, fed in chunks: refused once, memory bounded.
    h.conn.handle_input(b"big SEARCH TEXT ");
    let mut ev = Vec::new();
    for _ in 0..256 {
        h.conn.handle_input(&[b'x'; 4096]);
        ev.extend(std::iter::from_fn(|| h.conn.poll_event()));
    }
    h.conn.handle_input(b"\r\n");
    ev.extend(std::iter::from_fn(|| h.conn.poll_event()));
    assert!(
        matches!(&ev[..], [ServerEvent::ProtocolViolation { tag: Some(t), error: ServerError::Frame(FrameError::LineTooLong { .. }) }] if t.as_str() == "big"),
        "{ev:?}"
    );
    assert_eq!(h.out(), "big BAD line longer than 65536 bytes\r\n");
    // NUL and 8-bit bytes where atoms are expected.
    for bad in [
        &b"n1 SELECT a\0b\r\n"[..],
        b"n2 STORE 1 +FLAGS (\xff)\r\n",
        b"n3 N\xc3\xb6OP\r\n",
    ] {
        let ev = h.feed(bad);
        assert!(
            matches!(
                &ev[..],
                [ServerEvent::ProtocolViolation {
                    error: ServerError::Parse(_),
                    ..
                }]
            ),
            "{ev:?}"
        );
    }
    assert_eq!(h.out().lines().count(), 3);
    h.run(b"ok NOOP\r\n", StatusKind::Ok);
}

#[test]
fn preauth_greeting() {
    let mut c = config();
    c.greeting.kind = StatusKind::PreAuth;
    let mut h = H {
        conn: ServerConnection::new(c),
    };
    assert!(h.out().starts_with("* PREAUTH"));
    assert_eq!(h.conn.state(), State::Authenticated);
}

/// RFC 3501 §8: the sample session, replayed through the server
/// connection; the server's bytes must be exactly the RFC's.
#[test]
fn rfc3501_section8_sample_session() {
    use postroom_imap::response::{FetchItem, Response, StatusResponse};
    use postroom_types::{Flag, FlagFetch, FlagPerm};
    use std::num::NonZeroU32;

    let nz = |n| NonZeroU32::new(n).unwrap();
    let mut config = config();
    config.greeting = StatusResponse::untagged(StatusKind::Ok, None, "IMAP4rev1 Service Ready");
    let mut conn = ServerConnection::new(config);
    let mut transcript = Vec::new();
    conn.poll_transmit(&mut transcript);
    let next = |conn: &mut ServerConnection, input: &[u8]| {
        conn.handle_input(input);
        match conn.poll_event() {
            Some(ServerEvent::Command { tag, command }) => (tag, command),
            other => panic!("{other:?}"),
        }
    };
    let (t, _) = next(&mut conn, b"a001 login mrc secret\r\n");
    conn.complete(&t, StatusKind::Ok, None, "LOGIN completed");
    let (t, _) = next(&mut conn, b"a002 select inbox\r\n");
    let flags = vec![
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ];
    conn.respond_data(Data::Exists(18));
    conn.respond_data(Data::Recent(2));
    let ok = |code, text: &str| {
        Response::Status(StatusResponse::untagged(StatusKind::Ok, Some(code), text))
    };
    conn.respond(&ok(
        Code::Unseen(nz(17)),
        "Message 17 is the first unseen message",
    ));
    conn.respond(&ok(Code::UidValidity(nz(3857529045)), "UIDs valid"));
    conn.respond_data(Data::Flags(flags.clone()));
    conn.respond(&ok(
        Code::PermanentFlags(vec![
            FlagPerm::Flag(Flag::Deleted),
            FlagPerm::Flag(Flag::Seen),
            FlagPerm::AnyKeyword,
        ]),
        "Limited",
    ));
    conn.complete(
        &t,
        StatusKind::Ok,
        Some(Code::ReadWrite),
        "SELECT completed",
    );
    let (t, _) = next(&mut conn, b"a003 fetch 12 full\r\n");
    let envelope = postroom_types::Envelope {
        date: Some(b"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)".to_vec()),
        subject: Some(b"IMAP4rev1 WG mtg summary and minutes".to_vec()),
        from: vec![postroom_types::Address::new(
            Some(b"Terry Gray"),
            b"gray",
            b"cac.washington.edu",
        )],
        sender: vec![postroom_types::Address::new(
            Some(b"Terry Gray"),
            b"gray",
            b"cac.washington.edu",
        )],
        reply_to: vec![postroom_types::Address::new(
            Some(b"Terry Gray"),
            b"gray",
            b"cac.washington.edu",
        )],
        to: vec![postroom_types::Address::new(
            None,
            b"imap",
            b"cac.washington.edu",
        )],
        cc: vec![
            postroom_types::Address::new(None, b"minutes", b"CNRI.Reston.VA.US"),
            postroom_types::Address::new(Some(b"John Klensin"), b"KLENSIN", b"MIT.EDU"),
        ],
        bcc: vec![],
        in_reply_to: None,
        message_id: Some(b"<B27397-0100000@cac.washington.edu>".to_vec()),
    };
    let body = postroom_types::BodyStructure::Single {
        part: postroom_types::SinglePart {
            media_type: "TEXT".into(),
            media_subtype: "PLAIN".into(),
            fields: postroom_types::BodyFields {
                params: vec![("CHARSET".into(), b"US-ASCII".to_vec())],
                id: None,
                description: None,
                encoding: "7BIT".into(),
                octets: 3028,
            },
            kind: postroom_types::SinglePartKind::Text { lines: 92 },
        },
        extension: None,
    };
    conn.respond_data(Data::Fetch {
        seq: nz(12),
        items: vec![
            FetchItem::Flags(vec![FlagFetch::Flag(Flag::Seen)]),
            FetchItem::InternalDate(
                postroom_types::InternalDate::parse_imap("17-Jul-1996 02:44:25 -0700").unwrap(),
            ),
            FetchItem::Rfc822Size(4286),
            FetchItem::Envelope(std::sync::Arc::new(envelope)),
            FetchItem::Body(Box::new(body)),
        ],
    });
    conn.complete(&t, StatusKind::Ok, None, "FETCH completed");
    let (t, _) = next(&mut conn, b"a004 fetch 12 body[header]\r\n");
    let header = b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\r\n".to_vec();
    conn.respond_data(Data::Fetch {
        seq: nz(12),
        items: vec![FetchItem::BodySection {
            section: postroom_imap::command::Section {
                part: vec![],
                text: Some(postroom_imap::command::SectionText::Header),
            },
            origin: None,
            data: Some(header),
        }],
    });
    conn.complete(&t, StatusKind::Ok, None, "FETCH completed");
    let (t, _) = next(&mut conn, b"a005 store 12 +flags \\deleted\r\n");
    conn.respond_data(Data::Fetch {
        seq: nz(12),
        items: vec![FetchItem::Flags(vec![
            FlagFetch::Flag(Flag::Seen),
            FlagFetch::Flag(Flag::Deleted),
        ])],
    });
    conn.complete(&t, StatusKind::Ok, None, "+FLAGS completed");
    let (t, _) = next(&mut conn, b"a006 logout\r\n");
    conn.respond(&Response::Status(StatusResponse::untagged(
        StatusKind::Bye,
        None,
        "IMAP4rev1 server terminating connection",
    )));
    conn.complete(&t, StatusKind::Ok, None, "LOGOUT completed");
    conn.poll_transmit(&mut transcript);
    let expected = "* OK IMAP4rev1 Service Ready\r\n\
a001 OK LOGIN completed\r\n\
* 18 EXISTS\r\n\
* 2 RECENT\r\n\
* OK [UNSEEN 17] Message 17 is the first unseen message\r\n\
* OK [UIDVALIDITY 3857529045] UIDs valid\r\n\
* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n\
a002 OK [READ-WRITE] SELECT completed\r\n\
* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n\
a003 OK FETCH completed\r\n\
* 12 FETCH (BODY[HEADER] {47}\r\nDate: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\r\n)\r\n\
a004 OK FETCH completed\r\n\
* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n\
a005 OK +FLAGS completed\r\n\
* BYE IMAP4rev1 server terminating connection\r\n\
a006 OK LOGOUT completed\r\n";
    assert_eq!(String::from_utf8(transcript).unwrap(), expected);
    assert!(conn.is_closed());
}

#[test]
fn invalid_modified_utf7_mailbox_names_get_no() {
    // RFC 3501 §5.1.3 (and the Dovecot transcripts in the spec digest):
    // the syntax is fine, the name is refused with NO.
    let mut h = H::new();
    h.login();
    for (input, t) in [
        (&b"c1 CREATE \"&Jjo!\"\r\n"[..], "c1"),
        (b"c2 CREATE \"&U,BTFw-&ZeVnLIqe-\"\r\n", "c2"),
        (b"c3 SELECT &Jjo\r\n", "c3"),
        (b"c4 RENAME INBOX.a \"&AGE-\"\r\n", "c4"),
        (b"c5 CREATE \"a\x01b\"\r\n", "c5"),
        (b"c6 DELETE {4+}\r\np\xc3\xa4\xc3\r\n", "c6"),
        (b"c7 STATUS & (MESSAGES)\r\n", "c7"),
    ] {
        let ev = h.feed(input);
        match &ev[..] {
            [
                ServerEvent::ProtocolViolation {
                    tag: Some(got),
                    error: ServerError::InvalidMailboxName(e),
                },
            ] => {
                assert_eq!(got, &tag(t));
                assert!(e.is_invalid_mailbox_name());
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
        }
        let out = h.out();
        assert!(out.starts_with(&format!("{t} NO [CANNOT] ")), "{out}");
    }
    // NO does not count towards the consecutive-BAD limit, and the
    // connection goes on; valid names still work.
    let (cmd, _) = h.run(b"d CREATE \"a&-b\"\r\n", StatusKind::Ok);
    assert!(matches!(cmd, Command::Create { mailbox } if mailbox.as_str() == "a&b"));
    // A real syntax error is still BAD.
    h.feed(b"e CREATE\r\n");
    assert!(h.out().starts_with("e BAD [PARSE] "));
}

#[test]
fn enable_utf8_accept_parses() {
    // neomutt sends ENABLE UTF8=ACCEPT after login (RFC 6855 §3); the
    // application decides what to enable and answers ENABLED.
    let mut h = H::new();
    h.login();
    let (cmd, _) = h.run(b"n1 ENABLE UTF8=ACCEPT\r\n", StatusKind::Ok);
    match cmd {
        Command::Enable { capabilities } => {
            assert_eq!(capabilities, vec![Atom::new("UTF8=ACCEPT").unwrap()]);
        }
        other => panic!("{other:?}"),
    }
    let (cmd, _) = h.run(b"n2 enable CONDSTORE utf8=accept X-Y\r\n", StatusKind::Ok);
    assert!(matches!(cmd, Command::Enable { capabilities } if capabilities.len() == 3));
}
