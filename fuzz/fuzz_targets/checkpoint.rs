//! Signed checkpoint notes (section 11.3).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_core::log::{origin_for, Checkpoint, BOARD_KEY_NAME};

fuzz_target!(|data: &[u8]| {
    let Some(text) = zkvote_fuzz::text(data) else {
        return;
    };
    let origin = origin_for(&zkvote_fuzz::ELECTION_ID);
    let _ = Checkpoint::verify(text, &origin, BOARD_KEY_NAME, &zkvote_fuzz::board_key());
});
