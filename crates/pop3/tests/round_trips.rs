//! Property tests: decode(encode(x)) == x for commands and responses, the
//! prefix property, and dot-stuffing over arbitrary bodies and chunkings.

use postroom_pop3::{
    ApopDigest, Capability, ClientConnection, ClientEvent, Command, CommandKind, DotStuffer,
    DotUnstuffer, Event, MessageNumber, Parsed, Response, ResponseCode, ScanListing, ServerConfig,
    ServerConnection, ServerLine, Status, UniqueIdListing, encode_challenge, parse_command,
    parse_response, parse_server_line,
};
use postroom_types::Secret;
use proptest::prelude::*;

fn msg() -> impl Strategy<Value = MessageNumber> {
    (1u32..=u32::MAX).prop_map(|n| MessageNumber::new(n).expect("range starts at 1"))
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9@._\u{e9}\u{4e2d}-]{1,40}"
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        name().prop_map(Command::User),
        "[ -~\u{e9}]{1,100}".prop_map(|p| Command::Pass(Secret::new(p))),
        (name(), any::<[u8; 16]>()).prop_map(|(name, d)| Command::Apop {
            name,
            digest: ApopDigest(d)
        }),
        Just(Command::Stat),
        proptest::option::of(msg()).prop_map(Command::List),
        msg().prop_map(Command::Retr),
        msg().prop_map(Command::Dele),
        Just(Command::Noop),
        Just(Command::Rset),
        Just(Command::Quit),
        (msg(), any::<u32>()).prop_map(|(msg, lines)| Command::Top { msg, lines }),
        proptest::option::of(msg()).prop_map(Command::Uidl),
        Just(Command::Capa),
        Just(Command::Stls),
        (
            "[A-Z0-9_-]{1,20}",
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100))
        )
            .prop_map(|(mechanism, initial)| Command::Auth {
                mechanism,
                initial: initial.map(Secret::new),
            }),
        Just(Command::Utf8),
        proptest::option::of(prop_oneof![Just("*".to_owned()), "[a-zA-Z0-9-]{1,20}"])
            .prop_map(Command::Lang),
    ]
}

fn code() -> impl Strategy<Value = ResponseCode> {
    prop_oneof![
        Just(ResponseCode::InUse),
        Just(ResponseCode::LoginDelay),
        Just(ResponseCode::SysTemp),
        Just(ResponseCode::SysPerm),
        Just(ResponseCode::Auth),
        Just(ResponseCode::Utf8),
        "X-[A-Z]{1,8}(/[A-Z]{1,8}){0,2}".prop_map(ResponseCode::Other),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    (
        prop_oneof![Just(Status::Ok), Just(Status::Err)],
        proptest::option::of(code()),
        "([^\\[\r\n][^\r\n]{0,100})?",
    )
        .prop_map(|(status, code, text)| Response { status, code, text })
}

/// The wire form a body must have, computed the slow obvious way.
fn reference_stuff(body: &[u8]) -> Vec<u8> {
    let mut lines = Vec::new();
    let mut prev = None;
    for &b in body {
        if b == b'\n' && prev != Some(b'\r') {
            lines.push(b'\r');
        }
        lines.push(b);
        prev = Some(b);
    }
    if !lines.is_empty() && lines.last() != Some(&b'\n') {
        lines.extend_from_slice(b"\r\n");
    }
    let mut wire = Vec::new();
    let mut at_start = true;
    for &b in &lines {
        if at_start && b == b'.' {
            wire.push(b'.');
        }
        wire.push(b);
        at_start = b == b'\n';
    }
    wire.extend_from_slice(b".\r\n");
    wire
}

/// What the client gets back: the body with CRLF line ends and a final
/// line end.
fn normalized(body: &[u8]) -> Vec<u8> {
    let wire = reference_stuff(body);
    let mut out = Vec::new();
    for line in wire[..wire.len() - 3].split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    out
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => Just(b'.'),
            3 => Just(b'\n'),
            2 => Just(b'\r'),
            4 => any::<u8>(),
        ],
        0..300,
    )
}

fn chunked<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut last = 0;
    for p in points {
        pieces.push(&data[last..p]);
        last = p;
    }
    pieces.push(&data[last..]);
    pieces
}

