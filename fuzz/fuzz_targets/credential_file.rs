//! Voter credential files.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_circuits::credential::Credential;

fuzz_target!(|data: &[u8]| {
    if let Some(text) = zkvote_fuzz::text(data) {
        let _ = Credential::from_file_text(text);
    }
});
