//! `config.json` as the runner reads it (strict) and as a component reads it (lenient): never a
//! panic, and whatever the strict reader accepts survives a round trip through its own output.
#![no_main]

use berth_host_api::ConfigFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = ConfigFile::from_json_lenient(text);
    if let Ok(config) = ConfigFile::from_json_strict(text) {
        let again = config.to_json_pretty();
        ConfigFile::from_json_strict(&again).expect("the strict reader reads its own output");
    }
});
