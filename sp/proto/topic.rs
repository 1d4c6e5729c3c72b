// SPDX-License-Identifier: GPL-2.0

//! Subscription prefixes of a SUB socket.
//!
//! A subscription is a byte prefix: a message matches if it is at least as
//! long as some subscribed prefix and starts with it. The empty prefix
//! matches every message, and a socket without subscriptions matches none.
//! The set has set semantics: subscribing a prefix twice keeps one copy, and
//! unsubscribing a prefix that is not subscribed is an error.
//!
//! [`Topics`] keeps the prefixes in a trie over bytes. Each node is one byte
//! of one or more prefixes; its children form a singly linked list sorted by
//! byte, so walking a message costs at most one scan of one sibling list
//! (at most 256 nodes) per message byte, however many prefixes there are.
//! The walk stops at the first node that ends a prefix (a match) or at the
//! first byte with no node (no match), so it never reads more of the message
//! than the longest subscribed prefix, and at most [`MAX_PREFIX`] bytes.
//!
//! There is no allocator here: the nodes live in a caller-provided
//! [`Store`], a growable array addressed by `u32` indices (a `KVec<Node>` in
//! the kernel, whose `push` may fail). Growth can only fail before anything
//! changes: a subscribe first makes sure that enough nodes are at hand, and
//! only then links them in, so a failed subscribe leaves the set as it was.
//!
//! Memory follows the live subscriptions. Unsubscribing frees the nodes that
//! no longer lead to a prefix, and frees them onto a free list threaded
//! through the freed nodes themselves, from which later subscribes take
//! their nodes before growing the store. The nodes in use are exactly the
//! distinct non-empty prefixes of the subscribed prefixes (at most their
//! total length), and the store only grows when a subscribe needs more nodes
//! than the free list holds, so its length never exceeds the most nodes that
//! any one subscribe needed (those in use then plus the new ones), whatever
//! the churn.
//!
//! Messages whose bytes come in pieces (the fragments of an skb) go through
//! a [`Cursor`], which walks the trie one chunk at a time and says as soon
//! as it knows the answer. A cursor is only valid while the set does not
//! change: feed all of a message under the lock that guards the set. A
//! cursor that is fed after the set changed, and had not matched yet, stops
//! with [`Step::NoMatch`] (the message is dropped as if it had come just
//! before the change) rather than walk nodes that may have been reused.
//!
//! Every operation is bounded: at most [`MAX_PREFIX`] levels of at most 256
//! siblings each, without recursion, and with a few words of stack.

/// Longest prefix that can be subscribed, in bytes.
pub(crate) const MAX_PREFIX: usize = 1024;

/// The "no node" index, ending sibling lists, child lists and the free list.
const NIL: u32 = u32::MAX;

/// Index that stands for the root node, which [`Topics`] keeps outside the
/// store. The store is never grown to hold this index or [`NIL`].
const ROOT: u32 = u32::MAX - 1;

/// Most siblings a node can have: one per byte value.
const FANOUT: usize = 256;

/// One node of the trie (12 bytes), or a free node on the free list.
///
/// The fields are private: a [`Store`] only keeps nodes, which [`Topics`]
/// makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Node {
    /// First child, the one with the lowest byte, or [`NIL`].
    child: u32,
    /// Next sibling, whose byte is higher, or [`NIL`]. On a free node, the
    /// next free node.
    next: u32,
    /// The byte this node stands for, below its parent.
    byte: u8,
    /// Whether the path from the root to this node is a subscribed prefix.
    end: bool,
}

impl Node {
    /// A node linked to nothing.
    const FREE: Self = Self {
        child: NIL,
        next: NIL,
        byte: 0,
        end: false,
    };
}

/// The [`Store`] could not grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NoMem;

/// A growable array of nodes, provided by the caller.
///
/// [`Topics`] only appends with [`Store::push`] and never removes: freed
/// nodes stay in the store, on a free list, until they are used again.
/// Indices that [`Store::get`] does not know are treated as missing nodes,
/// which never panics but leaves the set unspecified: a store must return
/// every node it was given, unchanged.
pub(crate) trait Store {
    /// Returns the number of nodes in the store.
    fn len(&self) -> usize;
    /// Returns the node at index `i`, if `i < self.len()`.
    fn get(&self, i: usize) -> Option<&Node>;
    /// Returns the node at index `i` for writing, if `i < self.len()`.
    fn get_mut(&mut self, i: usize) -> Option<&mut Node>;
    /// Appends a node at index `self.len()`, or fails without changing
    /// anything.
    fn push(&mut self, node: Node) -> Result<(), NoMem>;
}

/// Why a subscription change was refused. The set is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TopicError {
    /// The prefix is longer than [`MAX_PREFIX`].
    TooLong,
    /// The prefix to unsubscribe is not subscribed.
    NotFound,
    /// The store could not grow to hold the new prefix.
    NoMem,
}

impl From<NoMem> for TopicError {
    fn from(NoMem: NoMem) -> Self {
        Self::NoMem
    }
}

