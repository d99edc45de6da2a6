//! The frozen roll as a board serves it to voters (section 12.3: 32-byte field encodings
//! concatenated), and one bucket of it (section 9.4.1: siblings, then leaves): a client
//! decodes either only into canonical field elements, within the bucket's bounds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::merkle::bucket::{BucketId, RollBucket};
use zkvote_protocol::voter::decode_roll;

fuzz_target!(|data: &[u8]| {
    if let Ok(roll) = decode_roll(data) {
        let again: Vec<u8> = roll.iter().flat_map(|c| fr_to_bytes(c)).collect();
        assert_eq!(again, data);
    }
    // The same bytes as the answer for bucket 1 of 2^8 leaves in a roll of depth 10.
    let id = BucketId::new(10, 8, 1).expect("a bucket of the roll");
    if let Ok(bucket) = RollBucket::decode(id, data) {
        assert_eq!(bucket.encode(), data);
        assert!(bucket.leaves().len() <= 256);
        let _ = bucket.root();
    }
});
