//! Where each key and value stands in the YAML text (line, column), for diagnostics.
//!
//! Values are read by serde_yaml; this walks yaml-rust2's marked events only to learn positions.
//! A path is the list of mapping keys (and sequence indexes, as decimal text) from the root.
//!
//! Time and memory are linear in the text: every node is stored once, as its key under its
//! parent's number (never as a copy of its whole path), and the walk stops at
//! [`MAX_DEPTH`] levels of nesting, where serde_yaml stops too.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
pub(crate) type Pos = (usize, usize);

/// Nesting deeper than this is refused (serde_yaml's own recursion limit is 128).
pub(crate) const MAX_DEPTH: usize = 128;

/// Positions of the key and of the value at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: Pos,
    pub value: Pos,
}

/// A key written twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    pub path: Vec<String>,
    pub first: Pos,
    pub second: Pos,
}

/// The root node's number.
const ROOT: u32 = 0;

/// Path to positions, plus the keys written twice.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// (parent node, key) to the node's number: each key is stored here only.
    children: HashMap<(u32, Box<str>), u32>,
    /// By node number (the root first): its parent and where it stands (key line and column,
    /// value line and column).
    nodes: Vec<(u32, [u32; 4])>,
    /// (parent node, key, first, second) of keys written twice.
    duplicates: Vec<(u32, String, Pos, Pos)>,
    /// Where nesting first went deeper than [`MAX_DEPTH`].
    too_deep: Option<Pos>,
    /// The first alias.
    first_alias: Option<Pos>,
    /// Plain scalars that YAML 1.1 (Ansible) and YAML 1.2 (serde_yaml) read differently, by node
    /// number: `010`, `0o7`, `0b11`, `1_000`, `1:20` (few in any real inventory).
    ambiguous: HashMap<u32, Box<str>>,
}

impl Index {
    /// Index `text`. A text yaml-rust2 cannot parse gives what was indexed before the problem.
    pub fn new(text: &str) -> Index {
        let mut b = Builder {
            index: Index {
                nodes: vec![(ROOT, [1; 4])],
                ..Index::default()
            },
            stack: Vec::new(),
        };
        if let Some(at) = flow_too_deep(text) {
            // yaml-rust2's scanner looks ahead over every open flow collection at each token:
            // refuse deep flow nesting before it starts.
            b.index.too_deep = Some(at);
            return b.index;
        }
        let mut parser = Parser::new_from_str(text);
        // Errors are serde_yaml's to report; a partial index only loses precision. The events
        // are pulled one by one (yaml-rust2's `load` recurses once per level).
        while let Ok((ev, mark)) = parser.next_token() {
            if matches!(ev, Event::StreamEnd | Event::DocumentEnd) {
                break;
            }
            b.on_event(ev, mark);
            if b.stack.len() > MAX_DEPTH {
                b.index.too_deep = Some(pos(mark));
                break;
            }
        }
        b.index
    }

    fn node<S: AsRef<str>>(&self, path: &[S]) -> Option<u32> {
        let mut at = ROOT;
        for k in path {
            // The lookup key is owned: a path is a handful of short keys.
            at = *self.children.get(&(at, Box::from(k.as_ref())))?;
        }
        Some(at)
    }

    /// The entry at `path`.
    pub fn get<S: AsRef<str>>(&self, path: &[S]) -> Option<Entry> {
        if path.is_empty() {
            return None;
        }
        self.node(path).map(|n| unpack(self.nodes[n as usize].1))
    }

    /// Position of the key at `path`, else of its nearest indexed parent's key, else 1:1.
    pub fn key<S: AsRef<str>>(&self, path: &[S]) -> Pos {
        (0..=path.len())
            .rev()
            .find_map(|n| self.get(&path[..n]).map(|e| e.key))
            .unwrap_or((1, 1))
    }

    /// Position of the value at `path`, else as [`Index::key`].
    pub fn value<S: AsRef<str>>(&self, path: &[S]) -> Pos {
        match self.get(path) {
            Some(e) => e.value,
            None => self.key(path),
        }
    }

    /// The path of node `n` (a walk over every key per level: for an error message only).
    fn path_of(&self, mut n: u32) -> Vec<String> {
        let mut path = Vec::new();
        while n != ROOT {
            let Some(((parent, key), _)) = self.children.iter().find(|(_, &c)| c == n) else {
                break;
            };
            path.push(key.to_string());
            n = *parent;
        }
        path.reverse();
        path
    }

    /// The text of the plain scalar at `path` when YAML 1.1 and 1.2 read it differently.
    pub fn ambiguous<S: AsRef<str>>(&self, path: &[S]) -> Option<&str> {
        self.ambiguous.get(&self.node(path)?).map(|t| &**t)
    }

    /// The first key (in the text) written twice in one mapping.
    pub fn first_duplicate(&self) -> Option<Duplicate> {
        let (parent, key, first, second) = self.duplicates.iter().min_by_key(|d| d.3)?;
        let mut path = self.path_of(*parent);
        path.push(key.clone());
        Some(Duplicate {
            path,
            first: *first,
            second: *second,
        })
    }

