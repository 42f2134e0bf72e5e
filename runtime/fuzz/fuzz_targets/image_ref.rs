//! Image references (a component definition's `image`, `berth exec IMAGE`, `berth image pull`):
//! never a panic; a parsed registry reference prints as text that parses to the same reference.
#![no_main]

use berth_image::ImageRef;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(reference @ ImageRef::Registry(_)) = ImageRef::parse(text) {
        let printed = reference.to_string();
        let again = ImageRef::parse(&printed).expect("a printed reference parses");
        assert_eq!(again.to_string(), printed);
    }
});
