//! postroom-mailbox benches over a generated Maildir shaped like real mail.
//!
//! Input: `POSTROOM_BENCH_MESSAGES` messages (default 10 000) written by
//! [`generate`] below into a temporary Maildir: sizes spread around 14 KB,
//! about 9 % with a base64 attachment, reply chains (In-Reply-To and
//! References), a third of the subjects as RFC 2047 encoded words, 70 %
//! \Seen. Throughput is reported in messages.
//!
//! With `POSTROOM_BENCH_DIR` set, the Maildir is generated there once and
//! reused by later runs (and not deleted); otherwise a temporary one is
//! made and removed.
//!
//! - `open/first`: the first open, UIDs assigned and written (no
//!   `courierimapuiddb`, no `postroom-index`).
//! - `open/cold`: a restart without `postroom-index` (UIDs known; every
//!   file is stat'ed).
//! - `open/warm`: a restart with `postroom-index`.
//! - `fetch/flags_envelope_cold`: a new handle without `postroom-index`,
//!   then FLAGS and ENVELOPE of every message (each header read, parsed).
//! - `fetch/flags_envelope_restart`: the same after a restart with
//!   `postroom-index` (envelopes come from the cache file).
//! - `fetch/flags_envelope_warm`: the same on a handle that has the
//!   envelopes in memory (a running server after the first FETCH).
//! - `fetch/bodystructure_warm`: BODYSTRUCTURE of every message on a
//!   handle opened with `postroom-index` (structures come from the cache
//!   file, decoded on each use).
//! - `search/text`: SEARCH TEXT for a word in one message, over all.
//!
//! With `POSTROOM_BENCH_CPU` set (to `1`, or to a part of the names to
//! run), no criterion run: the process CPU time (user + system, all
//! threads, from `/proc/self/stat`) of each operation above is printed
//! instead, a measure that other load on the machine disturbs far less
//! than wall time.
//!
//! The resident memory the index of an open mailbox takes (messages,
//! envelopes, sort key records and BODYSTRUCTUREs, from `VmRSS` deltas)
//! is printed.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// Resident set size of this process in KiB (Linux), 0 elsewhere.
fn vm_rss_kib() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Times `work` after an untimed `prep`; the mailbox handle `work` returns
/// is dropped (which may write `postroom-index`) outside the timing, and
/// before the next iteration, so every iteration opens a new handle.
fn timed(
    b: &mut criterion::Bencher<'_>,
    mut prep: impl FnMut(),
    mut work: impl FnMut() -> Arc<Mailbox>,
) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            prep();
            let t = Instant::now();
            let mb = work();
            total += t.elapsed();
            drop(mb);
        }
        total
    })
}

