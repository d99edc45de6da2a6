//! Receipts as the board returns them (JSON), checked offline.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_core::log::Receipt;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = serde_json::from_slice::<Receipt>(data) {
        let _ = r.verify(&zkvote_fuzz::ELECTION_ID, &zkvote_fuzz::board_key());
    }
});
