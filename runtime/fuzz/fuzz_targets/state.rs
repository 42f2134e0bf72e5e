//! `out/state.json` as a component leaves it and the stored state as berth keeps it: never a
//! panic; an accepted stored state survives a round trip.
#![no_main]

use berth_host_api::StoredState;
use berth_host_api::state::read_out_state;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_out_state(Some(data));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(state) = StoredState::from_json(text) {
        let again = serde_json::to_string(&state).expect("a stored state serialises");
        StoredState::from_json(&again).expect("round trip");
    }
});
