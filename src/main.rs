//! The `patrol` binary: parse, run, print the error chain, return the exit code.

mod cli;

fn main() -> std::process::ExitCode {
    install_panic_hook();
    // A panic anywhere (a worker thread's propagates here) is an incomplete run: exit 2.
    let Ok(result) = std::panic::catch_unwind(cli::run) else {
        return cli::exit::ExitCode::Incomplete.into();
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            let msg = patrol::report::escape::for_terminal(&format!("{err:#}"));
            eprintln!("patrol: error: {msg}");
            cli::exit::ExitCode::Incomplete.into()
        }
    }
}

/// A panic prints where it happened, never its payload: a payload could hold bytes of the
/// scanned input, and so a secret.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "unknown location".to_string());
        eprintln!("patrol: internal error at {at} (message withheld: it may contain scanned data); please report it");
    }));
}
