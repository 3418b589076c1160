//! THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §3).
//!
//! Both work on arrays indexed by message and container, with explicit
//! stacks instead of recursion, so input cannot deepen the call stack.

use postroom_types::Thread;

use crate::linkcut::LinkCut;
use crate::msgid::MessageId;
use crate::record::KeyRecord;
use crate::sort::{SortCriterion, SortKey, sorted_indices};

/// A THREAD algorithm (RFC 5256 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`: threads of equal base subject, no nesting.
    OrderedSubject,
    /// `REFERENCES`: threads from References/In-Reply-To, then merged by
    /// base subject.
    References,
}

/// Threads messages with the given algorithm; see [`thread_ordered_subject`]
/// and [`thread_references`].
///
/// ```
/// use postroom_sort::{KeyRecord, RawMessage, ThreadAlgorithm, thread};
/// let raw = [
///     RawMessage { number: 1, subject: Some(b"hello"), message_id: Some(b"<1@x>"), ..Default::default() },
///     RawMessage { number: 2, subject: Some(b"other"), message_id: Some(b"<2@x>"), internal_date: 5, ..Default::default() },
///     RawMessage { number: 3, subject: Some(b"Re: hello"), references: Some(b"<1@x>"), internal_date: 9, ..Default::default() },
/// ];
/// let keys: Vec<KeyRecord> = raw.iter().map(KeyRecord::from_raw).collect();
/// let msgs: Vec<(u32, &KeyRecord)> = raw.iter().map(|r| r.number).zip(&keys).collect();
/// assert_eq!(thread(&msgs, ThreadAlgorithm::References).to_imap_string(), "(1 3)(2)");
/// ```
pub fn thread(messages: &[(u32, &KeyRecord)], algorithm: ThreadAlgorithm) -> Thread {
    match algorithm {
        ThreadAlgorithm::OrderedSubject => thread_ordered_subject(messages),
        ThreadAlgorithm::References => thread_references(messages),
    }
}

const NONE: u32 = u32::MAX;

/// Messages in ascending number order, and each one's rank in (sent date,
/// number) order: the order of RFC 5256 §2.2 used for every date sort.
struct Prepared<'a> {
    msgs: Vec<(u32, &'a KeyRecord)>,
    /// Indices of `msgs` in (sent date, number) order.
    by_date: Vec<u32>,
    /// `rank[i]` is the position of `i` in `by_date`.
    rank: Vec<u32>,
}

fn prepare<'a>(messages: &[(u32, &'a KeyRecord)]) -> Prepared<'a> {
    let mut msgs = messages.to_vec();
    if !msgs.is_sorted_by_key(|m| m.0) {
        msgs.sort_by_key(|m| m.0);
    }
    let mut keyed: Vec<(i64, u32, u32)> = msgs
        .iter()
        .enumerate()
        .map(|(i, (n, k))| (k.sent_date(), *n, i as u32))
        .collect();
    keyed.sort_unstable();
    let by_date: Vec<u32> = keyed.into_iter().map(|(_, _, i)| i).collect();
    let mut rank = vec![0u32; msgs.len()];
    for (r, &i) in by_date.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    Prepared {
        msgs,
        by_date,
        rank,
    }
}

