//! The `patrol` binary: parse, run, print the error chain, return the exit code.

mod cli;

fn main() -> std::process::ExitCode {
    match cli::run() {
        Ok(code) => code.into(),
        Err(err) => {
            let msg = patrol::report::escape::for_terminal(&format!("{err:#}"));
            eprintln!("patrol: error: {msg}");
            cli::exit::ExitCode::Incomplete.into()
        }
    }
}
