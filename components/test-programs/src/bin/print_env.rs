//! Prints its whole environment as `KEY=VALUE` lines, sorted, and its argv as `argv: …`.
fn main() {
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    for (key, value) in vars {
        println!("{key}={value}");
    }
    println!("argv: {:?}", std::env::args().collect::<Vec<_>>());
}
