//! postroom-imap against imap-codec 2.0.0-alpha.10 on the same inputs.
//!
//! Inputs (a realistic mix): LOGIN, SELECT, UID FETCH with
//! BODY.PEEK[HEADER.FIELDS (...)], UID SEARCH with nested OR/NOT, APPEND
//! with a 10 KiB literal (LITERAL+), a 560-byte FETCH response with
//! BODYSTRUCTURE, a THREAD response nested 20 deep, and a FETCH response
//! with a 64 KiB BODY[] literal. Throughput is in input bytes.
//!
//! Groups:
//! - `parse_command/*`, `parse_response/*`: one complete message, one-shot;
//! - `encode_command/*`, `encode_response/*`: the parsed value back to bytes;
//! - `chunked/*/N`: a response fed in N-byte chunks. postroom feeds its
//!   resumable framer; imap-codec is driven the usual way, decoding the
//!   growing buffer from the start after every chunk until it is complete.
//!
//! Run: `cargo bench --bench imap` (add `-- --quick` for a short run).

// criterion_group! generates undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use imap_codec::decode::Decoder;
use imap_codec::encode::Encoder;
use imap_codec::{CommandCodec, ResponseCodec};
use postroom_imap::framer::{Frame, Framer, Side};
use postroom_imap::{
    CommandParseOptions, LiteralMode, ResponseParseOptions, encode_command_bytes, encode_response,
    parse_command, parse_response,
};
use postroom_types::Limits;

fn commands() -> Vec<(&'static str, Vec<u8>)> {
    let mut append = b"a5 APPEND INBOX (\\Seen) {10240+}\r\n".to_vec();
    append.extend((0..10240).map(|i| {
        if i % 78 == 77 {
            b'\n'
        } else {
            b'a' + (i % 26) as u8
        }
    }));
    append.extend_from_slice(b"\r\n");
    vec![
        ("login", b"a1 LOGIN user@example.com \"secret pass\"\r\n".to_vec()),
        ("select", b"a2 SELECT INBOX\r\n".to_vec()),
        (
            "uid_fetch_header_fields",
            b"a3 UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID REFERENCES)])\r\n".to_vec(),
        ),
        (
            "uid_search_nested",
            b"a4 UID SEARCH OR (FROM \"alice\" NOT SEEN) (OR SUBJECT \"quarterly report\" NOT (TO \"bob@example.com\" SINCE 1-Jan-2024)) UNDELETED NOT DELETED UID 1:50000\r\n".to_vec(),
        ),
        ("append_10k_literal", append),
    ]
}

fn fetch_response() -> Vec<u8> {
    b"* 12 FETCH (UID 4827 FLAGS (\\Seen $Forwarded) RFC822.SIZE 44827 BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\" \"format\" \"flowed\") NIL NIL \"quoted-printable\" 2271 61 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 10480 211 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"report-2024-q1-final.pdf\") \"<part3.id@example.com>\" \"Quarterly report Q1\" \"base64\" 30418 NIL (\"attachment\" (\"filename\" \"report-2024-q1-final.pdf\" \"size\" \"22220\")) NIL NIL) \"mixed\" (\"boundary\" \"----=_Part_123456_7890.1700000000000.mx.example\") NIL NIL NIL))\r\n".to_vec()
}

fn thread_response(depth: usize) -> Vec<u8> {
    // Every level has a leaf child and a branch, so each level nests.
    let mut s = String::from("* THREAD (1 ");
    let mut n = 2;
    for _ in 0..depth - 1 {
        s.push_str(&format!("({})({} ", n, n + 1));
        n += 2;
    }
    s.push_str(&format!("({})({})", n, n + 1));
    for _ in 0..depth - 1 {
        s.push(')');
    }
    s.push_str(")(1000 1001)(1002)\r\n");
    s.into_bytes()
}

fn body_response(size: usize) -> Vec<u8> {
    let mut r = format!("* 3 FETCH (UID 99 BODY[] {{{size}}}\r\n").into_bytes();
    r.extend((0..size).map(|i| {
        if i % 78 == 77 {
            b'\n'
        } else {
            b'a' + (i % 26) as u8
        }
    }));
    r.extend_from_slice(b")\r\n");
    r
}

fn responses() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("fetch_bodystructure_560b", fetch_response()),
        ("thread_20_deep", thread_response(20)),
        ("fetch_body_64k_literal", body_response(64 * 1024)),
        (
            "status_ok_copyuid",
            b"A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n".to_vec(),
        ),
    ]
}

fn parse(c: &mut Criterion) {
    let copts = CommandParseOptions::default();
    let ropts = ResponseParseOptions::default();
    parse_group(
        c,
        "parse_command",
        commands(),
        |i| parse_command(i, &copts).unwrap(),
        CommandCodec::default(),
    );
    parse_group(
        c,
        "parse_response",
        responses(),
        |i| parse_response(i, &ropts).unwrap(),
        ResponseCodec::default(),
    );
}

