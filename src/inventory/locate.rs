//! Where each key and value stands in the YAML text (line, column), for diagnostics.
//! Values are read by serde_yaml; this walks yaml-rust2's marked events only for positions.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
pub type Pos = (usize, usize);

/// Positions of the key and of the value at a path of mapping keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub key: Pos,
    pub value: Pos,
}

/// Path (mapping keys from the root) to positions.
#[derive(Debug, Default)]
pub struct Index {
    entries: HashMap<Vec<String>, Entry>,
}

impl Index {
    /// Index `text`; a text that does not parse gives an empty index.
    pub fn new(text: &str) -> Index {
        let mut b = Builder::default();
        let _ = Parser::new_from_str(text).load(&mut b, false);
        Index { entries: b.entries }
    }

    /// The entry at `path`.
    pub fn get(&self, path: &[&str]) -> Option<Entry> {
        let key: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.entries.get(&key).copied()
    }

    /// Position of the key at `path`, else of its nearest indexed parent, else 1:1.
    pub fn key(&self, path: &[&str]) -> Pos {
        self.find(path, |e| e.key)
    }

    /// Position of the value at `path`, else of its nearest indexed parent's key, else 1:1.
    pub fn value(&self, path: &[&str]) -> Pos {
        match self.get(path) {
            Some(e) => e.value,
            None => self.find(path, |e| e.key),
        }
    }

    fn find(&self, path: &[&str], pick: impl Fn(Entry) -> Pos) -> Pos {
        (0..=path.len())
            .rev()
            .find_map(|n| self.get(&path[..n]).map(&pick))
            .unwrap_or((1, 1))
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
}

fn pos(m: Marker) -> Pos {
    // yaml-rust2 counts lines from 1 and columns from 0.
    (m.line(), m.col() + 1)
}

impl Builder {
    /// A value starts at `mark`: record it under its key; return its path.
    fn value(&mut self, mark: Marker) -> Option<Vec<String>> {
        match self.stack.last_mut()? {
            Frame::Map { path, key } => {
                let (k, kmark) = key.take()?;
                let mut p = path.clone();
                p.push(k);
                self.entries.insert(
                    p.clone(),
                    Entry {
                        key: pos(kmark),
                        value: pos(mark),
                    },
                );
                Some(p)
            }
            Frame::Seq { path, index } => {
                let mut p = path.clone();
                p.push(index.to_string());
                *index += 1;
                self.entries.insert(
                    p.clone(),
                    Entry {
                        key: pos(mark),
                        value: pos(mark),
                    },
                );
                Some(p)
            }
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
                let path = if self.stack.is_empty() {
                    Some(Vec::new())
                } else {
                    self.value(mark)
                };
                self.stack.push(Frame::Map {
                    path: path.unwrap_or_default(),
                    key: None,
                });
            }
            Event::SequenceStart(..) => {
                let path = if self.stack.is_empty() {
                    Some(Vec::new())
                } else {
                    self.value(mark)
                };
                self.stack.push(Frame::Seq {
                    path: path.unwrap_or_default(),
                    index: 0,
                });
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
    }
}
