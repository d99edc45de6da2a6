//! What a witness parses from a board, and a client from a witness (section 15): the
//! add-checkpoint body, and cosignature lines checked against a checkpoint.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_core::cosignature::{verify_cosignatures, WitnessKey};
use zkvote_core::log::{origin_for, Checkpoint};
use zkvote_protocol::witness::AddCheckpoint;

fuzz_target!(|data: &[u8]| {
    let Some(text) = zkvote_fuzz::text(data) else {
        return;
    };
    if let Ok(request) = AddCheckpoint::parse(text) {
        assert_eq!(AddCheckpoint::parse(&request.encode()), Ok(request));
    }
    let checkpoint = Checkpoint {
        origin: origin_for(&zkvote_fuzz::ELECTION_ID),
        size: 5,
        root: [1; 32],
    };
    let witness = WitnessKey {
        name: "witness.example.org/zkvote".into(),
        key: zkvote_fuzz::board_key(),
    };
    let _ = verify_cosignatures(&checkpoint, text, &[witness]);
});
