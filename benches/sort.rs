//! postroom-sort: THREAD and SORT over generated mailboxes.
//!
//! Input: a deterministic generator (xorshift, fixed seed) of realistic
//! mailboxes of 10k, 100k and 1M messages: about 30% of messages start a
//! thread, the rest reply to a recent message (References = the parent's
//! list, last 10 kept, plus the parent's id; or only In-Reply-To); 5% of
//! messages are missing (their replies point at absent parents); 10% of
//! replies carry no ids at all (subject-only threads); subjects get `Re:`,
//! `RE:`, `Fwd:`, `[list]` and `(fwd)` noise and 5% are RFC 2047 encoded;
//! 2% have no Date and 1% an unparsable one.
//!
//! Benchmarks (throughput in messages):
//! - `key_records/N`: building key records from raw header values (RFC 2047
//!   decoding, base subject, casemap, addresses, dates, message ids);
//! - `thread_references/N`, `thread_orderedsubject/N`, `sort_subject_date/N`:
//!   from key records already in memory, producing the `Thread` / number
//!   list a server would encode.
//!
//! The `sort_cpu/*` group repeats the three timed operations at 100k and 1M
//! measuring the benchmark thread's CPU time (from
//! `/proc/thread-self/schedstat`, Linux only) instead of wall time, so a
//! machine shared with other work still gives comparable figures, plus
//! `sort_cpu/thread_references_hostile/{30k,300k}`: an input built to
//! break a link below a deep chain for every message (near n log n, not
//! quadratic).
//!
//! Run: `cargo bench --bench sort -- --warm-up-time 1 --measurement-time 5`.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use postroom_sort::{KeyRecord, RawMessage, SortCriterion, SortKey, ThreadAlgorithm, sort, thread};

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

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Owned raw header values of one generated message.
struct Raw {
    internal: i64,
    size: u64,
    date: Option<Vec<u8>>,
    subject: Vec<u8>,
    from: Vec<u8>,
    to: Vec<u8>,
    cc: Option<Vec<u8>>,
    id: Vec<u8>,
    irt: Option<Vec<u8>>,
    refs: Option<Vec<u8>>,
}

impl Raw {
    fn as_raw(&self, number: u32) -> RawMessage<'_> {
        RawMessage {
            number,
            internal_date: self.internal,
            size: self.size,
            date: self.date.as_deref(),
            subject: Some(&self.subject),
            from: Some(&self.from),
            to: Some(&self.to),
            cc: self.cc.as_deref(),
            message_id: Some(&self.id),
            in_reply_to: self.irt.as_deref(),
            references: self.refs.as_deref(),
        }
    }
}

const WORDS: [&str; 24] = [
    "meeting",
    "lunch",
    "release",
    "budget",
    "report",
    "server",
    "outage",
    "plan",
    "draft",
    "review",
    "invoice",
    "holiday",
    "party",
    "update",
    "question",
    "patch",
    "bug",
    "design",
    "hiring",
    "offsite",
    "quarterly",
    "numbers",
    "weekly",
    "notes",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn rfc2822(t: i64, rng: &mut Rng) -> Vec<u8> {
    let offset_h = rng.below(25) as i64 - 12;
    let local = t + offset_h * 3600;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    // Civil date from days since 1970-01-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "Tue, {d} {} {y} {:02}:{:02}:{:02} {}{:02}00",
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        if offset_h < 0 { '-' } else { '+' },
        offset_h.abs()
    )
    .into_bytes()
}

