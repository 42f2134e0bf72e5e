//! Writes a line to stdout and `MESSAGE` to stderr, then exits with `CODE` (default 0).
fn main() {
    println!("exit_with: about to exit");
    if let Ok(message) = std::env::var("MESSAGE") {
        eprint!("{message}");
    }
    let code = std::env::var("CODE")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    test_programs::exit(code);
}
