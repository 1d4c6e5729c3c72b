// SPDX-License-Identifier: GPL-2.0

//! The SUB subscription trie (`topic::Topics`) against a plain set of
//! prefixes: every subscribe, unsubscribe and match, whole or in chunks,
//! gives the answer the set gives, a subscribe fails for lack of memory
//! exactly when the free nodes and what the store can still grow are too
//! few, the store grows by exactly the nodes that were missing, and a cursor
//! that outlives a change of the set stops.

#![no_main]

#[allow(dead_code)]
#[path = "../../mod.rs"]
mod proto;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto::topic::{NoMem, Node, Step, Store, TopicError, Topics, MAX_PREFIX};
use std::cell::Cell;
use std::collections::BTreeSet;
use std::rc::Rc;

/// Bytes of a prefix or a message, short or about [`MAX_PREFIX`] long.
#[derive(Arbitrary, Debug)]
enum Bytes {
    Short(Vec<u8>),
    /// `head`, filled up with `fill` to `MAX_PREFIX - 4 + extra % 8` bytes.
    Long {
        head: Vec<u8>,
        fill: u8,
        extra: u8,
    },
}

impl Bytes {
    fn get(&self) -> Vec<u8> {
        match self {
            Bytes::Short(v) => v.clone(),
            Bytes::Long { head, fill, extra } => {
                let mut v = head.clone();
                v.resize(MAX_PREFIX - 4 + usize::from(extra % 8), *fill);
                v
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Subscribe(Bytes),
    Unsubscribe(Bytes),
    Match(Bytes),
    /// Match `msg` through a cursor, in chunks of the sizes in `cuts`.
    Chunked {
        msg: Bytes,
        cuts: Vec<u8>,
    },
    /// Feed `msg[..at]` to a cursor, change the set, feed the rest.
    Stale {
        msg: Bytes,
        at: u8,
        subscribe: bool,
        change: Bytes,
    },
    /// Let the store grow by this many more nodes.
    Grant(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    budget: u8,
    ops: Vec<Op>,
}

/// What the test knows of the store after it moved into the set.
#[derive(Debug, Default)]
struct Meter {
    len: Cell<usize>,
    /// How many more nodes `push` accepts.
    budget: Cell<usize>,
}

/// A store that can grow by a limited number of nodes, like a `KVec` under
/// memory pressure.
struct Budget {
    nodes: Vec<Node>,
    meter: Rc<Meter>,
}

impl Store for Budget {
    fn len(&self) -> usize {
        self.nodes.len()
    }
    fn get(&self, i: usize) -> Option<&Node> {
        self.nodes.get(i)
    }
    fn get_mut(&mut self, i: usize) -> Option<&mut Node> {
        self.nodes.get_mut(i)
    }
    fn push(&mut self, node: Node) -> Result<(), NoMem> {
        let budget = self.meter.budget.get().checked_sub(1).ok_or(NoMem)?;
        self.meter.budget.set(budget);
        self.nodes.push(node);
        self.meter.len.set(self.nodes.len());
        Ok(())
    }
}

fn lcp(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The plain set, and what a trie of it needs.
#[derive(Default)]
struct Model {
    set: BTreeSet<Vec<u8>>,
    /// The most nodes any one subscribe needed: those in use then plus the
    /// new ones.
    high: usize,
}

impl Model {
    /// Trie nodes in use: the distinct non-empty prefixes of the set.
    fn nodes(&self) -> usize {
        let mut prev: &[u8] = &[];
        let mut n = 0;
        for p in &self.set {
            n += p.len() - lcp(prev, p);
            prev = p;
        }
        n
    }

    /// Nodes that subscribing `p` adds.
    fn new_nodes(&self, p: &[u8]) -> usize {
        p.len() - self.set.iter().map(|q| lcp(p, q)).max().unwrap_or(0)
    }

    fn matches(&self, msg: &[u8]) -> bool {
        self.set.iter().any(|p| msg.starts_with(p))
    }

    fn step(&self, seen: &[u8]) -> Step {
        if self.matches(seen) {
            Step::Match
        } else if self.set.iter().any(|p| p.starts_with(seen)) {
            Step::More
        } else {
            Step::NoMatch
        }
    }
}

struct Run {
    t: Topics<Budget>,
    meter: Rc<Meter>,
    m: Model,
}

impl Run {
    fn check_counts(&self) {
        assert_eq!(self.t.len(), self.m.set.len());
        assert_eq!(self.t.is_empty(), self.m.set.is_empty());
        assert!(self.meter.len.get() >= self.m.nodes());
        assert!(
            self.meter.len.get() <= self.m.high,
            "the store outgrew its need"
        );
    }

    /// Subscribes `p`; returns whether the set changed.
    fn subscribe(&mut self, p: &[u8]) -> bool {
        let len = self.meter.len.get();
        let budget = self.meter.budget.get();
        let (expected, grown) = if p.len() > MAX_PREFIX {
            (Err(TopicError::TooLong), 0)
        } else if self.m.set.contains(p) {
            (Ok(false), 0)
        } else {
            let in_use = self.m.nodes();
            let need = self.m.new_nodes(p);
            let spare = len - in_use;
            self.m.high = self.m.high.max(in_use + need);
            let missing = need.saturating_sub(spare);
            if missing > budget {
                (Err(TopicError::NoMem), budget)
            } else {
                (Ok(true), missing)
            }
        };
        assert_eq!(self.t.subscribe(p), expected, "subscribe {p:02x?}");
        assert_eq!(self.meter.len.get(), len + grown);
        assert_eq!(self.meter.budget.get(), budget - grown);
        if expected == Ok(true) {
            self.m.set.insert(p.to_vec());
        }
        self.check_counts();
        expected == Ok(true)
    }

    /// Unsubscribes `p`; returns whether the set changed.
    fn unsubscribe(&mut self, p: &[u8]) -> bool {
        let len = self.meter.len.get();
        let expected = if p.len() > MAX_PREFIX {
            Err(TopicError::TooLong)
        } else if self.m.set.remove(p) {
            Ok(())
        } else {
            Err(TopicError::NotFound)
        };
        assert_eq!(self.t.unsubscribe(p), expected, "unsubscribe {p:02x?}");
        assert_eq!(self.meter.len.get(), len);
        self.check_counts();
        expected.is_ok()
    }

    fn chunked(&self, msg: &[u8], cuts: &[u8]) {
        let mut cursor = self.t.cursor();
        let mut pos = 0;
        for &cut in cuts.iter().chain(std::iter::once(&u8::MAX)).cycle() {
            let end = msg.len().min(pos + usize::from(cut));
            let step = cursor.feed(&self.t, &msg[pos..end]);
            assert_eq!(step, self.m.step(&msg[..end]), "{msg:02x?} up to {end}");
            pos = end;
            if pos == msg.len() {
                break;
            }
        }
        assert_eq!(cursor.end(), self.m.matches(msg));
    }

    fn stale(&mut self, msg: &[u8], at: usize, subscribe: bool, change: &[u8]) {
        let at = at.min(msg.len());
        let mut cursor = self.t.cursor();
        let before = cursor.feed(&self.t, &msg[..at]);
        assert_eq!(before, self.m.step(&msg[..at]));
        let changed = if subscribe {
            self.subscribe(change)
        } else {
            self.unsubscribe(change)
        };
        let after = cursor.feed(&self.t, &msg[at..]);
        let expected = match before {
            Step::More if changed => Step::NoMatch,
            Step::More => self.m.step(msg),
            known => known,
        };
        assert_eq!(after, expected);
        assert_eq!(cursor.end(), after == Step::Match);
    }
}

fuzz_target!(|input: Input| {
    let meter = Rc::new(Meter::default());
    meter.budget.set(usize::from(input.budget));
    let store = Budget {
        nodes: Vec::new(),
        meter: Rc::clone(&meter),
    };
    let mut run = Run {
        t: Topics::new(store),
        meter,
        m: Model::default(),
    };
    for op in &input.ops {
        match op {
            Op::Subscribe(p) => {
                run.subscribe(&p.get());
            }
            Op::Unsubscribe(p) => {
                run.unsubscribe(&p.get());
            }
            Op::Match(msg) => {
                let msg = msg.get();
                assert_eq!(run.t.matches(&msg), run.m.matches(&msg), "{msg:02x?}");
            }
            Op::Chunked { msg, cuts } => run.chunked(&msg.get(), cuts),
            Op::Stale {
                msg,
                at,
                subscribe,
                change,
            } => run.stale(&msg.get(), usize::from(*at), *subscribe, &change.get()),
            Op::Grant(n) => {
                let budget = run.meter.budget.get();
                run.meter.budget.set(budget + usize::from(*n));
            }
        }
    }
});