fn generate(n: usize) -> Vec<Raw> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n as u64);
    // Per generated message: its id, reference chain and topic, so replies
    // can refer back to it even when it is missing from the mailbox.
    let mut ids: Vec<String> = Vec::with_capacity(n);
    let mut chains: Vec<Vec<u32>> = Vec::with_capacity(n);
    let mut topics: Vec<String> = Vec::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    let mut t: i64 = 1_600_000_000;
    let mut k = 0usize;
    while out.len() < n {
        t += rng.below(600) as i64;
        let id = format!("<{:x}.{k}@mail{}.example.com>", rng.next(), k % 7);
        let starts_thread = k == 0 || rng.chance(30);
        let (topic, chain, irt, refs, subject) = if starts_thread {
            let topic = format!(
                "{} {} {}",
                WORDS[rng.below(24) as usize],
                WORDS[rng.below(24) as usize],
                rng.below(1000)
            );
            let subject = topic.clone();
            (topic, Vec::new(), None, None, subject)
        } else {
            // Reply to a recent message.
            let window = k.min(2000) as u64;
            let parent = k - 1 - rng.below(window) as usize;
            let topic = topics[parent].clone();
            let mut chain = chains[parent].clone();
            chain.push(parent as u32);
            if chain.len() > 11 {
                chain.drain(..chain.len() - 11);
            }
            let prefix = match rng.below(10) {
                0 => "RE: ",
                1 => "Fwd: ",
                2 => "[list] Re: ",
                3 => "Re: Re: ",
                _ => "Re: ",
            };
            let mut subject = format!("{prefix}{topic}");
            if rng.chance(3) {
                subject.push_str(" (fwd)");
            }
            let (irt, refs) = if rng.chance(10) {
                (None, None) // subject-only threading
            } else if rng.chance(20) {
                (Some(ids[parent].clone().into_bytes()), None)
            } else {
                let refs: Vec<&str> = chain.iter().map(|&c| ids[c as usize].as_str()).collect();
                (
                    Some(ids[parent].clone().into_bytes()),
                    Some(refs.join("\r\n ").into_bytes()),
                )
            };
            (topic, chain, irt, refs, subject)
        };
        let subject = if rng.chance(5) {
            let q: String = subject
                .bytes()
                .map(|b| match b {
                    b' ' => "_".to_string(),
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
                    _ => format!("={b:02X}"),
                })
                .collect();
            format!("=?utf-8?q?{q}?=").into_bytes()
        } else {
            subject.into_bytes()
        };
        let date = match rng.below(100) {
            0 | 1 => None,
            2 => Some(b"not a date".to_vec()),
            _ => Some(rfc2822(t - rng.below(120) as i64, &mut rng)),
        };
        let who = |rng: &mut Rng| {
            let u = rng.below(1000);
            format!("\"User {u}\" <user{u}@example{}.org>", u % 13).into_bytes()
        };
        let raw = Raw {
            internal: t + rng.below(30) as i64,
            size: 800 + rng.below(50_000),
            date,
            subject,
            from: who(&mut rng),
            to: who(&mut rng),
            cc: rng.chance(30).then(|| who(&mut rng)),
            id: id.clone().into_bytes(),
            irt,
            refs,
        };
        ids.push(id);
        chains.push(chain);
        topics.push(topic);
        // 5% of messages are missing from the mailbox.
        if !rng.chance(5) {
            out.push(raw);
        }
        k += 1;
    }
    out
}

fn benches(c: &mut Criterion) {
    for &n in &[10_000usize, 100_000, 1_000_000] {
        let raws = generate(n);
        let keys = key_records(&raws);
        let msgs = numbered(&keys);
        let label = match n {
            10_000 => "10k",
            100_000 => "100k",
            _ => "1M",
        };
        let mut g = c.benchmark_group("sort");
        g.throughput(Throughput::Elements(n as u64));
        if n >= 1_000_000 {
            g.sample_size(10);
        }
        g.bench_function(BenchmarkId::new("key_records", label), |b| {
            b.iter(|| key_records(&raws))
        });
        timed_operations(&mut g, label, &msgs);
        g.finish();
    }
}

/// Key records of generated messages, numbered from 1.
fn key_records(raws: &[Raw]) -> Vec<KeyRecord> {
    raws.iter()
        .enumerate()
        .map(|(i, r)| KeyRecord::from_raw(&r.as_raw(i as u32 + 1)))
        .collect()
}

/// The records as THREAD and SORT take them, numbered from 1.
fn numbered(keys: &[KeyRecord]) -> Vec<(u32, &KeyRecord)> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| (i as u32 + 1, k))
        .collect()
}

