//! Where each key and value stands in the YAML text (line, column), for diagnostics.
//!
//! Values are read by serde_yaml; this walks yaml-rust2's marked events only to learn positions.
//! A path is the list of mapping keys (and sequence indexes, as decimal text) from the root.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
pub(crate) type Pos = (usize, usize);

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

/// Path to positions, plus the keys written twice.
#[derive(Debug, Default)]
pub(crate) struct Index {
    entries: HashMap<Vec<String>, Entry>,
    duplicates: Vec<Duplicate>,
}

impl Index {
    /// Index `text`. A text yaml-rust2 cannot parse gives what was indexed before the problem.
    pub fn new(text: &str) -> Index {
        let mut b = Builder::default();
        // Errors are serde_yaml's to report; a partial index only loses precision.
        let _ = Parser::new_from_str(text).load(&mut b, false);
        Index {
            entries: b.entries,
            duplicates: b.duplicates,
        }
    }

    /// The entry at `path`.
    pub fn get<S: AsRef<str>>(&self, path: &[S]) -> Option<Entry> {
        let key: Vec<String> = path.iter().map(|s| s.as_ref().to_string()).collect();
        self.entries.get(&key).copied()
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

    /// The first key (in the text) written twice in one mapping.
    pub fn first_duplicate(&self) -> Option<&Duplicate> {
        self.duplicates.iter().min_by_key(|d| d.second)
    }

    /// The first key (in the text) named `name`, at any depth.
    pub fn first_key_named(&self, name: &str) -> Option<Pos> {
        self.entries
            .iter()
            .filter(|(p, _)| p.last().is_some_and(|k| k == name))
            .map(|(_, e)| e.key)
            .min()
    }
}

enum Frame {
    Map {
        path: Vec<String>,
        key: Option<(String, Marker)>,
    },
    Seq {
        path: Vec<String>,
        index: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    entries: HashMap<Vec<String>, Entry>,
    duplicates: Vec<Duplicate>,
}

fn pos(m: Marker) -> Pos {
    // yaml-rust2 counts lines from 1 and columns from 0.
    (m.line(), m.col() + 1)
}

impl Builder {
    /// A value starts at `mark`: record it under its key; return its path.
    fn value(&mut self, mark: Marker) -> Option<Vec<String>> {
        let (p, entry) = match self.stack.last_mut()? {
            Frame::Map { path, key } => {
                let (k, kmark) = key.take()?;
                let mut p = path.clone();
                p.push(k);
                let entry = Entry {
                    key: pos(kmark),
                    value: pos(mark),
                };
                (p, entry)
            }
            Frame::Seq { path, index } => {
                let mut p = path.clone();
                p.push(index.to_string());
                *index += 1;
                let entry = Entry {
                    key: pos(mark),
                    value: pos(mark),
                };
                (p, entry)
            }
        };
        if let Some(first) = self.entries.get(&p) {
            // serde_yaml refuses the document; remember where, and keep the first entry.
            self.duplicates.push(Duplicate {
                path: p.clone(),
                first: first.key,
                second: entry.key,
            });
        } else {
            self.entries.insert(p.clone(), entry);
        }
        Some(p)
    }

    fn start(&mut self, mark: Marker) -> Vec<String> {
        if self.stack.is_empty() {
            Vec::new()
        } else {
            self.value(mark).unwrap_or_default()
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, ..) => {
                if let Some(Frame::Map {
                    key: key @ None, ..
                }) = self.stack.last_mut()
                {
                    *key = Some((text, mark));
                } else {
                    self.value(mark);
                }
            }
            Event::Alias(_) => {
                self.value(mark);
            }
            Event::MappingStart(..) => {
                let path = self.start(mark);
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.start(mark);
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
