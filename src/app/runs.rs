//! A row of the timeline kept as runs of one cell: what changes seldom (a Patroni cluster holds
//! its leader key for days) costs a few bytes a day instead of one per second, so hundreds of
//! clusters fit in little memory.

use std::collections::VecDeque;

use super::timeline::Cell;

/// Runs of one cell: each starts at its Unix second and lasts until the next one starts, the
/// last until `end` (excluded). Before the first run and from `end` on: unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runs {
    starts: VecDeque<(u64, Cell)>,
    end: u64,
}

impl Runs {
    pub fn new() -> Runs {
        Runs::default()
    }

    /// The second after the last one set.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The cell of second `sec`.
    pub fn get(&self, sec: u64) -> Cell {
        if sec >= self.end {
            return Cell::Unknown;
        }
        match self.starts.partition_point(|(s, _)| *s <= sec) {
            0 => Cell::Unknown,
            i => self.starts[i - 1].1,
        }
    }

    /// The cell of the last second set.
    pub fn last(&self) -> Cell {
        self.starts.back().map_or(Cell::Unknown, |(_, c)| *c)
    }

    /// Set second `sec`. Going on from the end is cheap (the usual case); a second skipped is
    /// unknown. A second in the past splits its run.
    pub fn set(&mut self, sec: u64, c: Cell) {
        if self.starts.is_empty() {
            self.starts.push_back((sec, c));
            self.end = sec + 1;
            return;
        }
        if sec >= self.end {
            if sec > self.end && self.last() != Cell::Unknown {
                self.starts.push_back((self.end, Cell::Unknown));
            }
            if self.last() != c {
                self.starts.push_back((sec, c));
            }
            self.end = sec + 1;
            return;
        }
        if self.get(sec) == c {
            return;
        }
        let i = self.starts.partition_point(|(s, _)| *s <= sec);
        if i == 0 {
            // Before the first run: the rest of the time before it stays unknown.
            let first = self.starts[0].0;
            self.starts.push_front((sec, c));
            if sec + 1 < first {
                self.starts.insert(1, (sec + 1, Cell::Unknown));
            }
        } else {
            let (start, old) = self.starts[i - 1];
            let run_end = self.starts.get(i).map_or(self.end, |(s, _)| *s);
            let at = if start == sec {
                self.starts[i - 1].1 = c;
                i - 1
            } else {
                self.starts.insert(i, (sec, c));
                i
            };
            if sec + 1 < run_end {
                self.starts.insert(at + 1, (sec + 1, old));
            }
        }
        // Neighbours of one cell become one run.
        let mut merged: VecDeque<(u64, Cell)> = VecDeque::with_capacity(self.starts.len());
        for r in self.starts.drain(..) {
            if merged.back().is_none_or(|(_, c)| *c != r.1) {
                merged.push_back(r);
            }
        }
        self.starts = merged;
    }

    /// The worst cell of `[from, to)`.
    pub fn worst(&self, from: u64, to: u64) -> Cell {
        let to = to.min(self.end);
        if from >= to {
            return Cell::Unknown;
        }
        let i = self
            .starts
            .partition_point(|(s, _)| *s <= from)
            .saturating_sub(1);
        Cell::worst(
            self.starts
                .iter()
                .skip(i)
                .take_while(|(s, _)| *s < to)
                .map(|(_, c)| *c),
        )
    }

    /// The runs within `[from, until)`, clipped to it: (start, end, cell), unknown ones included
    /// where the row has them.
    pub fn spans(&self, from: u64, until: u64) -> Vec<(u64, u64, Cell)> {
        let until = until.min(self.end);
        let mut out = Vec::new();
        for (i, (start, c)) in self.starts.iter().enumerate() {
            let run_end = self.starts.get(i + 1).map_or(self.end, |(s, _)| *s);
            let (s, e) = ((*start).max(from), run_end.min(until));
            if s < e {
                out.push((s, e, *c));
            }
        }
        out
    }

    /// Forget what is before `keep_from`.
    pub fn prune(&mut self, keep_from: u64) {
        if self.end <= keep_from {
            self.starts.clear();
            return;
        }
        while self.starts.len() >= 2 && self.starts[1].0 <= keep_from {
            self.starts.pop_front();
        }
        if let Some(first) = self.starts.front_mut() {
            first.0 = first.0.max(keep_from);
        }
    }

    /// Some second is known.
    pub fn known(&self) -> bool {
        self.starts.iter().any(|(_, c)| *c != Cell::Unknown)
    }

    pub fn clear(&mut self) {
        self.starts.clear();
    }

    /// The memory held, in bytes.
    pub fn bytes(&self) -> usize {
        self.starts.capacity() * std::mem::size_of::<(u64, Cell)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Cell::{LeaderKey as L, NoLeaderKey as N, Unknown as U};

    fn letters(r: &Runs, from: u64, to: u64) -> String {
        (from..to).map(|s| r.get(s).letter()).collect()
    }

    #[test]
    fn seconds_set_in_order_cost_a_run_per_change() {
        let mut r = Runs::new();
        for s in 100..200 {
            r.set(s, if (150..155).contains(&s) { N } else { L });
        }
        assert_eq!(r.starts.len(), 3);
        assert_eq!(letters(&r, 148, 157), "LL!!!!!LL");
        assert_eq!(r.get(99), U);
        assert_eq!(r.get(200), U);
        // A skipped second is unknown.
        r.set(203, L);
        assert_eq!(letters(&r, 198, 204), "LL   L");
        assert_eq!(r.worst(140, 160), N);
        assert_eq!(r.worst(160, 200), L);
        assert_eq!(r.worst(300, 400), U);
        assert_eq!(
            r.spans(145, 152),
            [(145, 150, L), (150, 152, N)],
            "clipped to the window"
        );
    }

    #[test]
    fn a_second_in_the_past_splits_its_run_and_neighbours_merge() {
        let mut r = Runs::new();
        for s in 10..20 {
            r.set(s, L);
        }
        r.set(14, N);
        assert_eq!(letters(&r, 10, 20), "LLLL!LLLLL");
        r.set(14, L);
        assert_eq!(r.starts.len(), 1, "merged back: {:?}", r.starts);
        r.set(10, N);
        r.set(19, N);
        assert_eq!(letters(&r, 10, 20), "!LLLLLLLL!");
        r.set(5, L);
        assert_eq!(letters(&r, 4, 12), " L    !L");
        r.set(9, L);
        assert_eq!(letters(&r, 4, 12), " L   L!L");
    }

    #[test]
    fn pruning_keeps_the_window_only() {
        let mut r = Runs::new();
        for s in 0..100 {
            r.set(s, if s < 50 { N } else { L });
        }
        r.prune(60);
        assert_eq!(r.starts, [(60, L)]);
        assert_eq!(r.get(59), U);
        r.prune(100);
        assert!(!r.known());
    }
}
