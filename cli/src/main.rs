//! Entry point of the `burstflare` binary: parse the command line, run it on a single-threaded
//! runtime, and on failure print `error: <message> (<code>)` to stderr and exit with status 1.
#![forbid(unsafe_code)]

use burstflare_cli::args::Cli;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `--help` and `--version` come here too, and are not failures.
            return if e.use_stderr() { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e} (internal)");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(burstflare_cli::run(cli));
    // A read of stdin (the terminal's, `ssh-proxy`'s) runs on a blocking thread and cannot be
    // cancelled: a runtime dropped normally would wait for it, so a stream the session ended
    // would keep the process (and the `ssh` it serves) alive until its input sent another byte.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
