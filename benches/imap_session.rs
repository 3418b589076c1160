//! postroom-server: the IMAP session over a Maildir.
//!
//! Input: a Maildir in a temporary directory holding 2,000 generated
//! messages (about 1.2 KB each: From, To, Subject from 50 threads with
//! `Re:` replies, Date, Message-ID, In-Reply-To/References for every
//! reply, a text body), appended through the session. Each iteration runs
//! one command through a logged-in `postroom_server::imap::Session` with
//! INBOX selected, output drained; throughput in messages.
//!
//! - `imap_session/select`: `SELECT INBOX`.
//! - `imap_session/fetch_flags_envelope`: `FETCH 1:* (FLAGS ENVELOPE)`
//!   (envelopes cached by the mailbox after the first run).
//! - `imap_session/search_text`: `SEARCH TEXT needle` (matches 1 in 100).
//! - `imap_session/sort_date`: `SORT (DATE) UTF-8 ALL` (the mailbox caches
//!   key records, so only the first run parses headers).
//! - `imap_session/thread_references`: `THREAD REFERENCES UTF-8 ALL`.

// criterion_group! defines an undocumented function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use postroom::access::maildirsize::QuotaDefinition;
use postroom::server::imap::{Directory, MaildirsizeQuota, ServiceConfig, Session, Transport};
use postroom::server::users::UserDb;

const MESSAGES: usize = 2_000;

fn message(i: usize) -> String {
    let thread = i % 50;
    let reply = i >= 50;
    let subject = if reply {
        format!("Re: topic number {thread}")
    } else {
        format!("topic number {thread}")
    };
    let refs = if reply {
        let parent = i - 50;
        format!("In-Reply-To: <m{parent}@example.org>\r\nReferences: <m{parent}@example.org>\r\n")
    } else {
        String::new()
    };
    let needle = if i % 100 == 7 { "needle" } else { "hay" };
    let body = format!("line of text for message {i} with some {needle} words\r\n").repeat(12);
    format!(
        "From: Sender {i} <s{i}@example.org>\r\nTo: r@example.org\r\nSubject: {subject}\r\nDate: Mon, {} Jan 2024 {:02}:{:02}:00 +0000\r\nMessage-ID: <m{i}@example.org>\r\n{refs}\r\n{body}",
        1 + (i * 7) % 28,
        (i * 13) % 24,
        i % 60
    )
}

fn run(s: &mut Session, out: &mut Vec<u8>, line: &[u8]) {
    s.handle_input(line);
    out.clear();
    while s.poll_transmit(out) > 0 {}
    assert!(
        out.windows(4).any(|w| w == b" OK "),
        "{}",
        String::from_utf8_lossy(out)
    );
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let users = UserDb::parse(b"bench:{PLAIN}bench\n").unwrap();
    let directory = Directory::new(
        users,
        dir.path().join("mail"),
        MaildirsizeQuota::new(QuotaDefinition::default()),
    );
    let config = Arc::new(ServiceConfig::new(Arc::new(directory)));
    let mut s = Session::new(
        config,
        "127.0.0.1:1".parse().ok(),
        Transport::Plain { starttls: false },
    );
    let mut out = Vec::new();
    run(&mut s, &mut out, b"a LOGIN bench bench\r\n");
    for i in 0..MESSAGES {
        let m = message(i);
        let cmd = format!("p APPEND INBOX {{{}+}}\r\n{m}\r\n", m.len());
        run(&mut s, &mut out, cmd.as_bytes());
    }
    run(&mut s, &mut out, b"s SELECT INBOX\r\n");

    let mut group = c.benchmark_group("imap_session");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    let cases: [(&str, &[u8]); 5] = [
        ("select", b"s SELECT INBOX\r\n"),
        ("fetch_flags_envelope", b"f FETCH 1:* (FLAGS ENVELOPE)\r\n"),
        ("search_text", b"q SEARCH TEXT needle\r\n"),
        ("sort_date", b"o SORT (DATE) UTF-8 ALL\r\n"),
        ("thread_references", b"t THREAD REFERENCES UTF-8 ALL\r\n"),
    ];
    for (name, line) in cases {
        group.bench_function(name, |b| b.iter(|| run(&mut s, &mut out, line)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