/// THREAD=ORDEREDSUBJECT (RFC 5256 §3): messages sorted by base subject and
/// sent date, split into threads of equal base subject, threads ordered by
/// the sent date of their first message; in each thread the first message
/// is the parent of all the others. Ties go to the lower number. Messages
/// with an empty base subject form one thread, as in Dovecot and Cyrus.
pub fn thread_ordered_subject(messages: &[(u32, &KeyRecord)]) -> Thread {
    // (base subject, sent date, number): the order of SORT (SUBJECT DATE).
    let program = [
        SortCriterion::asc(SortKey::Subject),
        SortCriterion::asc(SortKey::Date),
    ];
    let order = sorted_indices(messages, &program);
    let subject = |i: u32| messages[i as usize].1.subject();
    // Groups of equal subject, as ranges of `order`, keyed by the sent date
    // and number of their first message.
    let mut groups: Vec<((i64, u32), usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=order.len() {
        if i == order.len() || subject(order[i]) != subject(order[start]) {
            let (n, k) = messages[order[start] as usize];
            groups.push(((k.sent_date(), n), start, i));
            start = i;
        }
    }
    groups.sort_unstable_by_key(|g| g.0);
    let mut t = Thread::new();
    for (_, start, end) in groups {
        let root = t.add_root(messages[order[start] as usize].0);
        for &m in &order[start + 1..end] {
            t.add_child(root, messages[m as usize].0);
        }
    }
    t
}

/// THREAD=REFERENCES (RFC 5256 §3), every step:
///
/// 1. link messages by their References (or first In-Reply-To) ids, with
///    dummy containers for absent messages, never re-linking a container
///    that has a parent and never creating a loop; a message's own parent
///    link comes from its last reference. A Message-ID shared by several
///    messages belongs to the lowest-numbered one; the others, and messages
///    without a valid id, get unique ids;
/// 2. gather the parentless containers;
/// 3. prune dummies: empty ones go, others give their children to their
///    parent, except at the top level where only a single child is promoted;
/// 4. sort the top level by sent date (a dummy by its earliest child);
/// 5. merge top-level threads of equal base subject;
/// 6. sort every set of siblings by sent date.
///
/// Messages not in `messages` (not matched by the search) are treated as
/// absent.
///
/// Cost: the loop test of step 1 walks up from the proposed parent with
/// path compression, so long chains in any arrival order, huge References
/// headers, loops and duplicate ids stay near linear. Breaking a link in
/// step 1.B (a message whose own last reference disagrees with what an
/// earlier message said about it) resets the compressed paths; when an
/// input forces that often over a deep chain, the test moves to a link-cut
/// tree, so no input costs more than O(ids × log ids).
pub fn thread_references(messages: &[(u32, &KeyRecord)]) -> Thread {
    references_with_budget(messages, STEPS_INITIAL)
}

/// [`thread_references`] with the given initial walk allowance of the loop
/// test (see [`Links`]).
fn references_with_budget(messages: &[(u32, &KeyRecord)], budget: i64) -> Thread {
    let p = prepare(messages);
    let n = p.msgs.len();
    let mut links = Links::new(n, budget);
    let mut ids = IdTable::with_capacity(n + n / 8);
    let mut container_of = Vec::with_capacity(n);

    // Step 1, in ascending number order.
    for (i, (_, key)) in p.msgs.iter().enumerate() {
        let i = i as u32;
        let c = match key.message_id() {
            Some(id) => {
                let (c, inserted) = ids.get_or_insert(id, &mut links, i);
                if inserted {
                    c
                } else if links.c[c as usize].msg == NONE {
                    links.c[c as usize].msg = i;
                    c
                } else {
                    // Duplicate: the earlier message keeps the id.
                    links.add(i)
                }
            }
            None => links.add(i),
        };
        container_of.push(c);
        // 1.A: chain the references.
        let mut prev = NONE;
        for r in key.references() {
            let (rc, _) = ids.get_or_insert(r, &mut links, NONE);
            if prev != NONE && links.c[rc as usize].parent == NONE && !links.would_loop(prev, rc) {
                links.link(prev, rc);
            }
            prev = rc;
        }
        // 1.B: the last reference is the parent; an older link is broken.
        let old = links.c[c as usize].parent;
        if old != prev {
            if old != NONE {
                links.unlink(c);
            }
            if prev != NONE && !links.would_loop(prev, c) {
                links.link(prev, c);
            }
        }
    }
    drop(ids);

    // Steps 2 and 3. For every container, `up` is its parent if that is a
    // message or a top-level container, else the parent's `up`: the node
    // it hangs from once non-top-level dummies are gone.
    let m = links.c.len();
    let up = nearest_kept_ancestors(&links);

    let mut tree = Tree {
        parent: vec![NONE; n],
        dummies: Vec::new(),
    };
    // Dummy slot of each top-level dummy container.
    let mut slot = vec![NONE; m];
    let mut roots: Vec<u32> = Vec::new();
    for &i in &p.by_date {
        let u = up[container_of[i as usize] as usize];
        if u == NONE {
            roots.push(i);
        } else if links.c[u as usize].msg != NONE {
            tree.parent[i as usize] = links.c[u as usize].msg;
        } else {
            let s = &mut slot[u as usize];
            if *s == NONE {
                *s = tree.dummies.len() as u32;
                tree.dummies.push(Vec::new());
            }
            tree.dummies[*s as usize].push(i);
        }
    }
    // A top-level dummy with one child is replaced by it.
    let n32 = n as u32;
    for d in 0..tree.dummies.len() {
        if tree.dummies[d].len() == 1 {
            let child = tree.dummies[d][0];
            tree.dummies[d].clear();
            roots.push(child);
        } else {
            for &c in &tree.dummies[d] {
                tree.parent[c as usize] = n32 + d as u32;
            }
            roots.push(n32 + d as u32);
        }
    }

    // Step 4: the top level by date, a dummy by its first child. Dummy
    // children were filled in date order, so the first is the earliest.
    let key_of = |tree: &Tree, node: u32| -> u32 {
        if node < n32 {
            p.rank[node as usize]
        } else {
            tree.dummies[(node - n32) as usize]
                .first()
                .map_or(u32::MAX, |&c| p.rank[c as usize])
        }
    };
    roots.sort_unstable_by_key(|&r| key_of(&tree, r));

    // Step 5.
    merge_by_subject(&p, &mut tree, &mut roots);

    // Step 6: sort every sibling set. Children of messages come out sorted
    // by filling them in date order; dummy children and the top level are
    // sorted explicitly.
    for d in tree.dummies.iter_mut() {
        d.sort_unstable_by_key(|&c| p.rank[c as usize]);
    }
    roots.retain(|&r| r != NONE);
    roots.sort_unstable_by_key(|&r| key_of(&tree, r));

    let mut start = vec![0u32; n + 1];
    for &par in &tree.parent {
        if par < n32 {
            start[par as usize + 1] += 1;
        }
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut children = vec![0u32; start[n] as usize];
    for &i in &p.by_date {
        let par = tree.parent[i as usize];
        if par < n32 {
            children[fill[par as usize] as usize] = i;
            fill[par as usize] += 1;
        }
    }

    // Output, with an explicit stack.
    let mut t = Thread::new();
    let mut stack: Vec<(usize, u32)> = Vec::new();
    for &r in &roots {
        if r < n32 {
            let id = t.add_root(p.msgs[r as usize].0);
            stack.push((id, r));
        } else {
            let id = t.add_root(None);
            for &c in &tree.dummies[(r - n32) as usize] {
                let cid = t.add_child(id, p.msgs[c as usize].0);
                stack.push((cid, c));
            }
        }
        while let Some((id, node)) = stack.pop() {
            let kids = &children[start[node as usize] as usize..start[node as usize + 1] as usize];
            for &c in kids {
                let cid = t.add_child(id, p.msgs[c as usize].0);
                stack.push((cid, c));
            }
        }
    }
    t
}

/// Step 5 of REFERENCES: group the top-level threads by base subject.
fn merge_by_subject(p: &Prepared<'_>, tree: &mut Tree, roots: &mut [u32]) {
    let n32 = p.msgs.len() as u32;
    let is_dummy = |node: u32| node >= n32;
    // The thread subject, its hash and the reply flag of each top-level
    // position, read once: a position keeps its subject when a new dummy
    // takes it over (the dummy's first child has that subject).
    let info: Vec<(SubjectKey<'_>, bool)> = roots
        .iter()
        .map(|&r| {
            let reply = r < n32 && p.msgs[r as usize].1.is_reply_or_forward();
            (thread_subject(p, tree, r), reply)
        })
        .collect();
    // Reply flag of whatever is at a position now (a dummy is no reply).
    let is_reply = |roots: &[u32], at: usize| !is_dummy(roots[at]) && info[at].1;

    // 5.A, 5.B: subject -> position in `roots`.
    let mut table = SubjectTable::with_capacity(roots.len());
    for at in 0..roots.len() {
        let s = info[at].0;
        if s.0.is_empty() {
            continue;
        }
        let entry = table.get_or_insert(s, at as u32, |j| info[j as usize].0.0);
        if entry != at as u32 {
            let (t, r) = (roots[entry as usize], roots[at]);
            if !is_dummy(t) && (is_dummy(r) || (is_reply(roots, entry as usize) && !info[at].1)) {
                table.replace(s, at as u32, |j| info[j as usize].0.0);
            }
        }
    }

    // 5.C
    for at in 0..roots.len() {
        let cur = roots[at];
        let s = info[at].0;
        if cur == NONE || s.0.is_empty() {
            continue;
        }
        let Some(tpos) = table.get(s, |j| info[j as usize].0.0) else {
            continue;
        };
        let tpos = tpos as usize;
        if tpos == at {
            continue;
        }
        let t = roots[tpos];
        if is_dummy(t) && is_dummy(cur) {
            let moved = std::mem::take(&mut tree.dummies[(cur - n32) as usize]);
            tree.adopt(t, &moved, n32);
        } else if is_dummy(t) {
            tree.adopt(t, &[cur], n32);
        } else if info[at].1 && !is_reply(roots, tpos) {
            tree.parent[cur as usize] = t;
        } else {
            // A new dummy takes the table entry's place (its position, which
            // the table keeps pointing at), with both below it. (Step 5.B
            // makes a dummy the entry whenever `cur` is one, so both are
            // messages here.)
            let d = n32 + tree.dummies.len() as u32;
            tree.dummies.push(Vec::new());
            tree.adopt(d, &[t, cur], n32);
            roots[tpos] = d;
        }
        roots[at] = NONE;
    }
}

/// Base subject → position in the top-level list, open addressing with
/// linear probing over (half hash, position) slots; the subject bytes are
/// looked up through the caller's `subject_at`.
struct SubjectTable {
    slots: Vec<u64>,
    mask: usize,
}

impl SubjectTable {
    fn with_capacity(n: usize) -> SubjectTable {
        let cap = n.saturating_mul(2).max(16).next_power_of_two();
        SubjectTable {
            slots: vec![EMPTY; cap],
            mask: cap - 1,
        }
    }

    /// The slot index holding `s`, or the empty slot where it would go.
    fn find<'a>(&self, s: SubjectKey<'_>, subject_at: impl Fn(u32) -> &'a [u8]) -> usize {
        let tag = s.1 >> 32;
        let mut i = s.1 as usize & self.mask;
        loop {
            let slot = self.slots[i];
            if slot == EMPTY || (slot >> 32 == tag && subject_at(slot as u32) == s.0) {
                return i;
            }
            i = (i + 1) & self.mask;
        }
    }

    fn get<'a>(&self, s: SubjectKey<'_>, subject_at: impl Fn(u32) -> &'a [u8]) -> Option<u32> {
        let slot = self.slots[self.find(s, subject_at)];
        (slot != EMPTY).then_some(slot as u32)
    }

    /// The position stored for `s`, inserting `at` if there is none. The
    /// table never holds more entries than `with_capacity` was given, so it
    /// stays at most half full.
    fn get_or_insert<'a>(
        &mut self,
        s: SubjectKey<'_>,
        at: u32,
        subject_at: impl Fn(u32) -> &'a [u8],
    ) -> u32 {
        let i = self.find(s, subject_at);
        if self.slots[i] == EMPTY {
            self.slots[i] = ((s.1 >> 32) << 32) | u64::from(at);
        }
        self.slots[i] as u32
    }

    fn replace<'a>(&mut self, s: SubjectKey<'_>, at: u32, subject_at: impl Fn(u32) -> &'a [u8]) {
        let i = self.find(s, subject_at);
        self.slots[i] = ((s.1 >> 32) << 32) | u64::from(at);
    }
}

