//! [`Thread`]: the result of an IMAP THREAD command (RFC 5256 §4), as a
//! forest built and walked without recursion.

use std::num::NonZeroU32;

/// Index of a node inside a [`Thread`].
pub type NodeId = usize;

/// One node of a [`Thread`] forest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadNode {
    /// The message (sequence number or UID), or `None` for a dummy parent
    /// that stands for a message not in the result (RFC 5256 §3, step 2).
    pub message: Option<NonZeroU32>,
    /// Children in order.
    pub children: Vec<NodeId>,
}

/// A forest of threads: every root is one thread of a THREAD response.
///
/// Nodes live in one vector and refer to their children by index, so a thread
/// nested 100,000 deep is built, walked, compared and dropped without deep
/// recursion.
///
/// ```
/// use postroom_types::{Thread, ThreadToken};
/// let mut t = Thread::new();
/// let a = t.add_root(Some(2));
/// let b = t.add_child(a, Some(3));
/// t.add_child(b, Some(6));
/// t.add_child(b, Some(4));
/// assert_eq!(t.to_imap_string(), "(2 3 (6)(4))");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thread {
    nodes: Vec<ThreadNode>,
    roots: Vec<NodeId>,
}

/// A token of the IMAP thread syntax (RFC 5256 §4 `thread-list`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadToken {
    /// `(`
    Open,
    /// `)`
    Close,
    /// A message number.
    Message(NonZeroU32),
}

/// An error from building a [`Thread`] out of tokens.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThreadError {
    /// A `)` without a matching `(`, or a token outside any list.
    #[error("unbalanced thread list at token {index}")]
    Unbalanced {
        /// Index of the offending token.
        index: usize,
    },
    /// The tokens ended inside a list.
    #[error("thread list not closed at end of input")]
    Unclosed,
    /// A message number after a nested list (RFC 5256 §4 allows nested lists
    /// only after the last number of a list).
    #[error("message number after a nested thread list at token {index}")]
    NumberAfterNested {
        /// Index of the offending token.
        index: usize,
    },
    /// An empty list `()`.
    #[error("empty thread list at token {index}")]
    Empty {
        /// Index of the offending token.
        index: usize,
    },
}

impl Thread {
    /// An empty forest.
    pub fn new() -> Thread {
        Thread::default()
    }

    /// An empty forest with room for `nodes` nodes, so a builder that knows
    /// the message count allocates once.
    pub fn with_capacity(nodes: usize) -> Thread {
        Thread {
            nodes: Vec::with_capacity(nodes),
            roots: Vec::new(),
        }
    }

    /// Adds a root (a new thread); `message` 0 or `None` makes a dummy.
    pub fn add_root(&mut self, message: impl Into<Option<u32>>) -> NodeId {
        let id = self.push(message.into());
        self.roots.push(id);
        id
    }

    /// Adds a child at the end of `parent`'s children.
    ///
    /// # Panics
    /// If `parent` is not a node of this forest.
    pub fn add_child(&mut self, parent: NodeId, message: impl Into<Option<u32>>) -> NodeId {
        let id = self.push(message.into());
        self.nodes[parent].children.push(id);
        id
    }

