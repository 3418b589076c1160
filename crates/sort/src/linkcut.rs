//! A link-cut tree (Sleator and Tarjan, 1983) over rooted forests: `link`,
//! `cut` and `find_root` in O(log n) amortized time each.
//!
//! THREAD=REFERENCES needs "is this container an ancestor of that one?"
//! while links are added and broken (RFC 5256 §3 steps 1.A and 1.B). The
//! jump pointers of [`crate::thread`] answer that cheaply on real mail but
//! lose their shortcuts at every broken link; this structure takes over when
//! an input makes that happen too often, so no input costs more than
//! O(n log n).
//!
//! Every node's preferred path is kept as a splay tree ordered by depth
//! (shallowest on the left). `up[x]` is `x`'s parent in its splay tree, or,
//! for the root of a splay tree, the path-parent: the tree node above the
//! path's shallowest node. Nothing here recurses; no node is ever re-rooted
//! (no evert), so no reversal bits are needed.

const NONE: u32 = u32::MAX;

/// A forest of nodes `0..len`, each a root until linked.
pub(crate) struct LinkCut {
    left: Vec<u32>,
    right: Vec<u32>,
    up: Vec<u32>,
}

impl LinkCut {
    /// The forest where node `x`'s parent is `parent[x]` (`u32::MAX` for a
    /// root): every node alone in its splay tree with a path-parent pointer
    /// to its tree parent is a valid representation, built in O(n).
    pub(crate) fn from_parents(parent: impl Iterator<Item = u32>) -> LinkCut {
        let up: Vec<u32> = parent.collect();
        LinkCut {
            left: vec![NONE; up.len()],
            right: vec![NONE; up.len()],
            up,
        }
    }

    /// Adds a node, a root, and returns its index.
    pub(crate) fn push(&mut self) -> u32 {
        self.left.push(NONE);
        self.right.push(NONE);
        self.up.push(NONE);
        (self.up.len() - 1) as u32
    }

    /// Whether `x` is the root of its splay tree.
    fn is_splay_root(&self, x: u32) -> bool {
        let p = self.up[x as usize];
        p == NONE || (self.left[p as usize] != x && self.right[p as usize] != x)
    }

    /// Rotates `x` above its splay parent.
    fn rotate(&mut self, x: u32) {
        let p = self.up[x as usize];
        let g = self.up[p as usize];
        if !self.is_splay_root(p) {
            if self.left[g as usize] == p {
                self.left[g as usize] = x;
            } else {
                self.right[g as usize] = x;
            }
        }
        self.up[x as usize] = g;
        if self.left[p as usize] == x {
            let b = self.right[x as usize];
            self.left[p as usize] = b;
            if b != NONE {
                self.up[b as usize] = p;
            }
            self.right[x as usize] = p;
        } else {
            let b = self.left[x as usize];
            self.right[p as usize] = b;
            if b != NONE {
                self.up[b as usize] = p;
            }
            self.left[x as usize] = p;
        }
        self.up[p as usize] = x;
    }

    /// Makes `x` the root of its splay tree.
    fn splay(&mut self, x: u32) {
        while !self.is_splay_root(x) {
            let p = self.up[x as usize];
            if !self.is_splay_root(p) {
                let g = self.up[p as usize];
                let zig_zig = (self.left[g as usize] == p) == (self.left[p as usize] == x);
                self.rotate(if zig_zig { p } else { x });
            }
            self.rotate(x);
        }
    }

    /// Makes the path from the tree root to `x` preferred, ending at `x`,
    /// with `x` the root of its splay tree.
    fn access(&mut self, x: u32) {
        let mut last = NONE;
        let mut y = x;
        while y != NONE {
            self.splay(y);
            self.right[y as usize] = last;
            last = y;
            y = self.up[y as usize];
        }
        self.splay(x);
    }

    /// The root of the tree holding `x`.
    pub(crate) fn find_root(&mut self, x: u32) -> u32 {
        self.access(x);
        let mut r = x;
        while self.left[r as usize] != NONE {
            r = self.left[r as usize];
        }
        // Splaying the root keeps the next search short (amortization).
        self.splay(r);
        r
    }

    /// Makes `parent` the parent of `child`, which must be a tree root
    /// (and not an ancestor of `parent`).
    pub(crate) fn link(&mut self, parent: u32, child: u32) {
        self.access(child);
        // `child` is the shallowest node of its tree: nothing on its left.
        debug_assert_eq!(self.left[child as usize], NONE);
        self.up[child as usize] = parent;
    }

    /// Cuts `child` from its parent (nothing happens to a root).
    pub(crate) fn cut(&mut self, child: u32) {
        self.access(child);
        let l = self.left[child as usize];
        if l != NONE {
            self.up[l as usize] = NONE;
            self.left[child as usize] = NONE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The root by walking plain parent pointers.
    fn naive_root(parent: &[u32], mut x: u32) -> u32 {
        while parent[x as usize] != NONE {
            x = parent[x as usize];
        }
        x
    }

    #[test]
    fn matches_parent_pointers_under_random_links_and_cuts() {
        // A small deterministic generator (xorshift) keeps the test
        // reproducible without a dependency.
        let mut s = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |m: u32| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % u64::from(m)) as u32
        };
        let n = 300u32;
        let mut parent = vec![NONE; n as usize];
        // Start from a non-trivial forest to exercise `from_parents`.
        for x in 1..n {
            if next(3) > 0 {
                parent[x as usize] = next(x);
            }
        }
        let mut lc = LinkCut::from_parents(parent.iter().copied());
        for _ in 0..20_000 {
            let a = next(n);
            let b = next(n);
            match next(3) {
                0 => {
                    lc.cut(a);
                    parent[a as usize] = NONE;
                }
                1 => {
                    if parent[a as usize] == NONE && naive_root(&parent, b) != a {
                        lc.link(b, a);
                        parent[a as usize] = b;
                    }
                }
                _ => assert_eq!(lc.find_root(a), naive_root(&parent, a)),
            }
        }
        for x in 0..n {
            assert_eq!(lc.find_root(x), naive_root(&parent, x));
        }
    }

    #[test]
    fn deep_chain_without_recursion() {
        let n = 200_000u32;
        let mut lc = LinkCut::from_parents(std::iter::repeat_n(NONE, n as usize));
        for x in 1..n {
            lc.link(x - 1, x);
        }
        assert_eq!(lc.find_root(n - 1), 0);
        lc.cut(n / 2);
        assert_eq!(lc.find_root(n - 1), n / 2);
        assert_eq!(lc.find_root(n / 2 - 1), 0);
        let extra = lc.push();
        lc.link(n - 1, extra);
        assert_eq!(lc.find_root(extra), n / 2);
    }
}
