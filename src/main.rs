//! The `pulse` command: parse arguments, run, and turn the outcome into an exit code.

fn main() -> std::process::ExitCode {
    pulse::cli::main()
}