/// The three operations timed at every size: THREAD REFERENCES, THREAD
/// ORDEREDSUBJECT and SORT (SUBJECT DATE).
fn timed_operations<M: Measurement>(
    g: &mut BenchmarkGroup<'_, M>,
    label: &str,
    msgs: &[(u32, &KeyRecord)],
) {
    g.bench_function(BenchmarkId::new("thread_references", label), |b| {
        b.iter(|| thread(msgs, ThreadAlgorithm::References))
    });
    g.bench_function(BenchmarkId::new("thread_orderedsubject", label), |b| {
        b.iter(|| thread(msgs, ThreadAlgorithm::OrderedSubject))
    });
    let program = [
        SortCriterion::asc(SortKey::Subject),
        SortCriterion::asc(SortKey::Date),
    ];
    g.bench_function(BenchmarkId::new("sort_subject_date", label), |b| {
        b.iter(|| sort(msgs, &program))
    });
}

/// Thread CPU time, from the scheduler's per-thread runtime (nanoseconds).
struct ThreadCpu;

fn thread_cpu_nanos() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) is needed for the sort_cpu benches")
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = Duration;

    fn start(&self) -> u64 {
        thread_cpu_nanos()
    }

    fn end(&self, start: u64) -> Duration {
        Duration::from_nanos(thread_cpu_nanos().saturating_sub(start))
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = if typical < 1e3 {
            (1.0, "ns cpu")
        } else if typical < 1e6 {
            (1e3, "µs cpu")
        } else if typical < 1e9 {
            (1e6, "ms cpu")
        } else {
            (1e9, "s cpu")
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let n = match throughput {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                *n as f64
            }
        };
        // Per second of CPU time, in millions.
        values.iter_mut().for_each(|v| *v = n * 1e9 / *v / 1e6);
        "M/s cpu"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn cpu_benches(c: &mut Criterion<ThreadCpu>) {
    for &n in &[100_000usize, 1_000_000] {
        let raws = generate(n);
        let keys = key_records(&raws);
        drop(raws);
        let msgs = numbered(&keys);
        let label = if n == 100_000 { "100k" } else { "1M" };
        let mut g = c.benchmark_group("sort_cpu");
        g.throughput(Throughput::Elements(n as u64));
        if n >= 1_000_000 {
            g.sample_size(10);
        }
        timed_operations(&mut g, label, &msgs);
        g.finish();
    }
    // Hostile input: a chain of n/3 messages, then n/3 pairs that each
    // break a link right below the chain's end (see the crate's
    // `broken_links_below_a_deep_chain` test). Walking the chain for each
    // pair would be quadratic; the link-cut tree keeps it near n log n.
    for &n in &[30_000usize, 300_000] {
        let keys = hostile(n);
        let msgs = numbered(&keys);
        let mut g = c.benchmark_group("sort_cpu");
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        let label = if n == 30_000 { "30k" } else { "300k" };
        g.bench_function(BenchmarkId::new("thread_references_hostile", label), |b| {
            b.iter(|| thread(&msgs, ThreadAlgorithm::References))
        });
        g.finish();
    }
}

/// The hostile mailbox of `n` messages described in `cpu_benches`.
fn hostile(n: usize) -> Vec<KeyRecord> {
    let d = n / 3;
    (0..d + 2 * (n / 3))
        .map(|i| {
            let (mid, refs) = if i < d {
                (
                    format!("<d{i}@x>"),
                    (i > 0).then(|| format!("<d{}@x>", i - 1)),
                )
            } else if (i - d) % 2 == 0 {
                let j = (i - d) / 2;
                (format!("<a{j}@x>"), Some(format!("<p{j}@x> <c{j}@x>")))
            } else {
                let j = (i - d) / 2;
                (format!("<c{j}@x>"), Some(format!("<d{}@x>", d - 1)))
            };
            KeyRecord::from_raw(&RawMessage {
                number: i as u32 + 1,
                internal_date: i as i64,
                subject: Some(b"hostile"),
                message_id: Some(mid.as_bytes()),
                references: refs.as_deref().map(str::as_bytes),
                ..RawMessage::default()
            })
        })
        .collect()
}

criterion_group!(sort_benches, benches);
criterion_group! {
    name = sort_cpu_benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = cpu_benches
}
criterion_main!(sort_benches, sort_cpu_benches);