    /// The first key (in the text) named `name`, at any depth.
    pub fn first_key_named(&self, name: &str) -> Option<Pos> {
        self.children
            .iter()
            .filter(|((_, k), _)| &**k == name)
            .map(|(_, &n)| unpack(self.nodes[n as usize].1).key)
            .min()
    }

    /// The first alias (`*name`) in the text.
    pub fn first_alias(&self) -> Option<Pos> {
        self.first_alias
    }

    /// Where nesting first went deeper than [`MAX_DEPTH`] levels, if it did.
    pub fn too_deep(&self) -> Option<Pos> {
        self.too_deep
    }
}

/// Where flow collections (`[`, `{`) first nest deeper than [`MAX_DEPTH`], in one linear pass
/// that skips quoted text and comments. A bracket counts as opening a collection only where one
/// can start (after a line start, `:`, `-`, `?`, `,` or another opening bracket, spaces aside), so
/// brackets inside plain text (`a[1]`) do not count.
pub(crate) fn flow_too_deep(text: &str) -> Option<Pos> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    // The last character that was not a space, on this line; '\n' at a line start.
    let mut prev = '\n';
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut comment = false;
    // The character before this one was a space, a tab or the line start.
    let mut after_space = true;
    for c in text.chars() {
        column += 1;
        let spaced = std::mem::replace(&mut after_space, c == ' ' || c == '\t');
        if c == '\n' {
            (line, column, prev, comment, escaped) = (line + 1, 0, '\n', false, false);
            after_space = true;
            continue;
        }
        if comment {
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == '"' && c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
                prev = c;
            }
            continue;
        }
        match c {
            ' ' | '\t' => continue,
            '#' if spaced => comment = true,
            '"' | '\'' if matches!(prev, '\n' | ':' | '-' | '?' | ',' | '[' | '{') => {
                quote = Some(c)
            }
            '[' | '{' if matches!(prev, '\n' | ':' | '-' | '?' | ',' | '[' | '{') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some((line, column));
                }
            }
            // In plain text: neither this bracket nor one right after it opens anything.
            '[' | '{' => {
                prev = 'a';
                continue;
            }
            ']' | '}' if depth > 0 => depth -= 1,
            _ => {}
        }
        prev = c;
    }
    None
}

enum Frame {
    Map {
        node: u32,
        key: Option<(String, Marker)>,
    },
    Seq {
        node: u32,
        index: usize,
    },
}

struct Builder {
    index: Index,
    stack: Vec<Frame>,
}

fn pack(e: Entry) -> [u32; 4] {
    let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    [n(e.key.0), n(e.key.1), n(e.value.0), n(e.value.1)]
}

fn unpack(p: [u32; 4]) -> Entry {
    Entry {
        key: (p[0] as usize, p[1] as usize),
        value: (p[2] as usize, p[3] as usize),
    }
}

fn pos(m: Marker) -> Pos {
    // yaml-rust2 counts lines from 1 and columns from 0.
    (m.line(), m.col() + 1)
}

impl Builder {
    /// A value starts at `mark`: record it under its key; return its node.
    fn value(&mut self, mark: Marker) -> Option<u32> {
        let (parent, key, entry) = match self.stack.last_mut()? {
            Frame::Map { node, key } => {
                let (k, kmark) = key.take()?;
                let entry = Entry {
                    key: pos(kmark),
                    value: pos(mark),
                };
                (*node, k, entry)
            }
            Frame::Seq { node, index } => {
                let k = index.to_string();
                *index += 1;
                let entry = Entry {
                    key: pos(mark),
                    value: pos(mark),
                };
                (*node, k, entry)
            }
        };
        let ix = &mut self.index;
        let n = ix.nodes.len() as u32;
        ix.nodes.push((parent, pack(entry)));
        let key: Box<str> = key.into();
        if let Some(&first) = ix.children.get(&(parent, key.clone())) {
            // serde_yaml refuses the document; remember where, and keep the first entry. What
            // follows is indexed under the new node, unreachable by path.
            let first_key = unpack(ix.nodes[first as usize].1).key;
            ix.duplicates
                .push((parent, key.into(), first_key, entry.key));
        } else {
            ix.children.insert((parent, key), n);
        }
        Some(n)
    }

