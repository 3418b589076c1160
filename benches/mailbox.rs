//! postroom-mailbox benches over a generated Maildir shaped like real mail.
//!
//! Input: `POSTROOM_BENCH_MESSAGES` messages (default 10 000) written by
//! [`generate`] below into a temporary Maildir: sizes spread around 14 KB,
//! about 9 % with a base64 attachment, reply chains (In-Reply-To and
//! References), a third of the subjects as RFC 2047 encoded words, 70 %
//! \Seen. Throughput is reported in messages.
//!
//! - `open/restart`: a new handle on a Maildir that has its
//!   `courierimapuiddb` (what a server restart does).
//! - `open/first`: the first open, UIDs assigned and written.
//! - `fetch/flags_envelope_cold`: a new handle, then FLAGS and ENVELOPE of
//!   every message (each header read and parsed; nothing is persisted).
//! - `fetch/flags_envelope_warm`: the same on a handle that has the
//!   envelopes in memory (a running server after the first FETCH).
//! - `search/text`: SEARCH TEXT for a word in one message, over all.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use postroom::mailbox::{Mailbox, MaildirStore, Session, Store};
use postroom::types::{MailboxName, SearchKey};

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "meeting",
    "invoice",
    "project",
    "report",
    "schedule",
    "budget",
    "review",
    "release",
    "update",
    "server",
    "mailbox",
    "quarterly",
    "travel",
    "lunch",
    "deadline",
    "proposal",
    "contract",
    "support",
    "customer",
    "draft",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s
}

/// Writes `count` messages into `root/cur` and returns the root.
fn generate(root: &Path, count: usize) {
    for d in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let base_time = 1_700_000_000u64;
    for i in 0..count {
        let mut m = String::new();
        let from = format!("user{}@example{}.org", rng.below(200), rng.below(20));
        m.push_str("Return-Path: <bounce@example.net>\n");
        for hop in 0..3 {
            m.push_str(&format!(
                "Received: from mx{hop}.example.net (mx{hop}.example.net [192.0.2.{}])\n\tby mail.example.com with ESMTPS id {i}x{hop}\n\tfor <alice@example.com>; Tue, 14 Nov 2023 10:{:02}:00 +0000\n",
                rng.below(250),
                rng.below(60)
            ));
        }
        m.push_str(&format!("From: \"User {}\" <{from}>\n", rng.below(200)));
        m.push_str("To: Alice <alice@example.com>\n");
        if rng.below(3) == 0 {
            m.push_str("Cc: team@example.com, Bob <bob@example.com>\n");
        }
        let topic = sentence(&mut rng, 4);
        if rng.below(3) == 0 {
            m.push_str("Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_");
            m.push_str(&topic.replace(' ', "_"));
            m.push_str("?=\n");
        } else if i > 0 && rng.below(2) == 0 {
            m.push_str(&format!("Subject: Re: {topic}\n"));
            let parent = rng.below(i as u64);
            m.push_str(&format!("In-Reply-To: <msg{parent}@example.org>\nReferences: <msg{}@example.org> <msg{parent}@example.org>\n", parent / 2));
        } else {
            m.push_str(&format!("Subject: {topic}\n"));
        }
        m.push_str(&format!(
            "Date: Tue, 14 Nov 2023 {:02}:{:02}:00 +0100\n",
            rng.below(24),
            rng.below(60)
        ));
        m.push_str(&format!(
            "Message-ID: <msg{i}@example.org>\nMIME-Version: 1.0\n"
        ));
        // Body size spread around ~14 KB on average (with attachments).
        let text_lines = 20 + rng.below(160) as usize;
        let mut body = String::new();
        for _ in 0..text_lines {
            body.push_str(&sentence(&mut rng, 9));
            body.push('\n');
        }
        if i == count / 2 {
            body.push_str("the needle xylophonist appears once\n");
        }
        if rng.below(100) < 9 {
            m.push_str("Content-Type: multipart/mixed; boundary=\"b-b-b\"\n\n--b-b-b\nContent-Type: text/plain; charset=utf-8\n\n");
            m.push_str(&body);
            m.push_str("--b-b-b\nContent-Type: application/pdf; name=\"r.pdf\"\nContent-Disposition: attachment; filename=\"r.pdf\"\nContent-Transfer-Encoding: base64\n\n");
            let lines = 200 + rng.below(1200);
            for _ in 0..lines {
                let mut l = String::with_capacity(77);
                for _ in 0..76 {
                    l.push(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                            [rng.below(64) as usize] as char,
                    );
                }
                m.push_str(&l);
                m.push('\n');
            }
            m.push_str("--b-b-b--\n");
        } else {
            m.push_str("Content-Type: text/plain; charset=utf-8\n\n");
            m.push_str(&body);
        }
        let flags = if rng.below(10) < 7 { "S" } else { "" };
        let name = format!(
            "{}.M{i}P1.gen,S={}:2,{flags}",
            base_time + i as u64,
            m.len()
        );
        fs::write(root.join("cur").join(name), m).unwrap();
    }
}

/// FETCH 1:* (FLAGS ENVELOPE): every message's flags and envelope.
fn flags_envelopes(mb: &Mailbox) -> usize {
    let mut n = 0;
    for m in mb.messages() {
        let env = mb.envelope(m.uid).unwrap();
        n += usize::from(env.subject.is_some()) + m.flags.to_flags().len();
    }
    n
}

fn bench_root(count: usize) -> PathBuf {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let root = std::env::temp_dir().join(format!("postroom-bench-{}-{stamp}", std::process::id()));
    generate(&root, count);
    root
}

fn benches(c: &mut Criterion) {
    let count: usize = std::env::var("POSTROOM_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let root = bench_root(count);
    let total: u64 = fs::read_dir(root.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    eprintln!(
        "generated {count} messages, {} bytes (average {} bytes)",
        total,
        total / count as u64
    );

    let mut g = c.benchmark_group("open");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(count as u64));
    g.bench_function("first", |b| {
        b.iter(|| {
            let _ = fs::remove_file(root.join("courierimapuiddb"));
            let store = MaildirStore::new(&root).unwrap();
            let mb = store.open(&MailboxName::inbox()).unwrap();
            assert_eq!(mb.len(), count);
        })
    });
    g.bench_function("restart", |b| {
        b.iter(|| {
            let store = MaildirStore::new(&root).unwrap();
            let mb = store.open(&MailboxName::inbox()).unwrap();
            assert_eq!(mb.len(), count);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("fetch");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(count as u64));
    g.bench_function("flags_envelope_cold", |b| {
        b.iter(|| {
            let store = MaildirStore::new(&root).unwrap();
            let fresh = store.open(&MailboxName::inbox()).unwrap();
            // No other handle is open here, so this one starts empty.
            flags_envelopes(&fresh)
        })
    });
    let store = MaildirStore::new(&root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    let session = Session::open(Arc::clone(&mb), true).unwrap();
    g.bench_function("flags_envelope_warm", |b| b.iter(|| flags_envelopes(&mb)));
    g.finish();

    let mut g = c.benchmark_group("search");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(count as u64));
    g.bench_function("text", |b| {
        b.iter(|| {
            let r = session
                .search(None, &SearchKey::Text("xylophonist".into()))
                .unwrap();
            assert_eq!(r.len(), 1);
        })
    });
    g.finish();
    drop(session);
    drop(mb);
    let _ = fs::remove_dir_all(&root);
}

criterion_group!(mailbox, benches);
criterion_main!(mailbox);