proptest! {
    #[test]
    fn command_round_trip(command in command()) {
        // Lines over 255 octets are refused by the encoder; skip those.
        let Ok(wire) = command.to_bytes() else { return Ok(()); };
        prop_assert!(wire.len() <= 255);
        match parse_command(&wire) {
            Ok(Parsed::Complete { value, consumed }) => {
                prop_assert_eq!(consumed, wire.len());
                prop_assert_eq!(value, command);
            }
            other => prop_assert!(false, "{:?} -> {:?}", String::from_utf8_lossy(&wire), other),
        }
        for end in 0..wire.len() {
            prop_assert_eq!(parse_command(&wire[..end]), Ok(Parsed::Incomplete));
        }
    }

    #[test]
    fn response_round_trip(response in response()) {
        let wire = response.to_bytes();
        prop_assert!(wire.len() <= 512);
        let parsed = parse_response(&wire, true);
        prop_assert_eq!(parsed, Ok(Parsed::Complete { value: response.clone(), consumed: wire.len() }));
        for end in 0..wire.len() {
            prop_assert_eq!(parse_response(&wire[..end], true), Ok(Parsed::Incomplete));
        }
    }

    #[test]
    fn listing_round_trips(m in msg(), size in any::<u64>(), uid in "[!-~]{1,70}", caps in proptest::collection::vec("[!-~]{1,12}", 1..5)) {
        let scan = ScanListing { msg: m, size };
        prop_assert_eq!(ScanListing::parse(scan.to_string().as_bytes()), Ok(scan));
        let unique = UniqueIdListing { msg: m, uid };
        prop_assert_eq!(UniqueIdListing::parse(unique.to_string().as_bytes()), Ok(unique.clone()));
        let capability = Capability::with_params(caps[0].clone(), caps[1..].iter().cloned());
        let mut line = Vec::new();
        capability.encode(&mut line);
        prop_assert_eq!(Capability::parse(&line), Ok(capability));
    }

    #[test]
    fn challenge_round_trip(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut wire = Vec::new();
        encode_challenge(&data, &mut wire);
        prop_assert_eq!(
            parse_server_line(&wire, true),
            Ok(Parsed::Complete { value: ServerLine::Challenge(data), consumed: wire.len() })
        );
    }

    #[test]
    fn stuffing_matches_reference(body in body(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        let mut wire = Vec::new();
        let mut stuffer = DotStuffer::new();
        for piece in chunked(&body, &cuts) {
            stuffer.encode(piece, &mut wire);
        }
        stuffer.finish(&mut wire);
        prop_assert_eq!(&wire, &reference_stuff(&body));
    }

    #[test]
    fn unstuffing_inverts_stuffing(
        body in body(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        trailer in "[+-][A-Z]{0,5}",
    ) {
        let mut wire = reference_stuff(&body);
        let body_len = wire.len();
        wire.extend_from_slice(trailer.as_bytes());
        let mut decoded = Vec::new();
        let mut decoder = DotUnstuffer::new();
        let mut used = 0;
        for piece in chunked(&wire, &cuts) {
            let r = decoder.decode(piece, &mut decoded);
            used += r.consumed;
            if r.finished {
                break;
            }
        }
        prop_assert!(decoder.is_finished());
        prop_assert_eq!(used, body_len);
        prop_assert_eq!(decoded, normalized(&body));
    }

    /// Bodies streamed through a server connection and read back by a
    /// client connection, both fed in arbitrary pieces.
    #[test]
    fn retr_through_both_connections(
        bodies in proptest::collection::vec(body(), 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut server = ServerConnection::new(ServerConfig::new("hi"));
        let mut client = ClientConnection::new(Default::default());
        client.send(Command::User("u".into())).expect("valid");
        client.send(Command::Pass(Secret::new("p".into()))).expect("valid");
        for n in 1..=bodies.len() {
            let n = u32::try_from(n).expect("few bodies");
            client.send(Command::Retr(MessageNumber::new(n).expect("from 1"))).expect("valid");
        }
        let mut wire = Vec::new();
        client.poll_transmit(&mut wire);
        for piece in chunked(&wire, &cuts) {
            server.handle_input(piece);
            while let Some(event) = server.poll_event() {
                match event {
                    Event::Command(Command::Retr(m)) => {
                        server.start_multiline("follows").expect("RETR");
                        let body = &bodies[m.get() as usize - 1];
                        for part in chunked(body, &cuts) {
                            server.send_body_chunk(part).expect("open");
                        }
                        server.finish_multiline().expect("open");
                    }
                    Event::Command(_) => server.respond_ok("").expect("pending"),
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }
        let mut reply = Vec::new();
        server.poll_transmit(&mut reply);
        for piece in chunked(&reply, &cuts) {
            client.handle_input(piece);
        }
        let mut got: Vec<Vec<u8>> = Vec::new();
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Response { command: CommandKind::Retr, .. } => got.push(Vec::new()),
                ClientEvent::Data(d) => got.last_mut().expect("after response").extend(d),
                ClientEvent::Greeting(_) | ClientEvent::Response { .. } | ClientEvent::End { .. } => {}
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        let expected: Vec<Vec<u8>> = bodies.iter().map(|b| normalized(b)).collect();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(client.pending_commands(), 0);
    }

    /// Whatever arrives, in whatever pieces, the server neither panics nor
    /// buffers more than its bounds.
    #[test]
    fn server_survives_garbage(
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let mut server = ServerConnection::new(ServerConfig::new("hi"));
        for piece in chunked(&data, &cuts) {
            server.handle_input(piece);
            while let Some(event) = server.poll_event() {
                if let Event::Command(Command::Capa) = event {
                    server.respond_capabilities(&[Capability::new("TOP")]).expect("CAPA");
                } else if server.pending_command().is_some() {
                    server.respond_err(None, "no").expect("pending");
                }
            }
        }
    }
}
