//! THREAD=REFERENCES against a literal, slow model of RFC 5256 §3: child
//! lists, splicing prunes, a snapshot of the root set in step 5. The model
//! recurses freely; it only ever sees a dozen messages.

use std::collections::HashMap;

use postroom_sort::{KeyRecord, RawMessage, ThreadAlgorithm, thread};
use postroom_types::Thread;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Node {
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Model<'a> {
    msgs: &'a [(u32, &'a KeyRecord)],
    nodes: Vec<Node>,
}

impl Model<'_> {
    fn add(&mut self, msg: Option<usize>) -> usize {
        self.nodes.push(Node {
            msg,
            parent: None,
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    fn is_dummy(&self, n: usize) -> bool {
        self.nodes[n].msg.is_none()
    }

    /// Whether `a` is `b` or an ancestor of `b`.
    fn is_ancestor_or_self(&self, a: usize, b: usize) -> bool {
        let mut x = Some(b);
        while let Some(y) = x {
            if y == a {
                return true;
            }
            x = self.nodes[y].parent;
        }
        false
    }

    fn link(&mut self, p: usize, c: usize) {
        self.nodes[c].parent = Some(p);
        self.nodes[p].children.push(c);
    }

    fn unlink(&mut self, c: usize) {
        if let Some(p) = self.nodes[c].parent.take() {
            self.nodes[p].children.retain(|&x| x != c);
        }
    }

    fn key(&self, n: usize) -> (i64, u32) {
        match self.nodes[n].msg {
            Some(m) => (self.msgs[m].1.sent_date(), self.msgs[m].0),
            None => self.key(self.nodes[n].children[0]),
        }
    }

    fn sort_children(&mut self, n: usize, deep: bool) {
        let kids = self.nodes[n].children.clone();
        for &k in &kids {
            if deep || self.is_dummy(k) {
                self.sort_children(k, deep);
            }
        }
        let mut kids = kids;
        kids.sort_by_key(|&k| self.key(k));
        self.nodes[n].children = kids;
    }

    /// Step 3 on the children of `n`.
    fn prune(&mut self, n: usize, root_level: bool) {
        let mut i = 0;
        while i < self.nodes[n].children.len() {
            let c = self.nodes[n].children[i];
            if self.is_dummy(c) && self.nodes[c].children.is_empty() {
                self.nodes[n].children.remove(i);
                continue;
            }
            if self.is_dummy(c) && (!root_level || self.nodes[c].children.len() == 1) {
                let kids = std::mem::take(&mut self.nodes[c].children);
                for &k in &kids {
                    self.nodes[k].parent = Some(n);
                }
                self.nodes[n].children.splice(i..=i, kids);
                continue; // re-examine the promoted children
            }
            self.prune(c, false);
            // A kept root-level dummy may have lost children to pruning.
            if self.is_dummy(c) && self.nodes[c].children.len() < 2 {
                continue; // examine it again
            }
            i += 1;
        }
    }

    fn subject(&self, n: usize) -> &[u8] {
        let m = match self.nodes[n].msg {
            Some(m) => m,
            None => self.nodes[self.nodes[n].children[0]]
                .msg
                .expect("dummy child is a message"),
        };
        self.msgs[m].1.subject()
    }

    fn is_reply(&self, n: usize) -> bool {
        self.nodes[n]
            .msg
            .is_some_and(|m| self.msgs[m].1.is_reply_or_forward())
    }
}

fn model(msgs: &[(u32, &KeyRecord)]) -> Thread {
    let mut m = Model {
        msgs,
        nodes: Vec::new(),
    };
    let mut ids: HashMap<Vec<u8>, usize> = HashMap::new();
    // Step 1.
    for (i, (_, k)) in msgs.iter().enumerate() {
        let c = match k.message_id() {
            Some(id) => match ids.get(id.as_bytes()) {
                Some(&c) if m.nodes[c].msg.is_none() => {
                    m.nodes[c].msg = Some(i);
                    c
                }
                Some(_) => m.add(Some(i)),
                None => {
                    let c = m.add(Some(i));
                    ids.insert(id.as_bytes().to_vec(), c);
                    c
                }
            },
            None => m.add(Some(i)),
        };
        let mut prev: Option<usize> = None;
        for r in k.references() {
            let rc = match ids.get(r.as_bytes()) {
                Some(&x) => x,
                None => {
                    let x = m.add(None);
                    ids.insert(r.as_bytes().to_vec(), x);
                    x
                }
            };
            if let Some(p) = prev {
                if m.nodes[rc].parent.is_none() && !m.is_ancestor_or_self(rc, p) {
                    m.link(p, rc);
                }
            }
            prev = Some(rc);
        }
        m.unlink(c);
        if let Some(p) = prev {
            if !m.is_ancestor_or_self(c, p) {
                m.link(p, c);
            }
        }
    }
    // Step 2.
    let root = m.add(None);
    for x in 0..root {
        if m.nodes[x].parent.is_none() {
            m.link(root, x);
        }
    }
    // Step 3.
    m.prune(root, true);
    // Step 4.
    m.sort_children(root, false);
    // Step 5.
    let roots = m.nodes[root].children.clone();
    let mut table: HashMap<Vec<u8>, usize> = HashMap::new();
    for &r in &roots {
        let s = m.subject(r).to_vec();
        if s.is_empty() {
            continue;
        }
        match table.get(&s) {
            None => {
                table.insert(s, r);
            }
            Some(&t) => {
                if !m.is_dummy(t) && (m.is_dummy(r) || (m.is_reply(t) && !m.is_reply(r))) {
                    table.insert(s, r);
                }
            }
        }
    }
    for &r in &roots {
        if m.nodes[r].parent != Some(root) {
            continue; // merged away already
        }
        let s = m.subject(r).to_vec();
        if s.is_empty() {
            continue;
        }
        let t = table[&s];
        if t == r {
            continue;
        }
        if m.is_dummy(t) && m.is_dummy(r) {
            m.unlink(r);
            let kids = std::mem::take(&mut m.nodes[r].children);
            for k in kids {
                m.link(t, k);
            }
        } else if m.is_dummy(t) || (m.is_reply(r) && !m.is_reply(t)) {
            m.unlink(r);
            m.link(t, r);
        } else {
            let d = m.add(None);
            m.unlink(t);
            m.unlink(r);
            m.link(root, d);
            m.link(d, t);
            m.link(d, r);
            table.insert(s, d);
        }
    }
    // Step 6.
    m.sort_children(root, true);
    let mut out = Thread::new();
    fn emit(m: &Model<'_>, out: &mut Thread, parent: Option<usize>, n: usize) {
        let num = m.nodes[n].msg.map(|i| m.msgs[i].0);
        let id = match parent {
            None => out.add_root(num),
            Some(p) => out.add_child(p, num),
        };
        for &c in &m.nodes[n].children {
            emit(m, out, Some(id), c);
        }
    }
    for &r in &m.nodes[root].children {
        emit(&m, &mut out, None, r);
    }
    out
}

const IDS: [&str; 6] = ["<a@x>", "<b@x>", "<c@x>", "<\"a\"@x>", "<d@x>", "garbage"];
const SUBJECTS: [&str; 8] = ["a", "Re: a", "Fwd: a", "b", "Re: b", "", "[x] b (fwd)", "c"];

fn gen_message()
-> impl Strategy<Value = (Option<usize>, Vec<usize>, Option<usize>, Option<usize>, i64)> {
    (
        proptest::option::of(0..IDS.len()),
        proptest::collection::vec(0..IDS.len(), 0..4),
        proptest::option::of(0..IDS.len()),
        proptest::option::of(0..SUBJECTS.len()),
        0i64..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn references_matches_the_literal_model(
        gens in proptest::collection::vec(gen_message(), 0..12),
        mask in any::<u16>(),
    ) {
        let keys: Vec<KeyRecord> = gens
            .iter()
            .map(|(id, refs, irt, subject, date)| {
                let refs = refs.iter().map(|&r| IDS[r]).collect::<Vec<_>>().join(" ");
                KeyRecord::from_raw(&RawMessage {
                    internal_date: *date,
                    message_id: id.map(|i| IDS[i].as_bytes()),
                    references: (!refs.is_empty()).then_some(refs.as_bytes()),
                    in_reply_to: irt.map(|i| IDS[i].as_bytes()),
                    subject: subject.map(|s| SUBJECTS[s].as_bytes()),
                    ..RawMessage::default()
                })
            })
            .collect();
        let msgs: Vec<(u32, &KeyRecord)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (i as u32 + 1, k))
            .filter(|(n, _)| mask & (1 << (n % 16)) != 0)
            .collect();
        let got = thread(&msgs, ThreadAlgorithm::References).to_imap_string();
        let want = model(&msgs).to_imap_string();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn model_agrees_with_digest_t2() {
    // The model itself gives the digest's answer, so it is a fair referee.
    let spec: [(&str, &str, Option<&str>, i64); 7] = [
        ("<m1@x>", "alpha", None, 0),
        ("<m3@x>", "Re: alpha", Some("<m1@x> <m2@x>"), 2),
        ("<m4@x>", "Re: alpha", Some("<m1@x> <m2@x>"), 1),
        ("<m6@x>", "beta", Some("<m5@x>"), 3),
        ("<m8@x>", "gamma", Some("<m7@x>"), 6),
        ("<m9@x>", "Re: gamma", Some("<m7@x>"), 5),
        ("<m10@x>", "gamma", None, 4),
    ];
    let keys: Vec<KeyRecord> = spec
        .iter()
        .map(|(id, subject, refs, d)| {
            KeyRecord::from_raw(&RawMessage {
                internal_date: *d,
                message_id: Some(id.as_bytes()),
                subject: Some(subject.as_bytes()),
                references: refs.map(str::as_bytes),
                ..RawMessage::default()
            })
        })
        .collect();
    let msgs: Vec<(u32, &KeyRecord)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (i as u32 + 1, k))
        .collect();
    assert_eq!(model(&msgs).to_imap_string(), "(1 (3)(2))(4)((7)(6)(5))");
    assert_eq!(
        thread(&msgs, ThreadAlgorithm::References).to_imap_string(),
        "(1 (3)(2))(4)((7)(6)(5))"
    );
}
