//! Compact label maps: a few short strings kept in one sorted allocation (pure).
//!
//! Objects carry a handful of labels and every sync reads them for thousands of pods; a sorted
//! vector of inline strings keeps one object's labels in one cache-friendly block, where a
//! `BTreeMap<String, String>` scatters them over a dozen heap allocations.

use std::fmt;

use compact_str::CompactString;
use smallvec::SmallVec;

/// A name or label value; up to 24 bytes are stored inline.
pub type Name = CompactString;

/// Label (or annotation) map. Invariant: sorted by key, keys unique. Up to four entries live inline.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(SmallVec<[(Name, Name); 4]>);

impl Labels {
    pub fn new() -> Self {
        Labels(SmallVec::new())
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Lookups in small maps scan and compare lengths first: a length is stored inline even for
    /// long (heap) strings, so most mismatches never touch the heap.
    fn find(&self, key: &str) -> Option<usize> {
        if self.0.len() <= 8 {
            return self
                .0
                .iter()
                .position(|(k, _)| k.len() == key.len() && k.as_str() == key);
        }
        self.position(key).ok()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).map(|index| self.0[index].1.as_str())
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<Name>, value: impl Into<Name>) -> Option<Name> {
        let key = key.into();
        let value = value.into();
        match self.position(&key) {
            Ok(index) => Some(std::mem::replace(&mut self.0[index].1, value)),
            Err(index) => {
                self.0.insert(index, (key, value));
                None
            }
        }
    }

    /// Sets `key` only when it has no value yet.
    pub fn insert_if_absent(&mut self, key: impl Into<Name>, value: impl Into<Name>) {
        let key = key.into();
        if let Err(index) = self.position(&key) {
            self.0.insert(index, (key, value.into()));
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Name> {
        self.position(key).ok().map(|index| self.0.remove(index).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<Name>, V: Into<Name>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(items: I) -> Self {
        let mut labels = Labels::new();
        for (key, value) in items {
            labels.insert(key, value);
        }
        labels
    }
}

impl<K: Into<Name>, V: Into<Name>, const N: usize> From<[(K, V); N]> for Labels {
    fn from(items: [(K, V); N]) -> Self {
        items.into_iter().collect()
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_sorted_and_unique() {
        let mut labels = Labels::from([("zone", "a"), ("app", "x"), ("zone", "b")]);
        assert_eq!(labels.iter().collect::<Vec<_>>(), vec![("app", "x"), ("zone", "b")]);
        assert_eq!(labels.insert("m", "1"), None);
        assert_eq!(labels.insert("m", "2").as_deref(), Some("1"));
        assert_eq!(
            (labels.get("m"), labels.get("nope"), labels.len()),
            (Some("2"), None, 3)
        );
        assert_eq!(labels.remove("app").as_deref(), Some("x"));
        assert!(!labels.contains_key("app"));
    }
}
