//! Every manifest reader (output table and file manifests strictly, input manifests leniently):
//! never a panic; an accepted manifest survives a round trip through its own output.
#![no_main]

use berth_host_api::{
    InputFileManifest, InputTableManifest, OutputFileManifest, OutputTableManifest,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = "out/tables/fuzz.csv.manifest";
    if let Ok(m) = OutputTableManifest::from_json(file, text) {
        OutputTableManifest::from_json(file, &m.to_json_pretty()).expect("round trip");
    }
    if let Ok(m) = OutputFileManifest::from_json(file, text) {
        OutputFileManifest::from_json(file, &m.to_json_pretty()).expect("round trip");
    }
    if let Ok(m) = InputTableManifest::from_json(file, text) {
        InputTableManifest::from_json(file, &m.to_json_pretty()).expect("round trip");
    }
    if let Ok(m) = InputFileManifest::from_json(file, text) {
        InputFileManifest::from_json(file, &m.to_json_pretty()).expect("round trip");
    }
});