/// What a [`Cursor`] knows after a chunk of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The message matches: it starts with a subscribed prefix. Further
    /// chunks are not needed (and do not change the answer).
    Match,
    /// The message does not match, whatever follows. Further chunks are not
    /// needed (and do not change the answer).
    NoMatch,
    /// The answer depends on bytes not seen yet: feed the next chunk, or
    /// call [`Cursor::end`] if the message has no more bytes.
    More,
}

/// Result of looking up a byte in a sibling list.
#[derive(Clone, Copy, Debug)]
struct Probe {
    /// The last sibling with a lower byte, after which the byte belongs, or
    /// [`NIL`] if it belongs first.
    prev: u32,
    /// The first sibling whose byte is not lower, or [`NIL`]: the node found,
    /// or the one that would follow a new node.
    at: u32,
    /// The node at `at` if its byte is the one looked up.
    found: Option<Node>,
}

/// Where to cut the trie when unsubscribing a prefix whose node is a leaf:
/// the link to the top of the chain of nodes that lead to nothing else.
#[derive(Clone, Copy, Debug)]
struct Cut {
    /// The deepest node on the path that stays (the root, a node ending
    /// another prefix, or one with other children).
    parent: u32,
    /// The sibling before `top` in `parent`'s child list, or [`NIL`].
    prev: u32,
    /// The first node to free; the chain below it is freed too.
    top: u32,
}

/// The subscribed prefixes of a SUB socket, in a trie whose nodes live in a
/// [`Store`].
#[derive(Debug)]
pub(crate) struct Topics<S: Store> {
    /// The nodes except the root.
    store: S,
    /// The root: the empty prefix. Its `child` is the first byte level; its
    /// `end` says whether the empty prefix is subscribed.
    root: Node,
    /// First node of the free list (linked through `next`), or [`NIL`].
    free: u32,
    /// Number of nodes on the free list.
    spare: usize,
    /// Number of subscribed prefixes.
    count: usize,
    /// Changed by every change of the set, so that a [`Cursor`] can tell
    /// that the nodes it walks may have moved.
    generation: u64,
}

impl<S: Store> Topics<S> {
    /// Returns an empty set keeping its nodes in `store`.
    ///
    /// Nodes that `store` already holds are taken as free nodes (which lets
    /// a caller provide them in advance): they are overwritten as needed.
    pub(crate) fn new(store: S) -> Self {
        let mut topics = Self {
            store,
            root: Node::FREE,
            free: NIL,
            spare: 0,
            count: 0,
            generation: 0,
        };
        let held = u32::try_from(topics.store.len()).map_or(ROOT, |len| len.min(ROOT));
        for id in (0..held).rev() {
            topics.release(id);
        }
        topics
    }

    /// Returns the number of subscribed prefixes.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Returns whether no prefix is subscribed (and thus nothing matches).
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Subscribes `prefix`.
    ///
    /// Returns `Ok(true)` if it was added, `Ok(false)` if it was already
    /// subscribed. On error the set is unchanged.
    pub(crate) fn subscribe(&mut self, prefix: &[u8]) -> Result<bool, TopicError> {
        if prefix.len() > MAX_PREFIX {
            return Err(TopicError::TooLong);
        }
        let mut at = ROOT;
        let mut cur = self.root;
        for (depth, &byte) in prefix.iter().enumerate() {
            let probe = self.find(cur.child, byte);
            match probe.found {
                Some(node) => {
                    at = probe.at;
                    cur = node;
                }
                None => {
                    let rest = prefix.get(depth..).unwrap_or_default();
                    self.graft(at, probe, rest)?;
                    self.changed(true);
                    return Ok(true);
                }
            }
        }
        if cur.end {
            return Ok(false);
        }
        if let Some(node) = self.node_mut(at) {
            node.end = true;
        }
        self.changed(true);
        Ok(true)
    }

    /// Unsubscribes `prefix`, freeing the nodes that lead to no other
    /// prefix.
    ///
    /// On error the set is unchanged.
    pub(crate) fn unsubscribe(&mut self, prefix: &[u8]) -> Result<(), TopicError> {
        if prefix.len() > MAX_PREFIX {
            return Err(TopicError::TooLong);
        }
        let mut at = ROOT;
        let mut cur = self.root;
        let mut cut = Cut {
            parent: ROOT,
            prev: NIL,
            top: NIL,
        };
        for &byte in prefix {
            let probe = self.find(cur.child, byte);
            let next = probe.found.ok_or(TopicError::NotFound)?;
            // `cur` stays if the prefix ends below it: the chain to free
            // starts no higher than `next`.
            if at == ROOT || cur.end || cur.child != probe.at || next.next != NIL {
                cut = Cut {
                    parent: at,
                    prev: probe.prev,
                    top: probe.at,
                };
            }
            at = probe.at;
            cur = next;
        }
        if !cur.end {
            return Err(TopicError::NotFound);
        }
        if at == ROOT || cur.child != NIL {
            if let Some(node) = self.node_mut(at) {
                node.end = false;
            }
        } else {
            self.prune(cut);
        }
        self.changed(false);
        Ok(())
    }