    fn push(&mut self, message: Option<u32>) -> NodeId {
        self.nodes.push(ThreadNode {
            message: message.and_then(NonZeroU32::new),
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// The roots in order.
    pub fn roots(&self) -> &[NodeId] {
        &self.roots
    }

    /// A node by id.
    ///
    /// # Panics
    /// If `id` is not a node of this forest.
    pub fn node(&self, id: NodeId) -> &ThreadNode {
        &self.nodes[id]
    }

    /// All nodes, in insertion order.
    pub fn nodes(&self) -> &[ThreadNode] {
        &self.nodes
    }

    /// Whether the forest has no threads.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Messages in depth-first pre-order (parents before children), dummies
    /// skipped.
    pub fn messages(&self) -> Vec<NonZeroU32> {
        let mut out = Vec::new();
        let mut stack: Vec<NodeId> = self.roots.iter().rev().copied().collect();
        while let Some(id) = stack.pop() {
            let node = &self.nodes[id];
            if let Some(m) = node.message {
                out.push(m);
            }
            stack.extend(node.children.iter().rev().copied());
        }
        out
    }

    /// The greatest depth of any node (a root alone is depth 1; 0 if empty).
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack: Vec<(NodeId, usize)> = self.roots.iter().map(|&r| (r, 1)).collect();
        while let Some((id, d)) = stack.pop() {
            max = max.max(d);
            stack.extend(self.nodes[id].children.iter().map(|&c| (c, d + 1)));
        }
        max
    }

    /// The tokens of the IMAP form of this forest (RFC 5256 §4): every root
    /// is one `thread-list`; a node with one child continues its list; a node
    /// with several children ends its list with one nested list per child.
    /// A dummy is written as its children (a dummy without children is
    /// omitted, one with a single child is replaced by it).
    ///
    /// The walk uses an explicit stack, so any depth is fine.
    pub fn tokens(&self) -> Vec<ThreadToken> {
        let mut out = Vec::with_capacity(self.nodes.len() * 3);
        // Each frame: a node to emit, and whether it opens a new list.
        enum Step {
            Node(NodeId, bool),
            Close,
        }
        let mut stack: Vec<Step> = Vec::new();
        for &root in self.roots.iter().rev() {
            stack.push(Step::Node(root, true));
        }
        while let Some(step) = stack.pop() {
            match step {
                Step::Close => out.push(ThreadToken::Close),
                Step::Node(mut id, mut open) => {
                    // Skip dummies with a single child: they stand for it.
                    while self.nodes[id].message.is_none() && self.nodes[id].children.len() == 1 {
                        id = self.nodes[id].children[0];
                    }
                    let node = &self.nodes[id];
                    if node.message.is_none() && node.children.is_empty() {
                        continue;
                    }
                    if open {
                        out.push(ThreadToken::Open);
                        stack.push(Step::Close);
                    }
                    if let Some(m) = node.message {
                        out.push(ThreadToken::Message(m));
                    }
                    match node.children.len() {
                        0 => {}
                        1 => {
                            // A single child continues the same list.
                            open = false;
                            stack.push(Step::Node(node.children[0], open));
                        }
                        _ => {
                            for &c in node.children.iter().rev() {
                                stack.push(Step::Node(c, true));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The IMAP text of the forest, as it follows `* THREAD `.
    pub fn to_imap_string(&self) -> String {
        let mut s = String::new();
        let mut prev: Option<ThreadToken> = None;
        for t in self.tokens() {
            match t {
                ThreadToken::Open => {
                    if matches!(prev, Some(ThreadToken::Message(_))) {
                        s.push(' ');
                    }
                    s.push('(');
                }
                ThreadToken::Close => s.push(')'),
                ThreadToken::Message(m) => {
                    if matches!(prev, Some(ThreadToken::Message(_))) {
                        s.push(' ');
                    }
                    s.push_str(&m.to_string());
                }
            }
            prev = Some(t);
        }
        s
    }

    /// Builds a forest from IMAP thread tokens, the inverse of
    /// [`Thread::tokens`]. A list that starts with nested lists gets a dummy
    /// parent. Uses no recursion.
    pub fn from_tokens<I: IntoIterator<Item = ThreadToken>>(
        tokens: I,
    ) -> Result<Thread, ThreadError> {
        // One frame per open list: the node new numbers attach to (the last
        // number of this list, or the list's dummy/parent), whether a nested
        // list has been seen, and whether the list holds anything yet.
        struct Frame {
            parent: Option<NodeId>,
            last: Option<NodeId>,
            nested_seen: bool,
            non_empty: bool,
        }
        let mut thread = Thread::new();
        let mut stack: Vec<Frame> = Vec::new();
        for (index, token) in tokens.into_iter().enumerate() {
            match token {
                ThreadToken::Open => {
                    let parent = match stack.last_mut() {
                        None => None,
                        Some(frame) => {
                            frame.non_empty = true;
                            frame.nested_seen = true;
                            if frame.last.is_none() {
                                // A list starting with nested lists: a dummy
                                // parent holds them.
                                let dummy = match frame.parent {
                                    None => thread.add_root(None),
                                    Some(p) => thread.add_child(p, None),
                                };
                                frame.last = Some(dummy);
                            }
                            frame.last
                        }
                    };
                    stack.push(Frame {
                        parent,
                        last: None,
                        nested_seen: false,
                        non_empty: false,
                    });
                }
                ThreadToken::Close => {
                    let frame = stack.pop().ok_or(ThreadError::Unbalanced { index })?;
                    if !frame.non_empty {
                        return Err(ThreadError::Empty { index });
                    }
                }
                ThreadToken::Message(m) => {
                    let frame = stack.last_mut().ok_or(ThreadError::Unbalanced { index })?;
                    if frame.nested_seen {
                        return Err(ThreadError::NumberAfterNested { index });
                    }
                    frame.non_empty = true;
                    let id = match frame.last.or(frame.parent) {
                        None => thread.add_root(m.get()),
                        Some(p) => thread.add_child(p, m.get()),
                    };
                    frame.last = Some(id);
                }
            }
        }
        if !stack.is_empty() {
            return Err(ThreadError::Unclosed);
        }
        Ok(thread)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Thread {
        let mut tokens = Vec::new();
        let mut num = String::new();
        for c in s.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            if !num.is_empty() {
                tokens.push(ThreadToken::Message(num.parse().unwrap()));
                num.clear();
            }
            match c {
                '(' => tokens.push(ThreadToken::Open),
                ')' => tokens.push(ThreadToken::Close),
                _ => {}
            }
        }
        Thread::from_tokens(tokens).unwrap()
    }

    #[test]
    fn rfc5256_examples_round_trip() {
        // RFC 5256 §4 examples.
        for s in [
            "(2)(3 6 (4 23)(44 7 96))",
            "((3)(5))",
            "(166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)",
        ] {
            assert_eq!(parse(s).to_imap_string(), s);
        }
    }

    #[test]
    fn with_capacity_builds_the_same_forest() {
        let mut a = Thread::with_capacity(3);
        let r = a.add_root(Some(1));
        a.add_child(r, Some(2));
        let mut b = Thread::new();
        let r = b.add_root(Some(1));
        b.add_child(r, Some(2));
        assert_eq!(a, b);
    }

    #[test]
    fn dummy_structure() {
        let t = parse("((3)(5))");
        assert_eq!(t.roots().len(), 1);
        let root = t.node(t.roots()[0]);
        assert_eq!(root.message, None);
        assert_eq!(root.children.len(), 2);
        assert_eq!(
            t.messages().iter().map(|m| m.get()).collect::<Vec<_>>(),
            [3, 5]
        );
    }

    #[test]
    fn single_child_dummy_is_flattened() {
        let mut t = Thread::new();
        let d = t.add_root(None);
        let a = t.add_child(d, Some(1));
        t.add_child(a, Some(2));
        t.add_root(None); // empty dummy: omitted
        assert_eq!(t.to_imap_string(), "(1 2)");
    }

    #[test]
    fn deep_chain_without_recursion() {
        let mut t = Thread::new();
        let mut id = t.add_root(Some(1));
        for i in 2..=100_000u32 {
            id = t.add_child(id, Some(i));
        }
        assert_eq!(t.depth(), 100_000);
        let tokens = t.tokens();
        assert_eq!(tokens.len(), 100_002);
        let back = Thread::from_tokens(tokens).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn deep_nesting_without_recursion() {
        // Every node has two children, one a leaf: 50,000 levels of lists.
        let mut t = Thread::new();
        let mut id = t.add_root(Some(1));
        let mut n = 2;
        for _ in 0..50_000 {
            t.add_child(id, Some(n));
            id = t.add_child(id, Some(n + 1));
            n += 2;
        }
        let s = t.to_imap_string();
        assert!(s.starts_with("(1 (2)(3 (4)(5 "));
        let back = Thread::from_tokens(t.tokens()).unwrap();
        assert_eq!(back.to_imap_string(), s);
    }

    #[test]
    fn bad_token_streams() {
        use ThreadToken::*;
        let one = Message(NonZeroU32::new(1).unwrap());
        assert_eq!(
            Thread::from_tokens([Close]),
            Err(ThreadError::Unbalanced { index: 0 })
        );
        assert_eq!(Thread::from_tokens([Open, one]), Err(ThreadError::Unclosed));
        assert_eq!(
            Thread::from_tokens([Open, Close]),
            Err(ThreadError::Empty { index: 1 })
        );
        assert_eq!(
            Thread::from_tokens([one]),
            Err(ThreadError::Unbalanced { index: 0 })
        );
        assert_eq!(
            Thread::from_tokens([Open, Open, one, Close, one, Close]),
            Err(ThreadError::NumberAfterNested { index: 4 })
        );
    }
}
