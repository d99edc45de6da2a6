//! Manifests in JSON (the API's and the record's form): what parses survives a round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_core::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<Manifest>(data) {
        let again: Manifest = serde_json::from_slice(&serde_json::to_vec(&m).unwrap()).unwrap();
        assert_eq!(again.hash(), m.hash());
    }
});
