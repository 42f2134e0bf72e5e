//! Writes a line to stdout and to stderr, then exits with the code given as the first argument
//! or in `EXIT_CODE` (default 0).

fn main() {
    let code = docker_fixtures::arg_or_env("EXIT_CODE", 0);
    println!("exit_code: stdout line");
    eprintln!("exit_code: failing on purpose with code {code}");
    std::process::exit(code as i32);
}
