//! Hostile inputs: huge References headers, deep chains in any arrival
//! order, loops, duplicate ids. Each must give the right answer without
//! deep recursion or quadratic time (these run in debug builds in well under
//! a second each; a quadratic algorithm would take minutes).

use postroom_sort::{KeyRecord, RawMessage, SortCriterion, SortKey, ThreadAlgorithm, sort, thread};

fn id(k: usize) -> String {
    format!("<m{k}@example.org>")
}

/// Builds key records; `spec(k)` gives (Message-ID, References) of message k.
fn records(n: usize, spec: impl Fn(usize) -> (Option<String>, Option<String>)) -> Vec<KeyRecord> {
    (0..n)
        .map(|k| {
            let (mid, refs) = spec(k);
            KeyRecord::from_raw(&RawMessage {
                number: k as u32 + 1,
                internal_date: k as i64,
                size: 0,
                subject: Some(b"same subject"),
                message_id: mid.as_deref().map(str::as_bytes),
                references: refs.as_deref().map(str::as_bytes),
                ..RawMessage::default()
            })
        })
        .collect()
}

fn msgs(keys: &[KeyRecord]) -> Vec<(u32, &KeyRecord)> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| (i as u32 + 1, k))
        .collect()
}

/// A deterministic permutation of 0..n (multiplicative stride).
fn shuffled(n: usize) -> Vec<usize> {
    let stride = 7919; // prime, coprime with the sizes used here
    (0..n).map(|i| (i * stride + 13) % n).collect()
}

#[test]
fn references_with_100k_ids() {
    let huge: String = (0..100_000).map(id).collect::<Vec<_>>().join(" ");
    let keys = records(2, |k| match k {
        0 => (Some("<own@x>".into()), Some(huge.clone())),
        // The second message has the same list reversed: every link would
        // close a loop and must be refused.
        _ => (
            Some("<own2@x>".into()),
            Some((0..100_000).rev().map(id).collect::<Vec<_>>().join(" ")),
        ),
    });
    assert_eq!(keys[0].references().len(), 100_000);
    let t = thread(&msgs(&keys), ThreadAlgorithm::References);
    // Message 1 hangs below m99999 (a dummy chain, pruned); message 2 below
    // m0, the top of that same chain: both end up under one dummy.
    assert_eq!(t.to_imap_string(), "((1)(2))");
}

#[test]
fn chain_100k_deep_in_order() {
    let n = 100_000;
    let keys = records(n, |k| (Some(id(k)), (k > 0).then(|| id(k - 1))));
    let t = thread(&msgs(&keys), ThreadAlgorithm::References);
    assert_eq!(t.depth(), n);
    let order: Vec<u32> = t.messages().iter().map(|m| m.get()).collect();
    assert_eq!(order, (1..=n as u32).collect::<Vec<_>>());
}

#[test]
fn chain_100k_deep_reverse_arrival() {
    // Message k replies to message k + 1: the child arrives before its parent.
    let n = 100_000;
    let keys = records(n, |k| (Some(id(k)), (k + 1 < n).then(|| id(k + 1))));
    let t = thread(&msgs(&keys), ThreadAlgorithm::References);
    assert_eq!(t.depth(), n);
    assert_eq!(t.messages()[0].get(), n as u32);
}

#[test]
fn chain_100k_deep_shuffled_with_full_parent_lists() {
    // Chain positions assigned to messages in a scrambled order; each
    // message names its parent and grandparent.
    let n = 100_000;
    let pos = shuffled(n);
    let keys = records(n, |k| {
        let p = pos[k];
        let refs = match p {
            0 => None,
            1 => Some(id(0)),
            _ => Some(format!("{} {}", id(p - 2), id(p - 1))),
        };
        (Some(id(p)), refs)
    });
    let t = thread(&msgs(&keys), ThreadAlgorithm::References);
    assert_eq!(t.depth(), n);
}

