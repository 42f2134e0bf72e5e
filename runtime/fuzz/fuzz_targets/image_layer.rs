//! A registry's layer unpacked to find the module (`wasi/wasm` container images): tar or
//! tar+gzip bytes of the registry's choosing never panic, and nothing is kept beyond the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if std::fs::write(file.path(), data).is_err() {
        return;
    }
    let limits = berth_image::unpack::UnpackLimits::default();
    let _ = berth_image::unpack::module_from_tar(file.path(), None, &limits);
    let _ = berth_image::unpack::module_from_tar(file.path(), Some("/app.wasm"), &limits);
});
