//! `signet`: the build-side CLI. A thin shell: parse, run, print the error chain, exit non-zero.
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
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
