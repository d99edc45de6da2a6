//! Log entries (section 12.1): only the canonical encoding decodes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_protocol::Entry;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = Entry::decode(data) {
        assert_eq!(e.to_bytes(), data);
        let _ = e.unique_key();
    }
});
