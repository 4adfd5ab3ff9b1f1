//! Standard output. `print!` panics when stdout is closed
//! (`wandb-operator crd | head`); here a closed stdout ends the command
//! quietly, as Unix tools do.

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

/// Writes `text` to stdout and flushes it.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// The exit code of a command whose output was `written`: a reader that
/// went away is no failure.
pub fn exit_code(written: std::io::Result<()>) -> ExitCode {
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: writing the output: {e}");
            ExitCode::FAILURE
        }
    }
}