#[test]
fn one_big_loop() {
    // m0 -> m1 -> ... -> m(n-1) -> m0.
    let n = 100_000;
    let keys = records(n, |k| (Some(id(k)), Some(id((k + 1) % n))));
    let t = thread(&msgs(&keys), ThreadAlgorithm::References);
    assert_eq!(t.messages().len(), n);
    assert_eq!(t.roots().len(), 1);
    assert_eq!(t.depth(), n);
}

#[test]
fn all_ids_equal() {
    let n = 100_000;
    let keys = records(n, |_| (Some("<same@x>".into()), Some("<same@x>".into())));
    let t = thread(&msgs(&keys), ThreadAlgorithm::References);
    assert_eq!(t.messages().len(), n);
}

#[test]
fn wide_fan_out() {
    let n = 100_000;
    let keys = records(n, |k| (Some(id(k)), (k > 0).then(|| id(0))));
    let t = thread(&msgs(&keys), ThreadAlgorithm::References);
    assert_eq!(t.roots().len(), 1);
    assert_eq!(t.node(t.roots()[0]).children.len(), n - 1);
    let keys: Vec<(u32, &KeyRecord)> = msgs(&keys);
    assert_eq!(
        sort(&keys, &[SortCriterion::asc(SortKey::Subject)]),
        (1..=n as u32).collect::<Vec<_>>()
    );
    assert_eq!(
        thread(&keys, ThreadAlgorithm::OrderedSubject).roots().len(),
        1
    );
}

#[test]
fn long_thread_with_complete_references() {
    // Each message lists every ancestor: input grows as n^2 / 2 ids, the
    // work stays linear in it.
    let n = 1_000;
    let keys = records(n, |k| {
        let refs = (0..k).map(id).collect::<Vec<_>>().join(" ");
        (Some(id(k)), (k > 0).then_some(refs))
    });
    let t = thread(&msgs(&keys), ThreadAlgorithm::References);
    assert_eq!(t.depth(), n);
}

#[test]
fn broken_links_below_a_deep_chain() {
    // A chain d0 → … → d(D-1); then, for each j, a message a_j whose
    // References "p_j c_j" hang the dummy c_j (with a_j below it) from the
    // dummy p_j, and the message c_j itself, whose own reference is the
    // chain's end: step 1.B breaks c_j from p_j and must check for a loop
    // from the chain's end up. Walking the chain for every j would cost
    // D × K steps (minutes here); the answer below comes in well under a
    // second.
    let (d, k) = (60_000usize, 60_000usize);
    let n = d + 2 * k;
    let keys = records(n, |i| {
        if i < d {
            (Some(id(i)), (i > 0).then(|| id(i - 1)))
        } else {
            let j = (i - d) / 2;
            if (i - d) % 2 == 0 {
                (
                    Some(format!("<a{j}@x>")),
                    Some(format!("<p{j}@x> <c{j}@x>")),
                )
            } else {
                (Some(format!("<c{j}@x>")), Some(id(d - 1)))
            }
        }
    });
    let t = thread(&msgs(&keys), ThreadAlgorithm::References);
    assert_eq!(t.messages().len(), n);
    assert_eq!(t.roots().len(), 1);
    assert_eq!(t.depth(), d + 2);
    // The chain's end holds every c_j, each holding its a_j, in date order.
    let mut node = t.roots()[0];
    for _ in 1..d {
        node = t.node(node).children[0];
    }
    let ends = &t.node(node).children;
    assert_eq!(ends.len(), k);
    for (j, &c) in ends.iter().enumerate() {
        assert_eq!(
            t.node(c).message.map(|m| m.get()),
            Some((d + 2 * j + 2) as u32)
        );
        let a = t.node(c).children.clone();
        assert_eq!(a.len(), 1);
        assert_eq!(
            t.node(a[0]).message.map(|m| m.get()),
            Some((d + 2 * j + 1) as u32)
        );
    }
}
