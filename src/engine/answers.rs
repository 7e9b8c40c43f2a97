//! [`Answers`]: the first answer given under each caller-chosen request id, kept in memory so
//! that an identical retry (a broker's timeout) is answered as the first request was, receipt
//! included. Bounded: the oldest answers are dropped first (a retry of one no longer held is a
//! conflict, never a second count); not kept across restarts. Answers hold no raw user id
//! beyond what the caller sent and received.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::privacy::Pseudonym;

/// Answers `tessera serve` keeps: about 1–2 KB each, so some 100 MB at most; at 30,000 scores per
/// second a retry is answered for a few seconds, far longer at ordinary rates.
pub const DEFAULT_ANSWERS: usize = 65_536;

/// The answers by request pseudonym, and the pseudonyms oldest first.
type Held = (HashMap<[u8; 16], String>, VecDeque<[u8; 16]>);

/// First answers by request pseudonym, oldest dropped first.
pub(crate) struct Answers {
    capacity: usize,
    inner: Mutex<Held>,
}

impl Answers {
    pub(crate) fn new(capacity: usize) -> Answers {
        Answers {
            capacity,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// Whether answers are kept at all.
    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Keeps the first answer to `request`.
    pub(crate) fn keep(&self, request: Pseudonym, json: &str) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *guard;
        if map.insert(request.0, json.to_string()).is_none() {
            order.push_back(request.0);
        }
        while order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// The first answer to `request`, if still held.
    pub(crate) fn get(&self, request: &Pseudonym) -> Option<String> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.get(&request.0).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_answers_go_first() {
        let a = Answers::new(2);
        for i in 1..=3u8 {
            a.keep(Pseudonym([i; 16]), &format!("answer {i}"));
        }
        assert_eq!(a.get(&Pseudonym([1; 16])), None);
        assert_eq!(a.get(&Pseudonym([2; 16])).as_deref(), Some("answer 2"));
        assert_eq!(a.get(&Pseudonym([3; 16])).as_deref(), Some("answer 3"));
    }
}