/// 5.B.i: the thread subject of a top-level node; a dummy's is that of its
/// first child.
fn thread_subject<'k>(p: &Prepared<'k>, tree: &Tree, node: u32) -> SubjectKey<'k> {
    let n32 = p.msgs.len() as u32;
    let m = if node < n32 {
        node
    } else {
        match tree.dummies[(node - n32) as usize].first() {
            Some(&c) => c,
            None => return SubjectKey(&[], 0),
        }
    };
    let k = p.msgs[m as usize].1;
    SubjectKey(k.subject(), k.subject_hash())
}

/// A base subject and its precomputed hash.
#[derive(Clone, Copy)]
struct SubjectKey<'a>(&'a [u8], u64);

/// The threads after step 3: each message's parent (a message index below
/// `n`, `n + d` for dummy `d`, or `NONE` at the top level) and each dummy's
/// children.
struct Tree {
    parent: Vec<u32>,
    dummies: Vec<Vec<u32>>,
}

impl Tree {
    /// Makes `nodes` children of dummy `d` (a dummy among them gives its
    /// children instead).
    fn adopt(&mut self, d: u32, nodes: &[u32], n: u32) {
        let mut work: Vec<u32> = nodes.iter().rev().copied().collect();
        while let Some(c) = work.pop() {
            if c >= n {
                let moved = std::mem::take(&mut self.dummies[(c - n) as usize]);
                work.extend(moved.into_iter().rev());
            } else {
                self.parent[c as usize] = d;
                self.dummies[(d - n) as usize].push(c);
            }
        }
    }
}

