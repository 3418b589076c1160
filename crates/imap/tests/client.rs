//! The client connection, alone and talking to the server connection.

use postroom_imap::LiteralMode;
use postroom_imap::client::{ClientConfig, ClientConnection, ClientEvent};
use postroom_imap::command::{Atom, Command};
use postroom_imap::response::{Data, Response, StatusKind};
use postroom_imap::server::{ServerConfig, ServerConnection, ServerEvent, State};
use postroom_types::{MailboxName, Secret};

fn events(c: &mut ClientConnection) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn out(c: &mut ClientConnection) -> String {
    let mut v = Vec::new();
    c.poll_transmit(&mut v);
    String::from_utf8(v).unwrap()
}

#[test]
fn waits_for_continuation_before_literals() {
    let mut c = ClientConnection::new(ClientConfig::default());
    c.handle_input(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
    assert!(matches!(&events(&mut c)[..], [ClientEvent::Greeting(_)]));
    let t1 = c.send(Command::Login {
        username: "fred".into(),
        password: Secret::new("two words\r\n".into()),
    });
    let t2 = c.send(Command::Noop);
    assert_eq!(out(&mut c), "A1 LOGIN fred {11}\r\n");
    assert!(c.is_waiting_for_continuation());
    // Untagged data while waiting changes nothing.
    c.handle_input(b"* 3 EXISTS\r\n");
    assert!(matches!(
        &events(&mut c)[..],
        [ClientEvent::Untagged(Response::Data(Data::Exists(3)))]
    ));
    assert_eq!(out(&mut c), "");
    c.handle_input(b"+ go ahead\r\n");
    assert!(events(&mut c).is_empty());
    assert_eq!(out(&mut c), "two words\r\n\r\nA2 NOOP\r\n");
    c.handle_input(b"A1 OK welcome\r\nA2 OK done\r\n");
    let ev = events(&mut c);
    assert!(
        matches!(&ev[..], [ClientEvent::Completed { tag: a, .. }, ClientEvent::Completed { tag: b, .. }] if *a == t1 && *b == t2)
    );
    assert_eq!(c.state(), State::Authenticated);
}

#[test]
fn refused_literal_drops_the_rest_of_the_command() {
    let mut c = ClientConnection::new(ClientConfig::default());
    c.handle_input(b"* OK hi\r\n");
    events(&mut c);
    c.send(Command::Append {
        mailbox: MailboxName::new("INBOX"),
        flags: vec![],
        date: None,
        message: b"big".to_vec(),
    });
    c.send(Command::Noop);
    assert_eq!(out(&mut c), "A1 APPEND INBOX {3}\r\n");
    c.handle_input(b"A1 NO [TOOBIG] too big\r\n");
    events(&mut c);
    assert_eq!(out(&mut c), "A2 NOOP\r\n");
}

#[test]
fn literal_plus_sends_at_once() {
    let config = ClientConfig {
        literal_mode: LiteralMode::LiteralPlus,
        ..ClientConfig::default()
    };
    let mut c = ClientConnection::new(config);
    c.send(Command::Select {
        mailbox: MailboxName::new("Entwürfe \"x\""),
    });
    assert_eq!(out(&mut c), "A1 SELECT \"Entw&APw-rfe \\\"x\\\"\"\r\n");
    c.send(Command::Login {
        username: "u".into(),
        password: Secret::new("\u{e9}".into()),
    });
    assert_eq!(out(&mut c), "A2 LOGIN u {2+}\r\n\u{e9}\r\n");
}

#[test]
fn starttls_discards_plaintext_and_bye_logs_out() {
    let mut c = ClientConnection::new(ClientConfig::default());
    c.handle_input(b"* OK hi\r\n");
    events(&mut c);
    c.send(Command::StartTls);
    out(&mut c);
    c.handle_input(b"A1 OK begin\r\n* OK injected\r\n");
    let ev = events(&mut c);
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Completed { .. },
                ClientEvent::StartTls { discarded: 15 }
            ]
        ),
        "{ev:?}"
    );
    c.handle_input(b"* BYE going\r\n");
    events(&mut c);
    assert_eq!(c.state(), State::Logout);
}

