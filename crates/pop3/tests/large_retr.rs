//! A 50 MB RETR through both connections in chunks, never held whole: the
//! body is generated chunk by chunk with LF-only line ends and many lines
//! starting with `.`; the client's decoded data is compared with the CRLF
//! form of the same body by length and running hash.

use postroom_pop3::{
    ClientConnection, ClientEvent, Command, Event, MessageNumber, ServerConfig, ServerConnection,
};

const TOTAL: usize = 50 * 1000 * 1000;
const SERVER_CHUNK: usize = 65_521;
const WIRE_CHUNK: usize = 4_099;

/// Deterministic body lines: every other line starts with `.`, some are
/// only `.`, lengths vary so line ends fall anywhere in a chunk.
struct Lines {
    n: usize,
}

impl Lines {
    fn line(&mut self, line_end: &[u8], out: &mut Vec<u8>) {
        self.n += 1;
        match self.n % 7 {
            0 => out.push(b'.'),
            1 | 3 | 5 => {
                out.extend_from_slice(b"..");
                out.extend(std::iter::repeat_n(b'x', self.n % 97));
            }
            _ => out.extend(std::iter::repeat_n(b'y', self.n % 131)),
        }
        out.extend_from_slice(line_end);
    }
}

#[derive(Default)]
struct Hash {
    h: u64,
    len: usize,
}

impl Hash {
    fn add(&mut self, data: &[u8]) {
        for &b in data {
            self.h = (self.h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.len += data.len();
    }
}

#[test]
fn fifty_megabytes_stream_through() {
    let mut server = ServerConnection::new(ServerConfig::new("hi"));
    let mut client = ClientConnection::new(Default::default());
    for command in [
        Command::User("u".into()),
        Command::Pass("p".to_owned().into()),
        Command::Retr(MessageNumber::new(1).expect("positive")),
        Command::Quit,
    ] {
        client.send(command).expect("may send");
    }
    let mut wire = Vec::new();
    client.poll_transmit(&mut wire);
    server.handle_input(&wire);

    let mut expected = Hash::default();
    let mut received = Hash::default();
    let mut largest_event = 0;
    let mut largest_output = 0;
    let mut ends = 0;

    let mut feed_client = |client: &mut ClientConnection, bytes: &[u8]| {
        for piece in bytes.chunks(WIRE_CHUNK) {
            client.handle_input(piece);
            while let Some(event) = client.poll_event() {
                match event {
                    ClientEvent::Data(d) => {
                        largest_event = largest_event.max(d.len());
                        received.add(&d);
                    }
                    ClientEvent::End { .. } => ends += 1,
                    ClientEvent::Greeting(_) | ClientEvent::Response { .. } => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    };

    let mut out = Vec::new();
    while let Some(event) = server.poll_event() {
        match event {
            Event::Command(Command::Retr(_)) => {
                server.start_multiline("message follows").expect("RETR");
                let mut lines = Lines { n: 0 };
                let mut lf_chunk = Vec::with_capacity(SERVER_CHUNK + 256);
                let mut crlf_chunk = Vec::with_capacity(SERVER_CHUNK + 512);
                let mut lines_crlf = Lines { n: 0 };
                let mut sent = 0;
                while sent < TOTAL {
                    lf_chunk.clear();
                    crlf_chunk.clear();
                    while lf_chunk.len() < SERVER_CHUNK {
                        lines.line(b"\n", &mut lf_chunk);
                        lines_crlf.line(b"\r\n", &mut crlf_chunk);
                    }
                    sent += lf_chunk.len();
                    expected.add(&crlf_chunk);
                    // Split each generated chunk unevenly in two.
                    let (a, b) = lf_chunk.split_at(lf_chunk.len() / 3);
                    server.send_body_chunk(a).expect("open");
                    server.send_body_chunk(b).expect("open");
                    largest_output = largest_output.max(server.buffered_output());
                    out.clear();
                    server.poll_transmit(&mut out);
                    feed_client(&mut client, &out);
                }
                server.finish_multiline().expect("open");
            }
            Event::Command(_) => server.respond_ok("").expect("pending"),
            Event::Closing(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    out.clear();
    server.poll_transmit(&mut out);
    feed_client(&mut client, &out);

    assert!(expected.len >= TOTAL);
    assert_eq!((received.len, received.h), (expected.len, expected.h));
    assert_eq!(ends, 1);
    assert!(client.is_closed() && server.is_closed());
    // Nothing near the size of the body was ever buffered.
    assert!(largest_event <= WIRE_CHUNK, "{largest_event}");
    assert!(largest_output < 3 * SERVER_CHUNK, "{largest_output}");
}