/// One container of step 1, kept together so a visit touches one cache line.
#[derive(Clone, Copy)]
struct Container {
    parent: u32,
    /// Number of children.
    children: u32,
    /// The message in it, or `NONE` for a dummy.
    msg: u32,
    /// A known ancestor, valid while `jump_epoch` equals [`Links::epoch`]:
    /// links only add ancestors, and every unlink starts a new epoch.
    jump: u32,
    jump_epoch: u32,
}

/// The containers of step 1 and the state of the loop test.
///
/// The loop test walks parent pointers with jump-pointer shortcuts, which
/// is fastest on real mail. An unlink invalidates every shortcut, so an
/// input that breaks links often over a deep chain would make each walk
/// cost the chain's depth; once the walks have cost more than a fixed
/// allowance per test, the test moves to a link-cut tree for the rest of
/// the run (O(log n) amortized), so the whole step stays O(n log n).
struct Links {
    c: Vec<Container>,
    epoch: u32,
    path: Vec<u32>,
    /// Steps the jump-pointer walks may still take before the switch.
    budget: i64,
    /// The link-cut tree, once switched.
    tree: Option<LinkCut>,
}

/// Walk steps each loop test adds to [`Links::budget`].
const STEPS_PER_TEST: i64 = 16;
/// The walks' allowance before any test.
const STEPS_INITIAL: i64 = 1 << 16;