    /// Returns whether `msg` starts with a subscribed prefix.
    pub(crate) fn matches(&self, msg: &[u8]) -> bool {
        let mut cursor = self.cursor();
        cursor.feed(self, msg);
        cursor.end()
    }

    /// Returns a cursor at the start of a message, for feeding the message
    /// in chunks with [`Cursor::feed`].
    pub(crate) fn cursor(&self) -> Cursor {
        let state = if self.root.end {
            State::Matched
        } else if self.root.child == NIL {
            State::Failed
        } else {
            State::Walking
        };
        Cursor {
            head: self.root.child,
            state,
            generation: self.generation,
        }
    }

    /// Records a change of the set: one prefix `added` or removed.
    fn changed(&mut self, added: bool) {
        self.count = if added {
            self.count.saturating_add(1)
        } else {
            self.count.saturating_sub(1)
        };
        self.generation = self.generation.wrapping_add(1);
    }

    /// Looks up `byte` in the sibling list that starts at `head`.
    fn find(&self, head: u32, byte: u8) -> Probe {
        let mut prev = NIL;
        let mut at = head;
        for _ in 0..FANOUT {
            let Some(node) = self.stored(at) else {
                break;
            };
            if node.byte >= byte {
                let found = (node.byte == byte).then_some(node);
                return Probe { prev, at, found };
            }
            prev = at;
            at = node.next;
        }
        Probe {
            prev,
            at: NIL,
            found: None,
        }
    }

    /// Adds the chain of nodes for `rest`, the bytes of a new prefix below
    /// node `parent`, where `probe` says that its first byte is missing.
    ///
    /// Takes all the nodes it needs before changing anything visible, and
    /// links the whole chain in with one last write.
    fn graft(&mut self, parent: u32, probe: Probe, rest: &[u8]) -> Result<(), NoMem> {
        self.reserve(rest.len())?;
        let mut below = NIL;
        let mut end = true;
        for &byte in rest.iter().rev() {
            // Cannot fail after `reserve`, unless the store loses nodes.
            let id = self.pop().ok_or(NoMem)?;
            if let Some(node) = self.stored_mut(id) {
                *node = Node {
                    child: below,
                    next: NIL,
                    byte,
                    end,
                };
            }
            below = id;
            end = false;
        }
        if let Some(top) = self.stored_mut(below) {
            top.next = probe.at;
        } else {
            return Ok(());
        }
        if probe.prev == NIL {
            if let Some(node) = self.node_mut(parent) {
                node.child = below;
            }
        } else if let Some(node) = self.stored_mut(probe.prev) {
            node.next = below;
        }
        Ok(())
    }

    /// Unlinks the chain that starts at `cut.top` and frees its nodes.
    fn prune(&mut self, cut: Cut) {
        let after = self.stored(cut.top).map_or(NIL, |node| node.next);
        if cut.prev == NIL {
            if let Some(node) = self.node_mut(cut.parent) {
                node.child = after;
            }
        } else if let Some(node) = self.stored_mut(cut.prev) {
            node.next = after;
        }
        let mut id = cut.top;
        for _ in 0..MAX_PREFIX {
            let Some(node) = self.stored(id) else {
                break;
            };
            self.release(id);
            id = node.child;
        }
    }

    /// Grows the store until the free list holds `need` nodes.
    fn reserve(&mut self, need: usize) -> Result<(), NoMem> {
        while self.spare < need {
            let id = u32::try_from(self.store.len())
                .ok()
                .filter(|&id| id < ROOT)
                .ok_or(NoMem)?;
            self.store.push(Node {
                next: self.free,
                ..Node::FREE
            })?;
            self.free = id;
            self.spare = self.spare.saturating_add(1);
        }
        Ok(())
    }

    /// Takes a node off the free list.
    fn pop(&mut self) -> Option<u32> {
        let id = self.free;
        let node = self.stored(id)?;
        self.free = node.next;
        self.spare = self.spare.saturating_sub(1);
        Some(id)
    }

    /// Puts node `id` on the free list.
    fn release(&mut self, id: u32) {
        let free = self.free;
        if let Some(node) = self.stored_mut(id) {
            *node = Node {
                next: free,
                ..Node::FREE
            };
            self.free = id;
            self.spare = self.spare.saturating_add(1);
        }
    }

    /// Returns the store index of node `id`, unless it is [`ROOT`] or
    /// [`NIL`].
    fn slot(id: u32) -> Option<usize> {
        if id < ROOT {
            usize::try_from(id).ok()
        } else {
            None
        }
    }

    /// Returns node `id` from the store.
    fn stored(&self, id: u32) -> Option<Node> {
        self.store.get(Self::slot(id)?).copied()
    }

    /// Returns node `id` from the store for writing.
    fn stored_mut(&mut self, id: u32) -> Option<&mut Node> {
        self.store.get_mut(Self::slot(id)?)
    }

