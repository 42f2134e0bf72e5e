//! Burns CPU without ever calling the host: only an epoch deadline can stop it.
fn main() {
    let mut counter = 0u64;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}
