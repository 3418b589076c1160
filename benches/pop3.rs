//! POP3 codec benchmarks.
//!
//! Inputs (generated, deterministic):
//! - `command_parse`: 12 typical command lines (USER, PASS, STAT, LIST,
//!   RETR, TOP, UIDL, DELE, AUTH with initial response, APOP, CAPA, QUIT).
//! - a 10 MiB message of 40-100 byte lines, one line in three starting
//!   with `.` (so the stuffing path is hot), with CRLF line ends, and the
//!   same message with LF-only line ends (which must go out as CRLF).
//!
//! Streaming benches feed 64 KiB chunks. `memcpy` copies the same bytes in
//! the same chunks into a reused buffer, for scale.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use postroom_pop3::{
    ClientConnection, ClientEvent, Command, DotStuffer, DotUnstuffer, Event, MessageNumber,
    ServerConfig, ServerConnection, parse_command,
};

const SIZE: usize = 10 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

fn message(line_end: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIZE + 128);
    let mut state: u32 = 0x1234_5678;
    let mut line = 0u32;
    while out.len() < SIZE {
        // xorshift: a cheap deterministic line length.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let len = 40 + (state % 61) as usize;
        if line % 3 == 0 {
            out.push(b'.');
        }
        out.extend((0..len).map(|i| b'a' + (i % 26) as u8));
        out.extend_from_slice(line_end);
        line += 1;
    }
    out.truncate(SIZE);
    out
}

fn stuffed(body: &[u8]) -> Vec<u8> {
    let mut wire = Vec::with_capacity(body.len() * 2);
    let mut s = DotStuffer::new();
    s.encode(body, &mut wire);
    s.finish(&mut wire);
    wire
}

fn command_parse(c: &mut Criterion) {
    let lines: &[&[u8]] = &[
        b"USER alice@example.org\r\n",
        b"PASS correct horse battery staple\r\n",
        b"STAT\r\n",
        b"LIST\r\n",
        b"RETR 17\r\n",
        b"TOP 3 10\r\n",
        b"UIDL 42\r\n",
        b"DELE 9\r\n",
        b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
        b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
        b"CAPA\r\n",
        b"QUIT\r\n",
    ];
    let bytes: usize = lines.iter().map(|l| l.len()).sum();
    let mut g = c.benchmark_group("pop3_command_parse");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function(format!("{} lines, {bytes} bytes", lines.len()), |b| {
        b.iter(|| {
            for line in lines {
                black_box(parse_command(black_box(line)).ok());
            }
        })
    });
    g.finish();
}

fn streaming(c: &mut Criterion) {
    let crlf = message(b"\r\n");
    let lf = message(b"\n");
    let wire = stuffed(&crlf);
    let mut g = c.benchmark_group("pop3_retr_10MiB");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(20);

    let mut out = Vec::with_capacity(SIZE * 2);
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            out.clear();
            for chunk in crlf.chunks(CHUNK) {
                out.extend_from_slice(chunk);
            }
            black_box(out.len())
        })
    });

    for (name, body) in [("crlf", &crlf), ("lf_only", &lf)] {
        g.bench_with_input(BenchmarkId::new("stuff", name), body, |b, body| {
            b.iter(|| {
                out.clear();
                let mut s = DotStuffer::new();
                for chunk in body.chunks(CHUNK) {
                    s.encode(chunk, &mut out);
                }
                s.finish(&mut out);
                black_box(out.len())
            })
        });
    }

    g.bench_function("unstuff", |b| {
        b.iter(|| {
            out.clear();
            let mut d = DotUnstuffer::new();
            for chunk in wire.chunks(CHUNK) {
                d.decode(chunk, &mut out);
            }
            assert!(d.is_finished());
            black_box(out.len())
        })
    });

    // The whole path: a server connection answering RETR, its output
    // drained after every chunk as a driver would.
    for (name, body) in [("crlf", &crlf), ("lf_only", &lf)] {
        g.bench_with_input(
            BenchmarkId::new("server_connection_retr", name),
            body,
            |b, body| {
                let mut sent = Vec::with_capacity(SIZE * 2);
                b.iter(|| {
                    let mut server = ServerConnection::new(ServerConfig::new("hi"));
                    server.handle_input(b"USER u\r\nPASS p\r\nRETR 1\r\n");
                    while let Some(event) = server.poll_event() {
                        match event {
                            Event::Command(Command::Retr(_)) => {
                                server.start_multiline("").expect("RETR");
                                for chunk in body.chunks(CHUNK) {
                                    server.send_body_chunk(chunk).expect("open");
                                    sent.clear();
                                    server.poll_transmit(&mut sent);
                                }
                                server.finish_multiline().expect("open");
                            }
                            _ => server.respond_ok("").expect("pending"),
                        }
                    }
                    black_box(sent.len())
                })
            },
        );
    }

    let mut reply = b"+OK hi\r\n+OK\r\n".to_vec();
    reply.extend_from_slice(&wire);
    g.bench_function("client_connection_retr", |b| {
        b.iter(|| {
            let mut client = ClientConnection::new(Default::default());
            client
                .send(Command::Retr(MessageNumber::new(1).expect("positive")))
                .expect("may send");
            let mut total = 0;
            for chunk in reply.chunks(CHUNK) {
                client.handle_input(chunk);
                while let Some(event) = client.poll_event() {
                    if let ClientEvent::Data(d) = event {
                        total += d.len();
                    }
                }
            }
            black_box(total)
        })
    });
    g.finish();
}

criterion_group!(benches, command_parse, streaming);
criterion_main!(benches);