/// The group `group`: postroom's parser (`ours`) and imap-codec's `codec`
/// on each of `inputs`; imap-codec is left out of a row it cannot parse.
fn parse_group<T, D>(
    c: &mut Criterion,
    group: &str,
    inputs: Vec<(&'static str, Vec<u8>)>,
    ours: impl Fn(&[u8]) -> T,
    codec: D,
) where
    D: Decoder,
    for<'a> D::Error<'a>: std::fmt::Debug,
{
    let mut g = c.benchmark_group(group);
    for (name, input) in inputs {
        g.throughput(Throughput::Bytes(input.len() as u64));
        ours(&input);
        g.bench_with_input(BenchmarkId::new("postroom", name), &input, |b, i| {
            b.iter(|| ours(black_box(i)))
        });
        match codec.decode(&input) {
            Ok(_) => {
                g.bench_with_input(BenchmarkId::new("imap-codec", name), &input, |b, i| {
                    b.iter(|| codec.decode(black_box(i)).unwrap())
                });
            }
            Err(e) => eprintln!("imap-codec cannot parse {name}: {e:?}"),
        }
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let copts = CommandParseOptions::default();
    let ropts = ResponseParseOptions::default();
    let mut g = c.benchmark_group("encode_command");
    for (name, input) in commands() {
        g.throughput(Throughput::Bytes(input.len() as u64));
        let cmd = parse_command(&input, &copts).unwrap();
        g.bench_function(BenchmarkId::new("postroom", name), |b| {
            b.iter(|| encode_command_bytes(black_box(&cmd), LiteralMode::LiteralPlus))
        });
        let codec = CommandCodec::default();
        if let Ok((_, theirs)) = codec.decode(&input) {
            g.bench_function(BenchmarkId::new("imap-codec", name), |b| {
                b.iter(|| codec.encode(black_box(&theirs)).dump())
            });
        }
    }
    g.finish();
    let mut g = c.benchmark_group("encode_response");
    for (name, input) in responses() {
        g.throughput(Throughput::Bytes(input.len() as u64));
        let r = parse_response(&input, &ropts).unwrap();
        g.bench_function(BenchmarkId::new("postroom", name), |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(input.len());
                encode_response(black_box(&r), &mut out);
                out
            })
        });
        let codec = ResponseCodec::default();
        if let Ok((_, theirs)) = codec.decode(&input) {
            g.bench_function(BenchmarkId::new("imap-codec", name), |b| {
                b.iter(|| codec.encode(black_box(&theirs)).dump())
            });
        }
    }
    g.finish();
}

/// Feeds `input` in `chunk`-byte pieces to postroom's framer and parses the
/// message once it is complete.
fn postroom_chunked(input: &[u8], chunk: usize, opts: &ResponseParseOptions) -> usize {
    let mut f = Framer::new(Side::Client, Limits::imap_client());
    let mut n = 0;
    for piece in input.chunks(chunk) {
        f.push(piece);
        while let Some(frame) = f.poll() {
            if let Frame::Message { .. } = frame {
                let r = parse_response(f.message(), opts).unwrap();
                black_box(r);
                f.consume();
                n += 1;
            }
        }
    }
    n
}

/// The usual imap-codec loop: append the chunk, decode from the start.
fn imap_codec_chunked(input: &[u8], chunk: usize) -> usize {
    let codec = ResponseCodec::default();
    let mut buf = Vec::new();
    let mut n = 0;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        if let Ok((rest, r)) = codec.decode(&buf) {
            black_box(r);
            let used = buf.len() - rest.len();
            buf.drain(..used);
            n += 1;
        }
    }
    n
}

fn chunked(c: &mut Criterion) {
    let ropts = ResponseParseOptions::default();
    for (name, input) in [
        ("fetch_bodystructure_560b", fetch_response()),
        ("fetch_body_4k_literal", body_response(4 * 1024)),
        ("fetch_body_64k_literal", body_response(64 * 1024)),
    ] {
        let mut g = c.benchmark_group(format!("chunked/{name}"));
        g.throughput(Throughput::Bytes(input.len() as u64));
        for chunk in [1usize, 16, 4096] {
            if chunk == 1 && input.len() > 8192 {
                g.sample_size(10);
            }
            assert_eq!(postroom_chunked(&input, chunk, &ropts), 1);
            g.bench_with_input(BenchmarkId::new("postroom", chunk), &chunk, |b, &chunk| {
                b.iter(|| postroom_chunked(black_box(&input), chunk, &ropts))
            });
            // Quadratic for small chunks; skip the slowest case.
            if !(chunk == 1 && input.len() > 8192) && imap_codec_chunked(&input, chunk) == 1 {
                g.bench_with_input(
                    BenchmarkId::new("imap-codec", chunk),
                    &chunk,
                    |b, &chunk| b.iter(|| imap_codec_chunked(black_box(&input), chunk)),
                );
            }
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = parse, encode, chunked
}
criterion_main!(benches);
