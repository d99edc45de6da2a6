//! Voter receipt files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(text) = zkvote_fuzz::text(data) {
        let _ = zkvote_protocol::voter::ReceiptFile::parse(text);
    }
});
