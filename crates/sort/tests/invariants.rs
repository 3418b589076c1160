//! Property tests: THREAD places every message exactly once in a well-formed
//! tree; SORT is a permutation ordered by its keys with ties by number, and
//! REVERSE reverses exactly the key order; key records round-trip.

use std::cmp::Ordering;
use std::collections::HashMap;

use postroom_sort::{
    KeyRecord, RawMessage, SortCriterion, SortKey, ThreadAlgorithm, compare, sort, thread,
};
use postroom_types::Thread;
use proptest::prelude::*;

const IDS: [&str; 6] = ["<a@x>", "<b@x>", "<c@x>", "<\"a\"@x>", "<d@x>", "garbage"];
const SUBJECTS: [&str; 10] = [
    "a",
    "Re: a",
    "[l] Fwd: a (fwd)",
    "b",
    "RE: B",
    "",
    "[Fwd: b]",
    "=?utf-8?q?Re=3A_a?=",
    "_",
    "[x]",
];
const DATES: [&str; 5] = [
    "Mon, 01 Jan 2024 10:00:00 +0000",
    "Mon, 01 Jan 2024 11:00:00 +0100",
    "Mon, 01 Jan 2024 12:00:00 +0000",
    "garbage",
    "Mon, 01 Jan 2024 25:00:00 +0000",
];
const ADDRS: [&str; 5] = ["a@x", "\"B\" <b@y>", "team: c@z;", "", "[x]@y"];

#[derive(Clone, Debug)]
struct Gen {
    id: Option<usize>,
    refs: Vec<usize>,
    irt: Option<usize>,
    subject: Option<usize>,
    date: Option<usize>,
    internal: i64,
    size: u64,
    from: Option<usize>,
    to: Option<usize>,
    cc: Option<usize>,
}

fn gen_message() -> impl Strategy<Value = Gen> {
    (
        (
            proptest::option::of(0..IDS.len()),
            proptest::collection::vec(0..IDS.len(), 0..4),
            proptest::option::of(0..IDS.len()),
            proptest::option::of(0..SUBJECTS.len()),
            proptest::option::of(0..DATES.len()),
        ),
        (
            0i64..4,
            0u64..4,
            proptest::option::of(0..ADDRS.len()),
            proptest::option::of(0..ADDRS.len()),
            proptest::option::of(0..ADDRS.len()),
        ),
    )
        .prop_map(
            |((id, refs, irt, subject, date), (internal, size, from, to, cc))| Gen {
                id,
                refs,
                irt,
                subject,
                date,
                internal: 1_704_100_000 + internal * 1800,
                size,
                from,
                to,
                cc,
            },
        )
}

fn build(gens: &[Gen]) -> Vec<KeyRecord> {
    gens.iter()
        .map(|g| {
            let refs = g.refs.iter().map(|&r| IDS[r]).collect::<Vec<_>>().join(" ");
            KeyRecord::from_raw(&RawMessage {
                number: 0,
                internal_date: g.internal,
                size: g.size,
                date: g.date.map(|d| DATES[d].as_bytes()),
                subject: g.subject.map(|s| SUBJECTS[s].as_bytes()),
                from: g.from.map(|a| ADDRS[a].as_bytes()),
                to: g.to.map(|a| ADDRS[a].as_bytes()),
                cc: g.cc.map(|a| ADDRS[a].as_bytes()),
                message_id: g.id.map(|i| IDS[i].as_bytes()),
                in_reply_to: g.irt.map(|i| IDS[i].as_bytes()),
                references: if g.refs.is_empty() {
                    None
                } else {
                    Some(refs.as_bytes())
                },
            })
        })
        .collect()
}

/// Numbers with gaps (as UIDs have), ascending.
fn numbered(keys: &[KeyRecord], step: u32) -> Vec<(u32, &KeyRecord)> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| (i as u32 * step + 1, k))
        .collect()
}

