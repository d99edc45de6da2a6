//! The canonical binary ballot (section 6.2): a decoded ballot re-encodes to its bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_core::Ballot;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = Ballot::decode(data, zkvote_fuzz::manifest()) {
        assert_eq!(b.encode(), data);
    }
});