    fn start(&mut self, mark: Marker) -> u32 {
        if self.stack.is_empty() {
            ROOT
        } else {
            self.value(mark).unwrap_or_else(|| {
                // A collection used as a key: indexed under a node of its own, unreachable by
                // path.
                let ix = &mut self.index;
                let entry = Entry {
                    key: pos(mark),
                    value: pos(mark),
                };
                ix.nodes.push((ROOT, pack(entry)));
                ix.nodes.len() as u32 - 1
            })
        }
    }

    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, ..) => {
                if let Some(Frame::Map {
                    key: key @ None, ..
                }) = self.stack.last_mut()
                {
                    *key = Some((text, mark));
                } else if let Some(n) = self.value(mark) {
                    if style == yaml_rust2::scanner::TScalarStyle::Plain && yaml11_differs(&text) {
                        self.index.ambiguous.insert(n, text.into());
                    }
                }
            }
            Event::Alias(_) => {
                self.index.first_alias.get_or_insert(pos(mark));
                self.value(mark);
            }
            Event::MappingStart(..) => {
                let node = self.start(mark);
                self.stack.push(Frame::Map { node, key: None });
            }
            Event::SequenceStart(..) => {
                let node = self.start(mark);
                self.stack.push(Frame::Seq { node, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

/// A plain scalar that YAML 1.1 (what Ansible reads) takes for a number other than YAML 1.2
/// (what etcdeck reads) does, or for a number where 1.2 sees text: a leading zero (1.1 octal),
/// `0o` (1.2 octal, 1.1 text), `0b` or `_` (1.1 numbers), `a:b` of digits (1.1 base 60).
fn yaml11_differs(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    (t.len() > 1 && t.starts_with('0') && digits(t))
        || t.strip_prefix("0o")
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        || t.strip_prefix("0b").is_some_and(|r| {
            !r.is_empty() && r.bytes().all(|b| b == b'0' || b == b'1' || b == b'_')
        })
        || (t.contains('_') && digits(t) && t.bytes().any(|b| b.is_ascii_digit()))
        || (t.contains(':') && t.split(':').all(digits) && !t.starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_yaml_1_1_reads_otherwise_are_found() {
        for t in ["010", "0o7", "0b11", "1_000", "1:20", "-010", "+0o7"] {
            assert!(yaml11_differs(t), "{t}");
        }
        for t in [
            "0",
            "10",
            "2379",
            "-1",
            "0x1F",
            "1.5",
            "etcd",
            "10.10.10.10",
            "12:ab",
            "0o",
            "_",
        ] {
            assert!(!yaml11_differs(t), "{t}");
        }
        let ix = Index::new("etcd:\n  hosts:\n    10.1.1.1: { etcd_seq: 0o7, etcd_port: '010' }\n");
        assert_eq!(
            ix.ambiguous(&["etcd", "hosts", "10.1.1.1", "etcd_seq"]),
            Some("0o7")
        );
        assert_eq!(
            ix.ambiguous(&["etcd", "hosts", "10.1.1.1", "etcd_port"]),
            None,
            "quoted is text"
        );
    }

    #[test]
    fn block_and_flow_positions_are_exact() {
        let text = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11:\n      etcd_seq: 2\n  vars: { etcd_cluster: etcd }\n";
        let ix = Index::new(text);
        assert_eq!(ix.key(&["etcd", "hosts", "10.10.10.10"]), (3, 5));
        assert_eq!(
            ix.value(&["etcd", "hosts", "10.10.10.10", "etcd_seq"]),
            (3, 30)
        );
        assert_eq!(
            ix.key(&["etcd", "hosts", "10.10.10.11", "etcd_seq"]),
            (5, 7)
        );
        assert_eq!(
            ix.value(&["etcd", "hosts", "10.10.10.11", "etcd_seq"]),
            (5, 17)
        );
        assert_eq!(ix.value(&["etcd", "vars", "etcd_cluster"]), (6, 25));
        // A missing key falls back to its parent's key.
        assert_eq!(
            ix.value(&["etcd", "hosts", "10.10.10.10", "etcd_port"]),
            (3, 5)
        );
        assert_eq!(ix.key(&["nothing", "here"]), (1, 1));
    }

    #[test]
    fn one_line_flow_and_sequences_and_quoted_keys() {
        let text = "etcd: { hosts: { \"10.10.10.10\": { etcd_seq: 1 } }, vars: { etcd_port: 2379 } }\nlist: [a, { etcd_x: 1 }]\n";
        let ix = Index::new(text);
        assert_eq!(ix.key(&["etcd", "hosts", "10.10.10.10"]), (1, 18));
        assert_eq!(
            ix.value(&["etcd", "hosts", "10.10.10.10", "etcd_seq"]),
            (1, 45)
        );
        assert_eq!(ix.value(&["etcd", "vars", "etcd_port"]), (1, 71));
        assert_eq!(ix.key(&["list", "1", "etcd_x"]), (2, 13));
    }

    #[test]
    fn a_key_written_twice_is_remembered_with_both_positions() {
        let text =
            "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.10: { etcd_seq: 2 }\n";
        let ix = Index::new(text);
        let d = ix.first_duplicate().expect("duplicate found");
        assert_eq!(d.path, ["etcd", "hosts", "10.10.10.10"]);
        assert_eq!((d.first, d.second), ((3, 5), (4, 5)));
        // The first entry is kept.
        assert_eq!(
            ix.value(&["etcd", "hosts", "10.10.10.10", "etcd_seq"]),
            (3, 30)
        );
        assert_eq!(ix.first_key_named("etcd_seq"), Some((3, 20)));
    }
}
