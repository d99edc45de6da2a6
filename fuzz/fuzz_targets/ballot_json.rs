//! The JSON ballot (section 6.5): what decodes survives a round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_core::Ballot;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = serde_json::from_slice::<Ballot>(data) {
        let again: Ballot = serde_json::from_slice(&serde_json::to_vec(&b).unwrap()).unwrap();
        assert_eq!(again, b);
        let _ = Ballot::decode(&b.encode(), zkvote_fuzz::manifest());
    }
});
