//! Sets and maps of node names with a fast hash. A 5,000-node tick looks names up tens of
//! thousands of times, and SipHash (std's default, built to resist hash flooding by whoever
//! chooses the keys) was a tenth of its time; these names come from the cluster's API server.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a over the bytes, 64-bit.
#[derive(Default)]
pub struct Fnv(u64);

/// Inlined, as a hasher must be to be fast: the release build optimises for size and would
/// otherwise call `write` for every name and for the byte that ends it.
impl Hasher for Fnv {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    #[inline(always)]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type NameSet<'a> = HashSet<&'a str, BuildHasherDefault<Fnv>>;
pub type NameMap<'a, V> = HashMap<&'a str, V, BuildHasherDefault<Fnv>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_names_hash_apart_and_equal_ones_alike() {
        let hash = |name: &str| {
            let mut h = Fnv::default();
            h.write(name.as_bytes());
            h.finish()
        };
        assert_eq!(hash("worker-r042-07"), hash("worker-r042-07"));
        assert_ne!(hash("worker-r042-07"), hash("worker-r042-08"));
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325, "FNV-1a's offset basis");
        // The published FNV-1a 64-bit test vectors.
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
        let set: NameSet = ["a", "b", "a"].into_iter().collect();
        assert_eq!(set.len(), 2);
    }
}