    /// Returns node `id`, which may be [`ROOT`], for writing.
    fn node_mut(&mut self, id: u32) -> Option<&mut Node> {
        if id == ROOT {
            Some(&mut self.root)
        } else {
            self.stored_mut(id)
        }
    }
}

/// How far a [`Cursor`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The bytes so far lead to a node that ends no prefix.
    Walking,
    /// The bytes so far start with a subscribed prefix.
    Matched,
    /// No subscribed prefix starts like the bytes so far.
    Failed,
}

/// Matching state for a message whose bytes come in chunks; made by
/// [`Topics::cursor`].
///
/// It holds no borrow of the set, but must be fed with the set that made
/// it, while that set does not change (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// The child list to look the next byte up in.
    head: u32,
    /// Whether the answer is known yet.
    state: State,
    /// The set's generation when the cursor was made.
    generation: u64,
}

impl Cursor {
    /// Walks the next `chunk` of the message and says whether the answer is
    /// known. Once it is, later calls return it again without reading their
    /// chunk.
    pub(crate) fn feed<S: Store>(&mut self, topics: &Topics<S>, chunk: &[u8]) -> Step {
        if self.state == State::Walking && self.generation != topics.generation {
            self.state = State::Failed;
        }
        if self.state == State::Walking {
            for &byte in chunk {
                match topics.find(self.head, byte).found {
                    None => {
                        self.state = State::Failed;
                        break;
                    }
                    Some(node) if node.end => {
                        self.state = State::Matched;
                        break;
                    }
                    Some(node) => self.head = node.child,
                }
            }
        }
        match self.state {
            State::Walking => Step::More,
            State::Matched => Step::Match,
            State::Failed => Step::NoMatch,
        }
    }

    /// Returns whether the message matches, given that it has no more bytes
    /// than those fed: true only if a subscribed prefix was seen.
    pub(crate) fn end(&self) -> bool {
        self.state == State::Matched
    }
}