impl Links {
    /// Room for `n` containers; `budget` is the walks' initial allowance
    /// (tests use a negative one to run the link-cut tree from the start).
    fn new(n: usize, budget: i64) -> Links {
        Links {
            c: Vec::with_capacity(n.saturating_mul(2)),
            epoch: 0,
            path: Vec::new(),
            budget,
            tree: None,
        }
    }

    fn add(&mut self, msg: u32) -> u32 {
        self.c.push(Container {
            parent: NONE,
            children: 0,
            msg,
            jump: NONE,
            jump_epoch: 0,
        });
        if let Some(t) = &mut self.tree {
            t.push();
        }
        (self.c.len() - 1) as u32
    }

    fn link(&mut self, parent: u32, child: u32) {
        self.c[child as usize].parent = parent;
        self.c[parent as usize].children += 1;
        if let Some(t) = &mut self.tree {
            t.link(parent, child);
        }
    }

    fn unlink(&mut self, child: u32) {
        let p = self.c[child as usize].parent;
        self.c[p as usize].children -= 1;
        self.c[child as usize].parent = NONE;
        if let Some(t) = &mut self.tree {
            t.cut(child);
            return;
        }
        // Jump pointers across the cut are stale now.
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.c.iter_mut().for_each(|c| c.jump = NONE);
        }
    }

    /// Whether making `parent` the parent of the parentless `child` would
    /// create a loop, i.e. `child` is `parent` or one of its ancestors.
    fn would_loop(&mut self, parent: u32, child: u32) -> bool {
        if parent == child {
            return true;
        }
        if self.c[child as usize].children == 0 {
            return false;
        }
        if self.tree.is_none() {
            self.budget += STEPS_PER_TEST;
            if self.budget >= 0 {
                return self.root(parent) == child;
            }
            self.tree = Some(LinkCut::from_parents(self.c.iter().map(|c| c.parent)));
        }
        // Set just above.
        let t = self.tree.as_mut().expect("link-cut tree present");
        t.find_root(parent) == child
    }

    /// The root above `x`, compressing the path walked.
    fn root(&mut self, x: u32) -> u32 {
        self.path.clear();
        let mut y = x;
        loop {
            let c = self.c[y as usize];
            let next = if c.jump != NONE && c.jump_epoch == self.epoch {
                c.jump
            } else {
                c.parent
            };
            if next == NONE {
                break;
            }
            self.path.push(y);
            y = next;
        }
        self.budget -= self.path.len() as i64;
        for &z in &self.path {
            let c = &mut self.c[z as usize];
            c.jump = y;
            c.jump_epoch = self.epoch;
        }
        y
    }
}

