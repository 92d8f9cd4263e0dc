//! What the command-line tests share: running `peywand` as a field worker does, and reading
//! what it said.

use std::process::{Command, Output};

/// Runs `peywand` with these arguments, errors only in its log.
pub fn peywand(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args(args)
        .env("PEYWAND_LOG", "error")
        .output()
        .expect("peywand runs")
}

/// What a run printed, both streams.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
