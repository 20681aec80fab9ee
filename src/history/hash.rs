//! Revision hashes in kube-controller-manager's alphabet (pure).
//!
//! Upstream hashes a Go-specific deep dump of the PodTemplateSpec (controller_utils.go ComputeHash),
//! which cannot be reproduced outside that exact Go build. It never needs to be: existing revisions
//! are recognised by their data bytes (update.go Match), and the hash of a revision is read from its
//! label. daemonroll therefore hashes the revision data bytes (the Go-encoded template patch) with the
//! same FNV-1a 32-bit function, collision-count suffix and encoding, so new hashes look and behave
//! like upstream's: same length range, same alphabet, same collision handling.

/// Upstream: apimachinery util/rand SafeEncodeString alphabet (no vowels, no 0/1/3 look-alikes).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

fn fnv1a_32(state: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(state, |hash, byte| (hash ^ u32::from(*byte)).wrapping_mul(FNV_PRIME))
}

/// Upstream: util/rand SafeEncodeString — each byte mapped through the alphabet by value modulo 27.
pub fn safe_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| char::from(ALPHANUMS[usize::from(byte) % ALPHANUMS.len()]))
        .collect()
}

/// The hash for a new revision of `patch` (the template patch bytes).
/// Upstream: controller_utils.go ComputeHash — the collision count, when set, is hashed as 8 bytes:
/// uint32 little-endian then four zero bytes; the 32-bit sum is printed in decimal and safe-encoded.
pub fn revision_hash(patch: &[u8], collision_count: Option<i32>) -> String {
    let mut hash = fnv1a_32(FNV_OFFSET, patch);
    if let Some(count) = collision_count {
        let mut suffix = [0u8; 8];
        suffix[..4].copy_from_slice(&(count as u32).to_le_bytes());
        hash = fnv1a_32(hash, &suffix);
    }
    safe_encode(&hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_map_to_the_upstream_alphabet() {
        // '0' is byte 48, 48 mod 27 = 21 → '4'; '9' is 57, 57 mod 27 = 3 → 'f'.
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // FNV-1a 32-bit reference values (Fowler/Noll/Vo test suite): "" and "a".
        assert_eq!(fnv1a_32(FNV_OFFSET, b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(FNV_OFFSET, b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(FNV_OFFSET, b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn collision_count_changes_the_hash() {
        let patch = br#"{"spec":{"template":{"$patch":"replace"}}}"#;
        let plain = revision_hash(patch, None);
        assert_ne!(plain, revision_hash(patch, Some(0)));
        assert_ne!(revision_hash(patch, Some(0)), revision_hash(patch, Some(1)));
        assert!(plain.chars().all(|c| "456789bcdf".contains(c)), "{plain}");
    }
}