/// Steps 2–3 as one pass: for every container, the node it hangs from once
/// non-top-level dummies are pruned (its nearest ancestor that is a message
/// or top-level), or `NONE` for a top-level container.
fn nearest_kept_ancestors(links: &Links) -> Vec<u32> {
    const UNKNOWN: u32 = u32::MAX - 1;
    let m = links.c.len();
    let mut up = vec![UNKNOWN; m];
    let mut stack: Vec<u32> = Vec::new();
    for x in 0..m as u32 {
        let mut y = x;
        while up[y as usize] == UNKNOWN {
            if links.c[y as usize].parent == NONE {
                up[y as usize] = NONE;
                break;
            }
            stack.push(y);
            y = links.c[y as usize].parent;
        }
        while let Some(z) = stack.pop() {
            let p = links.c[z as usize].parent;
            let kept = links.c[p as usize].msg != NONE || links.c[p as usize].parent == NONE;
            up[z as usize] = if kept { p } else { up[p as usize] };
        }
    }
    up
}

/// Message id → container, open addressing with linear probing. A slot
/// holds the upper half of the id's hash and the container, so a probe reads
/// 8 bytes per slot and compares id bytes only when the hashes agree; the
/// table stays small enough (16 bytes per id at most) to keep cache misses
/// down on large mailboxes.
struct IdTable<'a> {
    slots: Vec<u64>,
    mask: usize,
    len: usize,
    /// The id of each container in the table, by container index (hash and
    /// bytes; containers without an id in the table have an empty entry).
    keys: Vec<(u64, &'a [u8])>,
}

const EMPTY: u64 = u64::MAX;