/// Checks the shape rules of a THREAD result: every message exactly once,
/// dummies only at the top with two or more children, every sibling set in
/// (sent date, number) order, and ORDEREDSUBJECT's flat same-subject shape.
fn check_thread(t: &Thread, msgs: &[(u32, &KeyRecord)], alg: ThreadAlgorithm) {
    let by_num: HashMap<u32, &KeyRecord> = msgs.iter().copied().collect();
    // Every message exactly once.
    let mut seen: Vec<u32> = t.messages().iter().map(|m| m.get()).collect();
    seen.sort_unstable();
    let mut want: Vec<u32> = msgs.iter().map(|m| m.0).collect();
    want.sort_unstable();
    assert_eq!(seen, want);
    // Sort key of a node: (sent date, number); a dummy's is its first child's.
    let key = |id: usize| -> (i64, u32) {
        let node = t.node(id);
        let m = node
            .message
            .unwrap_or_else(|| {
                t.node(node.children[0])
                    .message
                    .expect("dummy child is a message")
            })
            .get();
        (by_num[&m].sent_date(), m)
    };
    let mut stack: Vec<(usize, usize)> = t.roots().iter().map(|&r| (r, 1)).collect();
    // The top level is in date order.
    for w in t.roots().windows(2) {
        assert!(key(w[0]) < key(w[1]), "roots out of order");
    }
    while let Some((id, depth)) = stack.pop() {
        let node = t.node(id);
        if node.message.is_none() {
            // Dummies only at the top, with at least two children.
            assert_eq!(depth, 1, "dummy below the top level");
            assert!(
                node.children.len() >= 2,
                "dummy with fewer than two children"
            );
        }
        if alg == ThreadAlgorithm::OrderedSubject {
            assert!(depth <= 2, "ORDEREDSUBJECT nests");
            assert!(node.message.is_some());
            if let Some(m) = node.message {
                for &c in &node.children {
                    let cm = t.node(c).message.expect("message").get();
                    assert_eq!(by_num[&m.get()].subject(), by_num[&cm].subject());
                    assert!(
                        (by_num[&m.get()].sent_date(), m.get()) < (by_num[&cm].sent_date(), cm)
                    );
                }
            }
        }
        for w in node.children.windows(2) {
            assert!(key(w[0]) < key(w[1]), "siblings out of date order");
        }
        for &c in &node.children {
            stack.push((c, depth + 1));
        }
    }
}

