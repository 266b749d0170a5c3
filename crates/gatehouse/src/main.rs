//! The `gatehouse` command. All behaviour lives in the library; see `cli`.

fn main() -> std::process::ExitCode {
    gatehouse::cli::main()
}
