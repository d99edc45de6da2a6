//! The frozen roll as a board serves it to voters (section 12.3: 32-byte field encodings
//! concatenated): a client decodes it only into canonical field elements.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_circuits::field::fr_to_bytes;
use zkvote_protocol::voter::decode_roll;

fuzz_target!(|data: &[u8]| {
    if let Ok(roll) = decode_roll(data) {
        let again: Vec<u8> = roll.iter().flat_map(|c| fr_to_bytes(c)).collect();
        assert_eq!(again, data);
    }
});