fn criteria() -> impl Strategy<Value = Vec<SortCriterion>> {
    let key = prop_oneof![
        Just(SortKey::Arrival),
        Just(SortKey::Cc),
        Just(SortKey::Date),
        Just(SortKey::From),
        Just(SortKey::Size),
        Just(SortKey::Subject),
        Just(SortKey::To),
    ];
    proptest::collection::vec(
        (key, any::<bool>()).prop_map(|(key, reverse)| SortCriterion { key, reverse }),
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn thread_invariants(gens in proptest::collection::vec(gen_message(), 0..14), step in 1u32..4) {
        let keys = build(&gens);
        let msgs = numbered(&keys, step);
        for alg in [ThreadAlgorithm::References, ThreadAlgorithm::OrderedSubject] {
            let t = thread(&msgs, alg);
            check_thread(&t, &msgs, alg);
            // The result does not depend on the order the messages are given in.
            let mut reversed = msgs.clone();
            reversed.reverse();
            prop_assert_eq!(thread(&reversed, alg), t.clone());
            // Only the order of the numbers matters, not their values.
            let dense = numbered(&keys, 1);
            let mut t_dense = thread(&dense, alg).to_imap_string();
            let mut t_step = t.to_imap_string();
            // Map numbers back to positions to compare.
            t_dense = renumber(&t_dense, 1);
            t_step = renumber(&t_step, step);
            prop_assert_eq!(t_dense, t_step);
        }
    }

    #[test]
    fn thread_subset_invariants(gens in proptest::collection::vec(gen_message(), 0..14), mask in any::<u16>()) {
        // A searched subset: unsearched messages act as absent.
        let keys = build(&gens);
        let msgs: Vec<(u32, &KeyRecord)> = numbered(&keys, 1)
            .into_iter()
            .filter(|(n, _)| mask & (1 << (n % 16)) != 0)
            .collect();
        for alg in [ThreadAlgorithm::References, ThreadAlgorithm::OrderedSubject] {
            check_thread(&thread(&msgs, alg), &msgs, alg);
        }
    }

    #[test]
    fn sort_invariants(gens in proptest::collection::vec(gen_message(), 0..14), program in criteria()) {
        let keys = build(&gens);
        let msgs = numbered(&keys, 2);
        let by_num: HashMap<u32, &KeyRecord> = msgs.iter().copied().collect();
        let out = sort(&msgs, &program);
        let mut perm = out.clone();
        perm.sort_unstable();
        prop_assert_eq!(perm, msgs.iter().map(|m| m.0).collect::<Vec<_>>());
        for w in out.windows(2) {
            let o = compare(&program, by_num[&w[0]], by_num[&w[1]]);
            prop_assert!(o == Ordering::Less || (o == Ordering::Equal && w[0] < w[1]));
        }
    }

    #[test]
    fn reverse_reverses_exactly_the_key_order(gens in proptest::collection::vec(gen_message(), 0..14), program in criteria()) {
        prop_assume!(!program.is_empty());
        let keys = build(&gens);
        let msgs = numbered(&keys, 1);
        let by_num: HashMap<u32, &KeyRecord> = msgs.iter().copied().collect();
        let forward = sort(&msgs, &program);
        // Flip the first criterion: runs of equal first key come in reverse
        // order, each run in its own (unflipped) order.
        let mut flipped = program.clone();
        flipped[0].reverse = !flipped[0].reverse;
        let backward = sort(&msgs, &flipped);
        let mut runs: Vec<Vec<u32>> = Vec::new();
        for &n in &forward {
            match runs.last_mut() {
                Some(run) if compare(&program[..1], by_num[&run[0]], by_num[&n]) == Ordering::Equal => run.push(n),
                _ => runs.push(vec![n]),
            }
        }
        runs.reverse();
        let expected: Vec<u32> = runs.concat();
        prop_assert_eq!(backward, expected);
    }

    #[test]
    fn key_record_round_trip(gens in proptest::collection::vec(gen_message(), 1..4)) {
        for k in build(&gens) {
            prop_assert_eq!(KeyRecord::decode(&k.encode()), Ok(k.clone()));
        }
    }

    #[test]
    fn key_record_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = KeyRecord::decode(&bytes);
        let mut v1 = vec![1u8];
        v1.extend_from_slice(&bytes);
        if let Ok(k) = KeyRecord::decode(&v1) {
            prop_assert_eq!(k.encode(), v1);
        }
    }

    #[test]
    fn parsers_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..80)) {
        let k = KeyRecord::from_raw(&RawMessage {
            number: 1,
            internal_date: 0,
            size: 0,
            date: Some(&raw),
            subject: Some(&raw),
            from: Some(&raw),
            to: Some(&raw),
            cc: Some(&raw),
            message_id: Some(&raw),
            in_reply_to: Some(&raw),
            references: Some(&raw),
        });
        prop_assert_eq!(KeyRecord::decode(&k.encode()), Ok(k));
    }
}

/// Rewrites every number `n` of an IMAP thread string to `(n - 1) / step`.
fn renumber(s: &str, step: u32) -> String {
    let mut out = String::new();
    let mut num = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        if !num.is_empty() {
            let n: u32 = num.parse().expect("digits");
            out.push_str(&((n - 1) / step).to_string());
            num.clear();
        }
        out.push(c);
    }
    out.pop();
    out
}