#[test]
fn malformed_responses_are_reported_and_skipped() {
    let mut c = ClientConnection::new(ClientConfig::default());
    c.handle_input(b"* OK hi\r\n* FROB 1\r\n* 2 EXISTS\r\n");
    let ev = events(&mut c);
    assert!(matches!(
        &ev[..],
        [
            ClientEvent::Greeting(_),
            ClientEvent::Error(_),
            ClientEvent::Untagged(_)
        ]
    ));
}

/// A client and a server connection joined in memory.
#[test]
fn client_talks_to_server() {
    let caps = vec![
        Atom::new("IMAP4rev1").unwrap(),
        Atom::new("SASL-IR").unwrap(),
    ];
    let mut server = ServerConnection::new(ServerConfig::new(caps));
    let mut client = ClientConnection::new(ClientConfig::default());
    let mut wire = Vec::new();
    let mut client_log = Vec::new();

    let step = |server: &mut ServerConnection,
                client: &mut ClientConnection,
                wire: &mut Vec<u8>,
                log: &mut Vec<ClientEvent>| {
        for _ in 0..10 {
            wire.clear();
            client.poll_transmit(wire);
            server.handle_input(wire);
            while let Some(ev) = server.poll_event() {
                match ev {
                    ServerEvent::Authenticate {
                        tag, credentials, ..
                    } => {
                        let ok = credentials.password.expose_secret() == "secret";
                        server.complete(
                            &tag,
                            if ok { StatusKind::Ok } else { StatusKind::No },
                            None,
                            "auth",
                        );
                    }
                    ServerEvent::Command { tag, command } => {
                        if let Command::Append { message, .. } = &command {
                            server.respond_data(Data::Exists(message.len() as u32));
                        }
                        if matches!(command, Command::Idle) {
                            server.accept_idle(&tag);
                            server.respond_data(Data::Recent(1));
                            continue;
                        }
                        server.complete(&tag, StatusKind::Ok, None, command.name());
                    }
                    ServerEvent::IdleDone { tag } => {
                        server.complete(&tag, StatusKind::Ok, None, "idle done")
                    }
                    ServerEvent::Closed => {}
                    other => panic!("{other:?}"),
                }
            }
            wire.clear();
            server.poll_transmit(wire);
            for b in wire.chunks(3) {
                client.handle_input(b);
            }
            log.extend(std::iter::from_fn(|| client.poll_event()));
        }
    };

    step(&mut server, &mut client, &mut wire, &mut client_log);
    assert!(matches!(client_log.remove(0), ClientEvent::Greeting(_)));
    client.send(Command::Authenticate {
        mechanism: Atom::new("PLAIN").unwrap(),
        initial_response: Some(Secret::new(postroom_imap::sasl::encode_plain(
            None, "tim", "secret",
        ))),
    });
    client.send(Command::Select {
        mailbox: MailboxName::new("inbox"),
    });
    client.send(Command::Append {
        mailbox: MailboxName::new("INBOX"),
        flags: vec![],
        date: None,
        message: b"Subject: hi\r\n\r\nbody\r\n".to_vec(),
    });
    step(&mut server, &mut client, &mut wire, &mut client_log);
    assert_eq!(client.state(), State::Selected);
    assert_eq!(server.state(), State::Selected);
    let completed = client_log
        .iter()
        .filter(
            |e| matches!(e, ClientEvent::Completed { status, .. } if status.kind == StatusKind::Ok),
        )
        .count();
    assert_eq!(completed, 3, "{client_log:?}");
    assert!(client_log.contains(&ClientEvent::Untagged(Response::Data(Data::Exists(21)))));
    client_log.clear();
    client.send(Command::Idle);
    step(&mut server, &mut client, &mut wire, &mut client_log);
    assert!(
        matches!(
            &client_log[..],
            [ClientEvent::Continuation(_), ClientEvent::Untagged(_)]
        ),
        "{client_log:?}"
    );
    client.idle_done();
    step(&mut server, &mut client, &mut wire, &mut client_log);
    assert!(matches!(
        client_log.last(),
        Some(ClientEvent::Completed { .. })
    ));
    client.send(Command::Logout);
    step(&mut server, &mut client, &mut wire, &mut client_log);
    assert_eq!(client.state(), State::Logout);
    assert!(server.is_closed());
}
