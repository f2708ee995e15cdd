//! `signet`: the build-side CLI. A thin shell: parse, run, print the error chain, exit non-zero.
// mimalloc: rendering allocates heavily (template values, YAML trees, large manifest strings), and
// glibc's malloc spent a fifth of a render there; musl's (the container image) is slower still.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    signet::tls::install_crypto_provider();
    let cli = signet::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("Error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(signet::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {}", error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, like anyhow's `{:#}`, but without repeating a cause that
/// an error's own message already quotes (our typed errors name their cause for the controller's
/// status messages, which print them without the chain).
fn error_chain(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
