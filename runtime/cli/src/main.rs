//! The `berth` binary: everything is in [`berth_cli::main`].

fn main() -> std::process::ExitCode {
    berth_cli::main()
}
