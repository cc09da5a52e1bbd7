//! Writing results to stdout: a closed pipe (`patrol ... | head`) is a normal end, not an
//! error.

/// Passes `r` through, except that a broken pipe becomes `Ok`.
pub fn ignore_broken_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
