//! The binary complete ballot (section 9.7): a decoded one re-encodes to its bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_circuits::complete::CompleteBallot;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = CompleteBallot::decode(data, zkvote_fuzz::manifest()) {
        assert_eq!(b.encode(), data);
    }
});
