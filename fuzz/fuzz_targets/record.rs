//! Whole records through the streaming verifier: always a report (or an I/O error),
//! never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = zkvote_verifier::verify_reader(data, None);
});
