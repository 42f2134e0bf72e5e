//! Waits inside a host call (poll_oneoff) for an hour: epochs cannot interrupt it.
fn main() {
    std::thread::sleep(std::time::Duration::from_secs(3600));
    println!("woke up");
}
