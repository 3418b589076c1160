//! Example transcripts replayed through both connections, without sockets:
//! the RFC 1939 §10 example session, the RFC 1939 command examples, and a
//! Dovecot transcript with dot-stuffed lines (spec digest P-1).
//!
//! For each step the client connection encodes the command (checked
//! against the transcript), the server connection decodes it (fed one byte
//! at a time) and a scripted application answers; the server's bytes are
//! checked against the transcript and fed to the client connection one
//! byte at a time, whose events are checked too.

use postroom_pop3::{
    ClientConnection, ClientEvent, CloseReason, Command, Event, Parsed, ServerConfig,
    ServerConnection, SessionState, parse_command,
};

enum Answer {
    Ok(&'static str),
    Err(&'static str),
    Lines(&'static str, &'static [&'static str]),
    Body(&'static str, &'static [u8]),
}

struct Step {
    client: &'static str,
    answer: Answer,
    /// The server's bytes for this step, exactly.
    wire: &'static str,
    /// What the client must decode from a body, if any.
    body: Option<&'static [u8]>,
}

fn transmit_server(server: &mut ServerConnection) -> Vec<u8> {
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    out
}

fn answer(server: &mut ServerConnection, answer: &Answer) {
    match answer {
        Answer::Ok(text) => server.respond_ok(text).expect("pending"),
        Answer::Err(text) => server.respond_err(None, text).expect("pending"),
        Answer::Lines(text, lines) => {
            server.start_multiline(text).expect("multi-line command");
            for line in *lines {
                server.send_line(line.as_bytes()).expect("open");
            }
            server.finish_multiline().expect("open");
        }
        Answer::Body(text, body) => {
            server.start_multiline(text).expect("multi-line command");
            // Uneven chunks, so lines and CRLFs are split.
            for chunk in body.chunks(7) {
                server.send_body_chunk(chunk).expect("open");
            }
            server.finish_multiline().expect("open");
        }
    }
}

fn replay(greeting: &str, steps: &[Step]) -> (ServerConnection, ClientConnection) {
    let mut server = ServerConnection::new(ServerConfig::new(greeting));
    let mut client = ClientConnection::new(Default::default());
    let hello = transmit_server(&mut server);
    assert_eq!(hello, format!("+OK {greeting}\r\n").as_bytes());
    client.handle_input(&hello);
    match client.poll_event() {
        Some(ClientEvent::Greeting(g)) => assert_eq!(g.text, greeting),
        other => panic!("expected the greeting, got {other:?}"),
    }
    for step in steps {
        let command = match parse_command(step.client.as_bytes()) {
            Ok(Parsed::Complete { value, .. }) => value,
            other => panic!("transcript line {:?}: {other:?}", step.client),
        };
        client.send(command.clone()).expect("client may send");
        let mut sent = Vec::new();
        client.poll_transmit(&mut sent);
        assert_eq!(String::from_utf8_lossy(&sent), step.client);

        let mut answered = false;
        for byte in &sent {
            server.handle_input(std::slice::from_ref(byte));
            while let Some(event) = server.poll_event() {
                let got = match event {
                    Event::Command(c) => c,
                    Event::Closing(CloseReason::Quit) if command == Command::Quit => continue,
                    other => panic!("{:?}: unexpected {other:?}", step.client),
                };
                assert_eq!(got, command);
                answer(&mut server, &step.answer);
                answered = true;
            }
        }
        assert!(answered, "{:?} produced no event", step.client);
        let reply = transmit_server(&mut server);
        assert_eq!(
            String::from_utf8_lossy(&reply),
            step.wire,
            "{:?}",
            step.client
        );

        for byte in &reply {
            client.handle_input(std::slice::from_ref(byte));
        }
        let mut data = Vec::new();
        let mut responses = 0;
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Response {
                    command: kind,
                    response,
                } => {
                    assert_eq!(kind, command.kind());
                    let expected_ok = !matches!(step.answer, Answer::Err(_));
                    assert_eq!(response.is_ok(), expected_ok, "{:?}", step.client);
                    responses += 1;
                }
                ClientEvent::Data(d) => data.extend(d),
                ClientEvent::ScanListing(_)
                | ClientEvent::UniqueId(_)
                | ClientEvent::Capability(_)
                | ClientEvent::End { .. } => {}
                other => panic!("{:?}: unexpected {other:?}", step.client),
            }
        }
        assert_eq!(responses, 1, "{:?}", step.client);
        if let Some(body) = step.body {
            assert_eq!(
                String::from_utf8_lossy(&data),
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(client.state(), server.state(), "after {:?}", step.client);
    }
    (server, client)
}

const MESSAGE_1: &[u8] = b"From: dewey@example.org\r\nSubject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nlast line without CRLF";
const MESSAGE_1_WIRE: &str = "+OK 120 octets\r\nFrom: dewey@example.org\r\nSubject: one\r\n\r\n..leading dot\r\n...two dots\r\n..\r\nlast line without CRLF\r\n.\r\n";
const MESSAGE_1_READ: &[u8] = b"From: dewey@example.org\r\nSubject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nlast line without CRLF\r\n";
const MESSAGE_2: &[u8] = b"From: mrose@example.org\nSubject: two\n\nstored with LF only\n.\n";
const MESSAGE_2_WIRE: &str = "+OK 200 octets\r\nFrom: mrose@example.org\r\nSubject: two\r\n\r\nstored with LF only\r\n..\r\n.\r\n";
const MESSAGE_2_READ: &[u8] =
    b"From: mrose@example.org\r\nSubject: two\r\n\r\nstored with LF only\r\n.\r\n";

/// RFC 1939 §10, with message bodies that exercise stuffing.
#[test]
fn rfc1939_example_session() {
    let steps = [
        Step {
            client: "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
            answer: Answer::Ok("mrose's maildrop has 2 messages (320 octets)"),
            wire: "+OK mrose's maildrop has 2 messages (320 octets)\r\n",
            body: None,
        },
        Step {
            client: "STAT\r\n",
            answer: Answer::Ok("2 320"),
            wire: "+OK 2 320\r\n",
            body: None,
        },
        Step {
            client: "LIST\r\n",
            answer: Answer::Lines("2 messages (320 octets)", &["1 120", "2 200"]),
            wire: "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n",
            body: None,
        },
        Step {
            client: "RETR 1\r\n",
            answer: Answer::Body("120 octets", MESSAGE_1),
            wire: MESSAGE_1_WIRE,
            body: Some(MESSAGE_1_READ),
        },
        Step {
            client: "DELE 1\r\n",
            answer: Answer::Ok("message 1 deleted"),
            wire: "+OK message 1 deleted\r\n",
            body: None,
        },
        Step {
            client: "RETR 2\r\n",
            answer: Answer::Body("200 octets", MESSAGE_2),
            wire: MESSAGE_2_WIRE,
            body: Some(MESSAGE_2_READ),
        },
        Step {
            client: "DELE 2\r\n",
            answer: Answer::Ok("message 2 deleted"),
            wire: "+OK message 2 deleted\r\n",
            body: None,
        },
        Step {
            client: "QUIT\r\n",
            answer: Answer::Ok("dewey POP3 server signing off (maildrop empty)"),
            wire: "+OK dewey POP3 server signing off (maildrop empty)\r\n",
            body: None,
        },
    ];
    let (server, client) = replay(
        "POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
        &steps,
    );
    assert!(server.is_closed());
    assert!(client.is_closed());
    assert_eq!(server.state(), SessionState::Update);
}

/// The examples of RFC 1939 §5-§7 (USER/PASS login, TOP, UIDL, RSET, NOOP,
/// and a refused USER).
#[test]
fn rfc1939_command_examples() {
    let steps = [
        Step {
            client: "USER frated\r\n",
            answer: Answer::Err("sorry, no mailbox for frated here"),
            wire: "-ERR sorry, no mailbox for frated here\r\n",
            body: None,
        },
        Step {
            client: "USER mrose\r\n",
            answer: Answer::Ok("mrose is a real hoopy frood"),
            wire: "+OK mrose is a real hoopy frood\r\n",
            body: None,
        },
        Step {
            client: "PASS secret\r\n",
            answer: Answer::Ok("mrose's maildrop has 2 messages (320 octets)"),
            wire: "+OK mrose's maildrop has 2 messages (320 octets)\r\n",
            body: None,
        },
        Step {
            client: "LIST 2\r\n",
            answer: Answer::Ok("2 200"),
            wire: "+OK 2 200\r\n",
            body: None,
        },
        Step {
            client: "LIST 3\r\n",
            answer: Answer::Err("no such message, only 2 messages in maildrop"),
            wire: "-ERR no such message, only 2 messages in maildrop\r\n",
            body: None,
        },
        Step {
            client: "TOP 1 1\r\n",
            answer: Answer::Body("", b"Subject: x\r\n\r\nfirst line\r\n"),
            wire: "+OK\r\nSubject: x\r\n\r\nfirst line\r\n.\r\n",
            body: Some(b"Subject: x\r\n\r\nfirst line\r\n"),
        },
        Step {
            client: "UIDL\r\n",
            answer: Answer::Lines("", &["1 whqtswO00WBw418f9t5JxYwZ", "2 QhdPYR:00WBw1Ph7x7"]),
            wire: "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
            body: None,
        },
        Step {
            client: "UIDL 2\r\n",
            answer: Answer::Ok("2 QhdPYR:00WBw1Ph7x7"),
            wire: "+OK 2 QhdPYR:00WBw1Ph7x7\r\n",
            body: None,
        },
        Step {
            client: "DELE 1\r\n",
            answer: Answer::Ok("message 1 deleted"),
            wire: "+OK message 1 deleted\r\n",
            body: None,
        },
        Step {
            client: "DELE 1\r\n",
            answer: Answer::Err("message 1 already deleted"),
            wire: "-ERR message 1 already deleted\r\n",
            body: None,
        },
        Step {
            client: "RSET\r\n",
            answer: Answer::Ok("maildrop has 2 messages (320 octets)"),
            wire: "+OK maildrop has 2 messages (320 octets)\r\n",
            body: None,
        },
        Step {
            client: "NOOP\r\n",
            answer: Answer::Ok(""),
            wire: "+OK\r\n",
            body: None,
        },
        Step {
            client: "QUIT\r\n",
            answer: Answer::Ok("dewey POP3 server signing off"),
            wire: "+OK dewey POP3 server signing off\r\n",
            body: None,
        },
    ];
    replay("POP3 server ready", &steps);
}

/// Spec digest P-1: a Dovecot session whose first message has lines that
/// start with dots and a line that is only a dot.
#[test]
fn dovecot_transcript_with_dot_lines() {
    const P0: &[u8] = b"Subject: p0\r\n\r\nline1\r\n.dotline\r\n..two\r\n.\r\nend\r\n";
    let steps = [
        Step {
            client: "USER u\r\n",
            answer: Answer::Ok(""),
            wire: "+OK\r\n",
            body: None,
        },
        Step {
            client: "PASS p\r\n",
            answer: Answer::Ok("Logged in."),
            wire: "+OK Logged in.\r\n",
            body: None,
        },
        Step {
            client: "CAPA\r\n",
            answer: Answer::Lines(
                "",
                &[
                    "CAPA",
                    "TOP",
                    "UIDL",
                    "RESP-CODES",
                    "PIPELINING",
                    "AUTH-RESP-CODE",
                ],
            ),
            wire: "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n.\r\n",
            body: None,
        },
        Step {
            client: "STAT\r\n",
            answer: Answer::Ok("2 65"),
            wire: "+OK 2 65\r\n",
            body: None,
        },
        Step {
            client: "TOP 1 1\r\n",
            answer: Answer::Body("", b"Subject: p0\r\n\r\nline1\r\n"),
            wire: "+OK\r\nSubject: p0\r\n\r\nline1\r\n.\r\n",
            body: Some(b"Subject: p0\r\n\r\nline1\r\n"),
        },
        Step {
            client: "RETR 1\r\n",
            answer: Answer::Body("47 octets", P0),
            wire: "+OK 47 octets\r\nSubject: p0\r\n\r\nline1\r\n..dotline\r\n...two\r\n..\r\nend\r\n.\r\n",
            body: Some(P0),
        },
        Step {
            client: "DELE 1\r\n",
            answer: Answer::Ok("Marked to be deleted."),
            wire: "+OK Marked to be deleted.\r\n",
            body: None,
        },
        Step {
            client: "LIST 1\r\n",
            answer: Answer::Err("Message is deleted."),
            wire: "-ERR Message is deleted.\r\n",
            body: None,
        },
        Step {
            client: "QUIT\r\n",
            answer: Answer::Ok("Logging out, messages deleted."),
            wire: "+OK Logging out, messages deleted.\r\n",
            body: None,
        },
    ];
    replay("Dovecot ready.", &steps);
}

/// The same Dovecot exchange pipelined: all commands in one write, the
/// answers in one read, in order.
#[test]
fn pipelined_session_in_one_write() {
    let mut server = ServerConnection::new(ServerConfig::new("ready"));
    let mut client = ClientConnection::new(Default::default());
    for line in [
        "USER u\r\n",
        "PASS p\r\n",
        "STAT\r\n",
        "RETR 1\r\n",
        "QUIT\r\n",
    ] {
        match parse_command(line.as_bytes()) {
            Ok(Parsed::Complete { value, .. }) => client.send(value).expect("may send"),
            other => panic!("{other:?}"),
        }
    }
    let mut wire = Vec::new();
    client.poll_transmit(&mut wire);
    server.handle_input(&wire);
    while let Some(event) = server.poll_event() {
        match event {
            Event::Command(Command::Retr(_)) => {
                server.start_multiline("").expect("RETR");
                server.send_body_chunk(b".\r\n").expect("open");
                server.finish_multiline().expect("open");
            }
            Event::Command(_) => server.respond_ok("").expect("pending"),
            Event::Closing(CloseReason::Quit) => {}
            other => panic!("{other:?}"),
        }
    }
    let mut reply = Vec::new();
    server.poll_transmit(&mut reply);
    assert_eq!(
        String::from_utf8_lossy(&reply),
        "+OK ready\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n..\r\n.\r\n+OK\r\n"
    );
    client.handle_input(&reply);
    let kinds: Vec<String> = std::iter::from_fn(|| client.poll_event())
        .map(|e| match e {
            ClientEvent::Greeting(_) => "greeting".to_owned(),
            ClientEvent::Response { command, .. } => command.to_string(),
            ClientEvent::Data(d) => format!("data {}", String::from_utf8_lossy(&d).trim_end()),
            ClientEvent::End { .. } => "end".to_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "greeting", "USER", "PASS", "STAT", "RETR", "data .", "end", "QUIT"
        ]
    );
    assert!(client.is_closed() && server.is_closed());
}
