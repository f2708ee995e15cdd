//! `signet`: the build-side CLI. A thin shell: parse, run, print the error chain, exit non-zero.
// mimalloc: rendering allocates heavily (template values, YAML trees, large manifest strings), and
// glibc's malloc spent a fifth of a render there; musl's (the container image) is slower still.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::process::ExitCode;

fn main() {
    // anyhow captures a backtrace with every error when RUST_BACKTRACE is set, and this CLI
    // prints only the error chain. In the static binary (build.rs) the first unwind also sorts
    // every frame description of the program: about 7 ms added to each failing run. anyhow
    // reads RUST_LIB_BACKTRACE first; panics still follow RUST_BACKTRACE.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: the first statement of `main`, before any thread of this process exists.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let code = run();
    exit_now(code)
}

/// Ends the process without the C exit handlers. Everything of ours is dropped by now and the
/// output is flushed here; what the handlers would still do is mimalloc freeing every page it
/// holds, one by one, for a process about to vanish anyway (a twentieth of a small chart's run).
fn exit_now(code: ExitCode) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let status = if code == ExitCode::SUCCESS { 0 } else { 1 };
    // SAFETY: `_exit` takes no pointers and never returns; no thread of ours is mid-write (the
    // runtime and every worker thread ended with `run`).
    unsafe { libc::_exit(status) }
}

fn run() -> ExitCode {
    exit_quietly_on_a_closed_stdout();
    let cli = signet::cli::Cli::parse_command_line();
    let format = cli.output_format();
    let outcome = if cli.needs_runtime() {
        signet::tls::install_crypto_provider();
        match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(signet::cli::run(cli)),
            Err(err) => {
                eprintln!("Error: cannot start the async runtime: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        // Nothing in these commands awaits I/O: polling the future on this thread is all the
        // runtime they need, and it spares the start-up of tokio's worker threads.
        futures::executor::block_on(signet::cli::run(cli))
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let message = error_chain(&err);
            if format == signet::cli::output::OutputFormat::Json
                && let Some(doc) = signet::cli::output::failure(&err, &message)
            {
                println!("{doc}");
            }
            eprintln!("Error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `signet … | head`: when the reader goes away, `println!` panics with "failed printing to
/// stdout: Broken pipe" (and clap_complete's writer with a `BrokenPipe` error). Go tools (helm, cosign) die of SIGPIPE there, silently; do the same
/// quietly, with the status a shell reports for that (128 + SIGPIPE). SIGPIPE itself stays
/// ignored, as Rust sets it, so a credential helper that exits before reading its stdin is an
/// error we report rather than a signal that kills us.
fn exit_quietly_on_a_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") || message.contains("BrokenPipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
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
