//! Tries to reserve `ALLOC_MB` megabytes (default 1024); when refused it says so and exits 3 on
//! its own terms, without trapping.
fn main() {
    let mb: usize = std::env::var("ALLOC_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let mut block: Vec<u8> = Vec::new();
    match block.try_reserve_exact(mb * 1_000_000) {
        Ok(()) => {
            block.resize(mb * 1_000_000, 7);
            println!("reserved {} bytes", block.len());
        }
        Err(error) => {
            eprintln!("try_reserve failed: {error}");
            test_programs::exit(3);
        }
    }
}
