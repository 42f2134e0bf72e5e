//! Prints its whole environment, one `KEY=VALUE` per line, sorted.

fn main() {
    let mut vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    vars.sort();
    for var in vars {
        println!("{var}");
    }
}
