//! `out/usage.json`: never a panic; accepted records survive a round trip unchanged.
#![no_main]

use berth_host_api::usage::{parse_usage, usage_to_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(records) = parse_usage(text) {
        let again = parse_usage(&usage_to_json(&records)).expect("round trip");
        assert_eq!(again, records);
    }
});