#[cfg(test)]
#[expect(clippy::arithmetic_side_effects, reason = "an overflow fails the test")]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::cell::Cell;
    use std::collections::HashSet;

    impl Store for Vec<Node> {
        fn len(&self) -> usize {
            Vec::len(self)
        }
        fn get(&self, i: usize) -> Option<&Node> {
            self.as_slice().get(i)
        }
        fn get_mut(&mut self, i: usize) -> Option<&mut Node> {
            self.as_mut_slice().get_mut(i)
        }
        fn push(&mut self, node: Node) -> Result<(), NoMem> {
            Vec::push(self, node);
            Ok(())
        }
    }

    /// A store that can only grow by `budget` more nodes, like a `KVec`
    /// under memory pressure.
    #[derive(Debug, Default)]
    struct Budget {
        /// The nodes.
        nodes: Vec<Node>,
        /// How many more pushes succeed.
        budget: usize,
    }

    impl Store for Budget {
        fn len(&self) -> usize {
            self.nodes.len()
        }
        fn get(&self, i: usize) -> Option<&Node> {
            self.nodes.as_slice().get(i)
        }
        fn get_mut(&mut self, i: usize) -> Option<&mut Node> {
            self.nodes.as_mut_slice().get_mut(i)
        }
        fn push(&mut self, node: Node) -> Result<(), NoMem> {
            self.budget = self.budget.checked_sub(1).ok_or(NoMem)?;
            self.nodes.push(node);
            Ok(())
        }
    }

    /// A store that counts node reads.
    #[derive(Debug, Default)]
    struct Counting {
        /// The nodes.
        nodes: Vec<Node>,
        /// Number of `get` calls.
        reads: Cell<usize>,
    }

    impl Store for Counting {
        fn len(&self) -> usize {
            self.nodes.len()
        }
        fn get(&self, i: usize) -> Option<&Node> {
            self.reads.set(self.reads.get() + 1);
            self.nodes.as_slice().get(i)
        }
        fn get_mut(&mut self, i: usize) -> Option<&mut Node> {
            self.nodes.as_mut_slice().get_mut(i)
        }
        fn push(&mut self, node: Node) -> Result<(), NoMem> {
            self.nodes.push(node);
            Ok(())
        }
    }

    fn topics() -> Topics<Vec<Node>> {
        Topics::new(Vec::new())
    }

    /// Nodes in use: in the store but not on the free list.
    fn in_use<S: Store>(t: &Topics<S>) -> usize {
        t.store.len() - t.spare
    }

    /// Checks the structure of `t` and returns the prefixes it holds.
    ///
    /// Every store node is either in the trie or on the free list, once;
    /// siblings are sorted; every leaf ends a prefix; the counts agree.
    fn check<S: Store>(t: &Topics<S>) -> HashSet<Vec<u8>> {
        let mut seen = vec![false; t.store.len()];
        let mut mark = |id: u32| {
            let slot = &mut seen[id as usize];
            assert!(!*slot, "node {id} reached twice");
            *slot = true;
        };
        let mut subs = HashSet::new();
        if t.root.end {
            subs.insert(Vec::new());
        }
        let mut nodes = 0;
        let mut stack = vec![(t.root.child, Vec::new())];
        while let Some((head, path)) = stack.pop() {
            let mut id = head;
            let mut prev = None;
            while id != NIL {
                mark(id);
                nodes += 1;
                let n = *t.store.get(id as usize).unwrap();
                assert!(prev < Some(n.byte), "siblings out of order");
                prev = Some(n.byte);
                assert!(n.end || n.child != NIL, "leaf without a prefix");
                let mut p = path.clone();
                p.push(n.byte);
                if n.end {
                    subs.insert(p.clone());
                }
                stack.push((n.child, p));
                id = n.next;
            }
        }
        let mut free = 0;
        let mut id = t.free;
        while id != NIL {
            mark(id);
            free += 1;
            id = t.store.get(id as usize).unwrap().next;
        }
        assert_eq!(free, t.spare);
        assert_eq!(nodes + free, t.store.len());
        assert_eq!(subs.len(), t.len());
        assert_eq!(t.is_empty(), subs.is_empty());
        subs
    }

    /// The trie nodes that `set` needs: its distinct non-empty prefixes.
    fn needed(set: &HashSet<Vec<u8>>) -> usize {
        set.iter()
            .flat_map(|p| (1..=p.len()).map(|k| &p[..k]))
            .collect::<HashSet<_>>()
            .len()
    }

    /// The naive matcher.
    fn model_matches(set: &HashSet<Vec<u8>>, msg: &[u8]) -> bool {
        set.iter().any(|p| msg.starts_with(p))
    }

    /// What a cursor must say after `seen`, the first bytes of a message.
    fn model_step(set: &HashSet<Vec<u8>>, seen: &[u8]) -> Step {
        if model_matches(set, seen) {
            Step::Match
        } else if set.iter().any(|p| p.starts_with(seen)) {
            Step::More
        } else {
            Step::NoMatch
        }
    }

    /// Feeds `msg` to a cursor in chunks cut at `cuts` (taken modulo the
    /// length, so chunks can be empty), checking every step against the
    /// model, and returns the final answer.
    fn feed_chunked<S: Store>(
        t: &Topics<S>,
        set: &HashSet<Vec<u8>>,
        msg: &[u8],
        cuts: &[usize],
    ) -> bool {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (msg.len() + 1)).collect();
        cuts.push(msg.len());
        cuts.sort_unstable();
        let mut cursor = t.cursor();
        let mut from = 0;
        for to in cuts {
            let step = cursor.feed(t, &msg[from..to]);
            assert_eq!(step, model_step(set, &msg[..to]), "{msg:?} cut at {to}");
            from = to;
        }
        cursor.end()
    }

    #[test]
    fn node_is_12_bytes() {
        assert_eq!(core::mem::size_of::<Node>(), 12);
    }

    #[test]
    fn nothing_matches_without_subscriptions() {
        let t = topics();
        assert!(t.is_empty());
        assert!(!t.matches(b""));
        assert!(!t.matches(b"Hello"));
        let mut c = t.cursor();
        assert_eq!(c.feed(&t, b""), Step::NoMatch);
        assert!(!c.end());
    }

    #[test]
    fn empty_prefix_matches_everything() {
        let mut t = topics();
        assert_eq!(t.subscribe(b""), Ok(true));
        assert_eq!(t.len(), 1);
        assert!(t.matches(b""));
        assert!(t.matches(b"anything"));
        assert_eq!(t.cursor().feed(&t, b""), Step::Match);
        assert!(t.cursor().end());
        // It uses no node, and leaves others alone.
        assert_eq!(t.store.len(), 0);
        assert_eq!(t.subscribe(b"x"), Ok(true));
        assert_eq!(t.unsubscribe(b""), Ok(()));
        assert!(!t.matches(b"anything"));
        assert!(t.matches(b"xylophone"));
        assert_eq!(t.unsubscribe(b""), Err(TopicError::NotFound));
        check(&t);
    }

    #[test]
    fn nested_prefixes() {
        let mut t = topics();
        assert_eq!(t.subscribe(b"Hello"), Ok(true));
        assert_eq!(t.subscribe(b"H"), Ok(true));
        assert!(t.matches(b"Hello, world"));
        assert!(t.matches(b"Hi"));
        assert!(t.matches(b"H"));
        assert!(!t.matches(b"hello"));

        // Unsubscribing the short one keeps the long one.
        assert_eq!(t.unsubscribe(b"H"), Ok(()));
        assert!(!t.matches(b"Hi"));
        assert!(!t.matches(b"Hell"));
        assert!(t.matches(b"Hello"));
        assert_eq!(in_use(&t), 5);

        // And the other way round.
        assert_eq!(t.subscribe(b"H"), Ok(true));
        assert_eq!(t.unsubscribe(b"Hello"), Ok(()));
        assert!(t.matches(b"Hi"));
        assert!(t.matches(b"Hello"));
        assert_eq!(in_use(&t), 1);
        assert_eq!(check(&t), HashSet::from([b"H".to_vec()]));

        assert_eq!(t.unsubscribe(b"H"), Ok(()));
        assert_eq!(in_use(&t), 0);
        assert!(t.is_empty());
        assert!(!t.matches(b"Hello"));
    }

    #[test]
    fn shared_paths_are_kept() {
        let mut t = topics();
        for p in [&b"abc"[..], b"abd", b"ab", b"abcde", b"b"] {
            assert_eq!(t.subscribe(p), Ok(true));
        }
        // a, b, c, d, e on the longest path, d of "abd", b at the top.
        assert_eq!(in_use(&t), 7);
        assert_eq!(t.unsubscribe(b"abcde"), Ok(()));
        assert_eq!(in_use(&t), 5);
        assert_eq!(t.unsubscribe(b"abc"), Ok(()));
        assert_eq!(in_use(&t), 4);
        assert!(t.matches(b"abz") && t.matches(b"abd") && t.matches(b"bz"));
        assert!(!t.matches(b"a") && !t.matches(b"c"));
        assert_eq!(t.unsubscribe(b"ab"), Ok(()));
        assert!(!t.matches(b"abz") && t.matches(b"abd"));
        assert_eq!(in_use(&t), 4);
        assert_eq!(check(&t), HashSet::from([b"abd".to_vec(), b"b".to_vec()]));
    }

    #[test]
    fn duplicates_are_no_ops() {
        let mut t = topics();
        assert_eq!(t.subscribe(b"topic"), Ok(true));
        let nodes = t.store.len();
        assert_eq!(t.subscribe(b"topic"), Ok(false));
        assert_eq!(t.subscribe(b"topic"), Ok(false));
        assert_eq!(t.len(), 1);
        assert_eq!(t.store.len(), nodes);
        assert_eq!(t.unsubscribe(b"topic"), Ok(()));
        assert!(!t.matches(b"topic"));
        assert_eq!(t.unsubscribe(b"topic"), Err(TopicError::NotFound));
        assert!(t.is_empty());
    }

    #[test]
    fn unsubscribing_what_is_not_subscribed() {
        let mut t = topics();
        assert_eq!(t.unsubscribe(b"x"), Err(TopicError::NotFound));
        assert_eq!(t.unsubscribe(b""), Err(TopicError::NotFound));
        t.subscribe(b"Hello").unwrap();
        // A path in the trie, longer, diverging, and empty.
        for p in [&b"Hel"[..], b"Hello!", b"Help", b"", b"x"] {
            assert_eq!(t.unsubscribe(p), Err(TopicError::NotFound), "{p:?}");
        }
        assert_eq!(check(&t), HashSet::from([b"Hello".to_vec()]));
    }

    #[test]
    fn binary_bytes() {
        let mut t = topics();
        for p in [
            &[0xff][..],
            &[0x00],
            &[0x00, 0x00],
            &[0x80, 0xff, 0x00],
            &[0x7f],
        ] {
            assert_eq!(t.subscribe(p), Ok(true));
        }
        assert!(t.matches(&[0x00]));
        assert!(t.matches(&[0x00, 0xff]));
        assert!(t.matches(&[0xff, 0xff]));
        assert!(t.matches(&[0x80, 0xff, 0x00, 0x00]));
        assert!(!t.matches(&[0x80, 0xff]));
        assert!(!t.matches(&[0x01]));
        assert!(!t.matches(&[0xfe]));
        assert!(!t.matches(&[]));
        assert_eq!(t.unsubscribe(&[0x00]), Ok(()));
        assert!(!t.matches(&[0x00, 0x01]));
        assert!(t.matches(&[0x00, 0x00]));
        check(&t);
    }

    #[test]
    fn every_byte_value_at_one_level() {
        let mut t = topics();
        // In a scrambled order, so that inserts go first, last and between.
        let order: Vec<u8> = (0..=255u8)
            .map(|b| b.wrapping_mul(167).wrapping_add(13))
            .collect();
        for &b in &order {
            assert_eq!(t.subscribe(&[b, b]), Ok(true));
        }
        for b in 0..=255u8 {
            assert!(t.matches(&[b, b, 1]));
            assert!(!t.matches(&[b, b.wrapping_add(1)]));
        }
        check(&t);
        for &b in order.iter().rev() {
            assert_eq!(t.unsubscribe(&[b, b]), Ok(()));
        }
        assert_eq!(in_use(&t), 0);
        assert_eq!(t.store.len(), 512);
        check(&t);
    }

    #[test]
    fn prefix_longer_than_message_does_not_match() {
        let mut t = topics();
        t.subscribe(b"Hello").unwrap();
        assert!(!t.matches(b"Hell"));
        assert!(!t.matches(b""));
        assert!(t.matches(b"Hello"));
        let mut c = t.cursor();
        assert_eq!(c.feed(&t, b"Hell"), Step::More);
        assert!(!c.end());
    }

    #[test]
    fn prefix_length_limit() {
        let mut t = topics();
        let long = vec![b'a'; MAX_PREFIX];
        assert_eq!(t.subscribe(&long), Ok(true));
        assert!(t.matches(&[long.as_slice(), b"b"].concat()));
        assert!(!t.matches(&long[1..]));
        let longer = vec![b'a'; MAX_PREFIX + 1];
        assert_eq!(t.subscribe(&longer), Err(TopicError::TooLong));
        assert_eq!(t.unsubscribe(&longer), Err(TopicError::TooLong));
        assert_eq!(t.len(), 1);
        assert_eq!(t.unsubscribe(&long), Ok(()));
        assert_eq!(in_use(&t), 0);
        check(&t);
    }

    #[test]
    fn cursor_in_chunks() {
        let mut t = topics();
        t.subscribe(b"Hello").unwrap();
        t.subscribe(b"Help").unwrap();
        let mut c = t.cursor();
        assert_eq!(c.feed(&t, b""), Step::More);
        assert_eq!(c.feed(&t, b"He"), Step::More);
        assert_eq!(c.feed(&t, b"l"), Step::More);
        assert_eq!(c.feed(&t, b"lo, world"), Step::Match);
        // The answer sticks.
        assert_eq!(c.feed(&t, b"zzz"), Step::Match);
        assert!(c.end());

        let mut c = t.cursor();
        assert_eq!(c.feed(&t, b"Hex"), Step::NoMatch);
        assert_eq!(c.feed(&t, b"lo"), Step::NoMatch);
        assert!(!c.end());
    }

    #[test]
    fn cursor_stops_after_a_change() {
        let mut t = topics();
        t.subscribe(b"Hello").unwrap();
        t.subscribe(b"H").unwrap();
        let mut walking = t.cursor();
        let mut matched = t.cursor();
        assert_eq!(walking.feed(&t, b""), Step::More);
        assert_eq!(matched.feed(&t, b"Hx"), Step::Match);
        t.unsubscribe(b"H").unwrap();
        t.subscribe(b"Hi").unwrap();
        assert_eq!(walking.feed(&t, b"Hello"), Step::NoMatch);
        assert_eq!(matched.feed(&t, b""), Step::Match);
        assert!(t.matches(b"Hello") && t.matches(b"Hi"));
    }

    #[test]
    fn churn_reuses_nodes() {
        let mut t = topics();
        let name = |i: u32| format!("topic/{i:08}").into_bytes();
        for i in 0..20_000u32 {
            assert_eq!(t.subscribe(&name(i)), Ok(true));
            if i >= 10 {
                assert_eq!(t.unsubscribe(&name(i - 10)), Ok(()));
            }
            assert!(t.store.len() <= 11 * 14, "store grew to {}", t.store.len());
        }
        assert_eq!(t.len(), 10);
        assert!(t.matches(&name(19_995)));
        assert!(!t.matches(&name(19_989)));
        assert_eq!(in_use(&t), needed(&check(&t)));
    }

    #[test]
    fn provided_nodes_are_used_first() {
        let mut t = Topics::new(vec![Node::FREE; 5]);
        assert_eq!(t.spare, 5);
        check(&t);
        assert_eq!(t.subscribe(b"abcde"), Ok(true));
        assert_eq!(t.store.len(), 5);
        assert_eq!(t.subscribe(b"abx"), Ok(true));
        assert_eq!(t.store.len(), 6);
        check(&t);
    }

    #[test]
    fn no_mem_changes_nothing() {
        let mut t = Topics::new(Budget {
            nodes: Vec::new(),
            budget: 3,
        });
        assert_eq!(t.subscribe(b"Hello"), Err(TopicError::NoMem));
        assert!(t.is_empty());
        assert!(!t.matches(b"Hello"));
        assert!(!t.matches(b"Hel"));
        assert_eq!(check(&t), HashSet::new());
        // The nodes it got are kept for later.
        assert_eq!(t.subscribe(b"Hi"), Ok(true));
        assert_eq!(t.subscribe(b""), Ok(true));
        assert_eq!(t.subscribe(b"He"), Ok(true));
        assert_eq!(t.subscribe(b"Ho"), Err(TopicError::NoMem));
        assert_eq!(t.subscribe(b"Hi"), Ok(false));
        assert_eq!(
            check(&t),
            HashSet::from([b"Hi".to_vec(), b"".to_vec(), b"He".to_vec()])
        );
        // Freed nodes serve the next subscribe.
        assert_eq!(t.unsubscribe(b"He"), Ok(()));
        assert_eq!(t.subscribe(b"Ho"), Ok(true));
        assert_eq!(t.store.nodes.len(), 3);
        t.store.budget = 4;
        assert_eq!(t.subscribe(b"Hello"), Ok(true));
        assert!(t.matches(b"Hello") && t.matches(b"Ho") && t.matches(b"Hi"));
        assert_eq!(t.len(), 4);
        check(&t);
    }

    #[test]
    fn matching_cost_does_not_grow_with_subscriptions() {
        let mut t = Topics::new(Counting::default());
        for i in 0..10_000u32 {
            t.subscribe(format!("sensor/{i}/temp").as_bytes()).unwrap();
        }
        for msg in [&b"sensor/9999/temp 21.5"[..], b"sensor/1234/hum", b"other"] {
            t.store.reads.set(0);
            t.matches(msg);
            // At most one list of ten digits per byte, plus one node per
            // other byte.
            assert!(t.store.reads.get() <= 4 * 11 + 13, "{msg:?}");
        }
    }

    /// A random operation on the set.
    #[derive(Clone, Debug)]
    enum Op {
        /// Subscribe a prefix.
        Sub(Vec<u8>),
        /// Unsubscribe a prefix, perhaps not subscribed.
        Unsub(Vec<u8>),
        /// Unsubscribe the n-th live prefix (modulo their number).
        UnsubLive(usize),
        /// Check a message, fed in chunks cut at the given points.
        Check(Vec<u8>, Vec<usize>),
        /// Let the store grow by this many more nodes.
        Grant(usize),
    }

    /// Short byte strings over a small alphabet, so that they share
    /// prefixes, with some arbitrary bytes.
    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => prop::sample::select(vec![0x00u8, 0x01, b'H', b'e', 0xfe, 0xff]),
            1 => any::<u8>(),
        ];
        vec(byte, 0..max)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => bytes(6).prop_map(Op::Sub),
            1 => bytes(6).prop_map(Op::Unsub),
            2 => any::<usize>().prop_map(Op::UnsubLive),
            4 => (bytes(10), vec(any::<usize>(), 0..4)).prop_map(|(m, c)| Op::Check(m, c)),
            1 => (0usize..8).prop_map(Op::Grant),
        ]
    }

    /// Runs `ops` on `t` and on a model, checking everything after each.
    ///
    /// `grant` is how the test lets the store grow; with `None`, it always
    /// can.
    fn run<S: Store>(t: &mut Topics<S>, ops: Vec<Op>, grant: impl Fn(&mut S, usize)) {
        let mut model = HashSet::new();
        let mut most_needed = 0;
        for op in ops {
            match op {
                Op::Sub(p) => {
                    let mut with = model.clone();
                    with.insert(p.clone());
                    let need = needed(&with);
                    most_needed = most_needed.max(need);
                    let missing = need - needed(&model);
                    let spare = t.spare;
                    match t.subscribe(&p) {
                        Ok(new) => {
                            assert_eq!(new, model.insert(p));
                        }
                        Err(TopicError::NoMem) => {
                            // Only when the store really had to grow.
                            assert!(missing > spare, "{missing} > {spare}");
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                }
                Op::Unsub(p) => {
                    let expect = if model.remove(&p) {
                        Ok(())
                    } else {
                        Err(TopicError::NotFound)
                    };
                    assert_eq!(t.unsubscribe(&p), expect);
                }
                Op::UnsubLive(n) => {
                    let mut live: Vec<_> = model.iter().cloned().collect();
                    live.sort();
                    if let Some(p) = live.get(n % live.len().max(1)) {
                        assert_eq!(t.unsubscribe(p), Ok(()));
                        model.remove(p);
                    }
                }
                Op::Check(msg, cuts) => {
                    let want = model_matches(&model, &msg);
                    assert_eq!(t.matches(&msg), want, "{msg:?}");
                    assert_eq!(feed_chunked(t, &model, &msg, &cuts), want, "{msg:?}");
                }
                Op::Grant(n) => grant(&mut t.store, n),
            }
            assert_eq!(check(t), model);
            // Memory follows the live set, and the store never grows
            // beyond what some subscribe needed.
            let bytes: usize = model.iter().map(Vec::len).sum();
            assert_eq!(in_use(t), needed(&model));
            assert!(in_use(t) <= bytes + 1);
            assert!(
                t.store.len() <= most_needed,
                "{} > {most_needed}",
                t.store.len()
            );
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_model(ops in vec(op(), 0..80)) {
            run(&mut topics(), ops, |_, _| {});
        }

        #[test]
        fn memory_follows_live_subscriptions(
            ops in vec(prop_oneof![
                2 => bytes(12).prop_map(Op::Sub),
                2 => any::<usize>().prop_map(Op::UnsubLive),
            ], 0..300),
        ) {
            run(&mut topics(), ops, |_, _| {});
        }

        #[test]
        fn no_mem_leaves_the_model(budget in 0usize..12, ops in vec(op(), 0..80)) {
            let mut t = Topics::new(Budget { nodes: Vec::new(), budget });
            run(&mut t, ops, |s, n| s.budget += n);
        }

        #[test]
        fn cursor_agrees_on_any_set(
            subs in vec(bytes(5), 0..20),
            msgs in vec((bytes(8), vec(any::<usize>(), 0..6)), 1..20),
        ) {
            let mut t = topics();
            let mut model = HashSet::new();
            for p in subs {
                prop_assert_eq!(t.subscribe(&p), Ok(model.insert(p)));
            }
            for (msg, cuts) in msgs {
                let want = model_matches(&model, &msg);
                prop_assert_eq!(t.matches(&msg), want);
                prop_assert_eq!(feed_chunked(&t, &model, &msg, &cuts), want);
            }
        }
    }
}