fn bench_root(count: usize) -> PathBuf {
    if let Some(dir) = std::env::var_os("POSTROOM_BENCH_DIR") {
        let root = PathBuf::from(dir);
        let have = fs::read_dir(root.join("cur")).map_or(0, |d| d.count());
        if have != count {
            let _ = fs::remove_dir_all(&root);
            generate(&root, count);
        }
        return root;
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let root = std::env::temp_dir().join(format!("postroom-bench-{}-{stamp}", std::process::id()));
    generate(&root, count);
    root
}

/// The child side of the memory measurement: prints the resident memory
/// an open mailbox with all envelopes and sort key records takes.
fn rss_child(root: &Path) {
    let before = vm_rss_kib();
    let store = MaildirStore::new(root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    for m in mb.messages() {
        mb.envelope(m.uid).unwrap();
        mb.sort_key(m.uid).unwrap();
        mb.body_structure(m.uid).unwrap();
    }
    let after = vm_rss_kib();
    println!(
        "index of {} messages: {} KiB resident (VmRSS delta)",
        mb.len(),
        after.saturating_sub(before)
    );
    // Leave the cache file as it is.
    std::mem::forget(mb);
    std::process::exit(0);
}

/// CPU time of this process so far (all threads, Linux), zero elsewhere.
fn cpu_time() -> Duration {
    let Ok(stat) = fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which ends with the last ')'):
    // utime and stime are the 12th and 13th, in clock ticks (100 Hz).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}

/// Prints the CPU time per run of `op` (run `runs` times; `prep` and the
/// drop of what `op` returns are not counted).
fn cpu_report<T>(name: &str, runs: u32, mut prep: impl FnMut(), mut op: impl FnMut() -> T) {
    let only = std::env::var("POSTROOM_BENCH_CPU").unwrap_or_default();
    if only != "1" && !name.contains(only.as_str()) {
        return;
    }
    let mut total = Duration::ZERO;
    let mut wall_total = Duration::ZERO;
    for _ in 0..runs {
        prep();
        let (c0, w0) = (cpu_time(), Instant::now());
        let out = op();
        total += cpu_time() - c0;
        wall_total += w0.elapsed();
        drop(out);
    }
    println!(
        "{name}: {:.1} ms CPU per run, {:.1} ms wall per run ({runs} runs)",
        total.as_secs_f64() * 1000.0 / f64::from(runs),
        wall_total.as_secs_f64() * 1000.0 / f64::from(runs)
    );
}

fn cpu_mode(root: &Path, count: usize) {
    let index = root.join("postroom-index");
    let open = || {
        let store = MaildirStore::new(root).unwrap();
        let mb = store.open(&MailboxName::inbox()).unwrap();
        assert_eq!(mb.len(), count);
        mb
    };
    cpu_report(
        "open/cold",
        3,
        || {
            let _ = fs::remove_file(&index);
        },
        open,
    );
    {
        let mb = open();
        flags_envelopes(&mb);
        for m in mb.messages() {
            mb.sort_key(m.uid).unwrap();
            mb.body_structure(m.uid).unwrap();
        }
    }
    // Twice: the first open after the cache was written may still see
    // unsettled stamps and scan once more (then rewrites the cache).
    drop(open());
    cpu_report("open/warm", 20, || {}, open);
    cpu_report(
        "fetch/flags_envelope_restart",
        5,
        || {},
        || {
            let mb = open();
            flags_envelopes(&mb);
            mb
        },
    );
    let mb = open();
    cpu_report(
        "fetch/flags_envelope_warm",
        10,
        || {},
        || flags_envelopes(&mb),
    );
    let session = Session::open(Arc::clone(&mb), true).unwrap();
    cpu_report(
        "search/text",
        3,
        || {},
        || {
            let r = session
                .search(None, &SearchKey::Text("xylophonist".into()))
                .unwrap();
            assert_eq!(r.len(), 1);
        },
    );
}

fn benches(c: &mut Criterion) {
    if let Some(root) = std::env::var_os("POSTROOM_BENCH_RSS_CHILD") {
        rss_child(Path::new(&root));
    }
    if std::env::var_os("POSTROOM_BENCH_CPU").is_some() {
        let count: usize = std::env::var("POSTROOM_BENCH_MESSAGES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        cpu_mode(&bench_root(count), count);
        return;
    }
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
    let index = root.join("postroom-index");
    let open = || {
        let store = MaildirStore::new(&root).unwrap();
        let mb = store.open(&MailboxName::inbox()).unwrap();
        assert_eq!(mb.len(), count);
        mb
    };
    g.bench_function("first", |b| {
        timed(
            b,
            || {
                let _ = fs::remove_file(root.join("courierimapuiddb"));
                let _ = fs::remove_file(&index);
            },
            open,
        )
    });
    g.bench_function("cold", |b| {
        timed(
            b,
            || {
                let _ = fs::remove_file(&index);
            },
            open,
        )
    });
    // Build the cache file once: a full FETCH ENVELOPE, BODYSTRUCTURE and
    // sort keys, then the handle is dropped (which writes it).
    {
        let mb = open();
        flags_envelopes(&mb);
        for m in mb.messages() {
            mb.sort_key(m.uid).unwrap();
            mb.body_structure(m.uid).unwrap();
        }
    }
    g.bench_function("warm", |b| timed(b, || {}, open));
    g.finish();
    // Memory: a child process (this binary again) opens the mailbox with
    // its cache and holds every envelope and sort key record.
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .env("POSTROOM_BENCH_RSS_CHILD", &root)
        .output()
        .unwrap();
    eprintln!(
        "{} (postroom-index {} bytes)",
        String::from_utf8_lossy(&child.stdout).trim(),
        fs::metadata(&index).map_or(0, |m| m.len())
    );

    let mut g = c.benchmark_group("fetch");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(count as u64));
    let open_fetch = || {
        // No other handle is open here, so this one starts empty.
        let fresh = open();
        flags_envelopes(&fresh);
        fresh
    };
    g.bench_function("flags_envelope_cold", |b| {
        timed(
            b,
            || {
                let _ = fs::remove_file(&index);
            },
            open_fetch,
        )
    });
    // Dropping the last handle above wrote the cache file again.
    g.bench_function("flags_envelope_restart", |b| timed(b, || {}, open_fetch));
    let store = MaildirStore::new(&root).unwrap();
    let mb = store.open(&MailboxName::inbox()).unwrap();
    let session = Session::open(Arc::clone(&mb), true).unwrap();
    g.bench_function("flags_envelope_warm", |b| b.iter(|| flags_envelopes(&mb)));
    g.bench_function("bodystructure_warm", |b| {
        b.iter(|| {
            let mut n = 0;
            for m in mb.messages() {
                n += usize::from(matches!(
                    *mb.body_structure(m.uid).unwrap(),
                    postroom::types::BodyStructure::Multipart { .. }
                ));
            }
            n
        })
    });
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
    if std::env::var_os("POSTROOM_BENCH_DIR").is_none() {
        let _ = fs::remove_dir_all(&root);
    }
}

criterion_group!(mailbox, benches);
criterion_main!(mailbox);
