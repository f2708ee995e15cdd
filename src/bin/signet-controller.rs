//! `signet-controller`: the operator.
fn main() -> std::process::ExitCode {
    signet::tls::install_crypto_provider();
    std::process::ExitCode::SUCCESS
}
