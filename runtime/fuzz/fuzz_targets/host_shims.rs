//! berth's own host functions, called by a guest with numbers of its choosing: `poll_oneoff`
//! with arbitrary pointers, counts and memory contents. Never a panic, a trap or a host
//! allocation sized by the guest; an error is EFAULT or EINVAL.
#![no_main]

use berth_exec::wasm::fuzzing::poll_oneoff;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (head, memory) = data.split_at(16);
    let word = |i: usize| u32::from_le_bytes(head[i * 4..i * 4 + 4].try_into().unwrap_or_default());
    let args = [word(0), word(1), word(2), word(3)];
    if let Some(errno) = poll_oneoff(memory, args) {
        assert!(matches!(errno, 0 | 21 | 28), "errno {errno}");
    }
});
