//! SORT and THREAD over a handful of messages with arbitrary header values.
//!
//! Input: fields separated by `\n`; each message takes 8 fields (Date,
//! Subject, From, To, Cc, Message-ID, In-Reply-To, References), an empty
//! field being an absent header; the first byte of each Date field also
//! seeds the message's INTERNALDATE and size, so ties happen.
//!
//! Invariants: nothing panics; key records round-trip through their byte
//! form; both THREAD algorithms place every message exactly once, put
//! dummies only at the top with two or more children and order every
//! sibling set by (sent date, number); SORT is a permutation ordered by its
//! keys with ties by number, and flipping REVERSE on the first key reverses
//! exactly the runs of equal first key.
#![no_main]

use std::cmp::Ordering;
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use postroom_sort::{
    KeyRecord, RawMessage, SortCriterion, SortKey, ThreadAlgorithm, compare, sort, thread,
};

const KEYS: [SortKey; 7] = [
    SortKey::Arrival,
    SortKey::Cc,
    SortKey::Date,
    SortKey::From,
    SortKey::Size,
    SortKey::Subject,
    SortKey::To,
];

fuzz_target!(|data: &[u8]| {
    let _ = KeyRecord::decode(data);
    let fields: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let mut keys = Vec::new();
    for (i, m) in fields.chunks(8).take(8).enumerate() {
        let get = |k: usize| m.get(k).copied().filter(|f| !f.is_empty());
        let seed = m.first().and_then(|f| f.first()).copied().unwrap_or(0);
        let k = KeyRecord::from_raw(&RawMessage {
            number: i as u32 * 2 + 1,
            internal_date: i64::from(seed % 4) * 3600,
            size: u64::from(seed % 3),
            date: get(0),
            subject: get(1),
            from: get(2),
            to: get(3),
            cc: get(4),
            message_id: get(5),
            in_reply_to: get(6),
            references: get(7),
        });
        assert_eq!(KeyRecord::decode(&k.encode()).as_ref(), Ok(&k));
        keys.push(k);
    }
    let msgs: Vec<(u32, &KeyRecord)> =
        keys.iter().enumerate().map(|(i, k)| (i as u32 * 2 + 1, k)).collect();
    let by_num: HashMap<u32, &KeyRecord> = msgs.iter().copied().collect();

    for alg in [ThreadAlgorithm::References, ThreadAlgorithm::OrderedSubject] {
        let t = thread(&msgs, alg);
        let mut seen: Vec<u32> = t.messages().iter().map(|m| m.get()).collect();
        seen.sort_unstable();
        assert_eq!(seen, msgs.iter().map(|m| m.0).collect::<Vec<_>>());
        let key = |id: usize| {
            let node = t.node(id);
            let m = node.message.or_else(|| t.node(node.children[0]).message).unwrap().get();
            (by_num[&m].sent_date(), m)
        };
        for w in t.roots().windows(2) {
            assert!(key(w[0]) < key(w[1]));
        }
        let mut stack: Vec<(usize, usize)> = t.roots().iter().map(|&r| (r, 1)).collect();
        while let Some((id, depth)) = stack.pop() {
            let node = t.node(id);
            if node.message.is_none() {
                assert_eq!(depth, 1);
                assert!(node.children.len() >= 2);
            }
            if alg == ThreadAlgorithm::OrderedSubject {
                assert!(depth <= 2);
            }
            for w in node.children.windows(2) {
                assert!(key(w[0]) < key(w[1]));
            }
            stack.extend(node.children.iter().map(|&c| (c, depth + 1)));
        }
    }

    // A sort program from the last bytes.
    let program: Vec<SortCriterion> = data
        .iter()
        .rev()
        .take(3)
        .map(|&b| SortCriterion {
            key: KEYS[usize::from(b) % KEYS.len()],
            reverse: b & 0x80 != 0,
        })
        .collect();
    let out = sort(&msgs, &program);
    let mut perm = out.clone();
    perm.sort_unstable();
    assert_eq!(perm, msgs.iter().map(|m| m.0).collect::<Vec<_>>());
    for w in out.windows(2) {
        let o = compare(&program, by_num[&w[0]], by_num[&w[1]]);
        assert!(o == Ordering::Less || (o == Ordering::Equal && w[0] < w[1]));
    }
    if let Some(first) = program.first() {
        let mut flipped = program.clone();
        flipped[0].reverse = !first.reverse;
        let mut runs: Vec<Vec<u32>> = Vec::new();
        for &n in &out {
            match runs.last_mut() {
                Some(run) if compare(&program[..1], by_num[&run[0]], by_num[&n]) == Ordering::Equal => {
                    run.push(n)
                }
                _ => runs.push(vec![n]),
            }
        }
        runs.reverse();
        assert_eq!(sort(&msgs, &flipped), runs.concat());
    }
});