impl<'a> IdTable<'a> {
    fn with_capacity(n: usize) -> IdTable<'a> {
        let cap = n.saturating_mul(2).max(16).next_power_of_two();
        IdTable {
            slots: vec![EMPTY; cap],
            mask: cap - 1,
            len: 0,
            keys: Vec::with_capacity(n),
        }
    }

    /// The container of `id`, or a new one (holding `msg`) added to `links`
    /// and to the table; the flag tells whether it was added.
    fn get_or_insert(&mut self, id: &'a MessageId, links: &mut Links, msg: u32) -> (u32, bool) {
        let hash = id.hash64();
        let tag = hash >> 32;
        let mut i = hash as usize & self.mask;
        loop {
            let slot = self.slots[i];
            if slot == EMPTY {
                break;
            }
            if slot >> 32 == tag {
                let c = slot as u32;
                let (h, bytes) = self.keys[c as usize];
                if h == hash && bytes == id.as_bytes() {
                    return (c, false);
                }
            }
            i = (i + 1) & self.mask;
        }
        let c = links.add(msg);
        if self.keys.len() <= c as usize {
            self.keys.resize(c as usize + 1, (0, &[]));
        }
        self.keys[c as usize] = (hash, id.as_bytes());
        self.slots[i] = (tag << 32) | u64::from(c);
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
        (c, true)
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; cap]);
        self.mask = cap - 1;
        for slot in old.into_iter().filter(|&s| s != EMPTY) {
            let c = slot as u32;
            let mut i = self.keys[c as usize].0 as usize & self.mask;
            while self.slots[i] != EMPTY {
                i = (i + 1) & self.mask;
            }
            self.slots[i] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RawMessage;
    use proptest::prelude::*;

    const IDS: [&str; 6] = ["<a@x>", "<b@x>", "<c@x>", "<d@x>", "<e@x>", "<f@x>"];

    fn records(gens: &[(Option<usize>, Vec<usize>, i64)]) -> Vec<KeyRecord> {
        gens.iter()
            .enumerate()
            .map(|(i, (mid, refs, date))| {
                let refs = refs.iter().map(|&r| IDS[r]).collect::<Vec<_>>().join(" ");
                KeyRecord::from_raw(&RawMessage {
                    number: i as u32 + 1,
                    internal_date: *date,
                    subject: Some(if i % 3 == 0 { b"one" } else { b"Re: two" }),
                    message_id: mid.map(|m| IDS[m].as_bytes()),
                    references: (!refs.is_empty()).then_some(refs.as_bytes()),
                    ..RawMessage::default()
                })
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The link-cut tree (used from the first loop test when the
        /// allowance starts negative) gives exactly the jump-pointer walk's
        /// answer, on inputs dense in loops, duplicates and broken links.
        #[test]
        fn link_cut_fallback_gives_the_same_threads(
            gens in proptest::collection::vec(
                (proptest::option::of(0..IDS.len()),
                 proptest::collection::vec(0..IDS.len(), 0..5),
                 0i64..4),
                0..16),
        ) {
            let keys = records(&gens);
            let msgs: Vec<(u32, &KeyRecord)> =
                keys.iter().enumerate().map(|(i, k)| (i as u32 + 1, k)).collect();
            let walk = references_with_budget(&msgs, i64::MAX / 2);
            let tree = references_with_budget(&msgs, i64::MIN / 2);
            prop_assert_eq!(walk.to_imap_string(), tree.to_imap_string());
        }
    }

    #[test]
    fn switches_to_the_link_cut_tree_when_walks_exceed_the_allowance() {
        // A chain 0 → 1 → … → depth-1, and x with a child y.
        let depth = 2_000u32;
        let mut links = Links::new(depth as usize + 2, 1_000);
        for k in 0..depth {
            links.add(k);
            if k > 0 {
                links.link(k - 1, k);
            }
        }
        let x = links.add(NONE);
        let y = links.add(depth);
        links.link(x, y);
        for _ in 0..depth {
            // Each broken link resets the shortcuts, so the next test walks
            // the whole chain (`robustness.rs` has this shape as mail).
            links.link(depth - 1, x);
            links.unlink(x);
            assert!(!links.would_loop(depth - 1, x));
        }
        assert!(links.tree.is_some(), "the walks exceeded their allowance");
        assert!(links.would_loop(depth - 1, 0));
        assert!(!links.would_loop(depth - 1, x));
        links.link(depth - 1, x);
        assert!(links.would_loop(y, 0));
        links.unlink(x);
        assert!(!links.would_loop(y, 0));
        assert!(links.would_loop(y, x));
    }
}
