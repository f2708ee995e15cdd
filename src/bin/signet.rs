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
    #[cfg(target_os = "linux")]
    address_space_teardown::hand_off();
    // SAFETY: `_exit` takes no pointers and never returns; no thread of ours is mid-write (the
    // runtime and every worker thread ended with `run`).
    unsafe { libc::_exit(status) }
}

/// The kernel frees a process's memory before it tells the parent the process has ended: for
/// `signet template` on a big chart that is half a millisecond, one twentieth of the run, spent
/// after the output is complete. As mold does, the freeing is left to another process: a child
/// that shares the address space holds it alive, so this process's exit frees nothing, and the
/// child ends (freeing it) once this process is gone. The child closes every descriptor it was
/// given first, so a reader of our stdout sees its end when we exit, not when the child does.
/// The child is an orphan once we exit, reaped by the system's init like any other; under an
/// init that reaps nothing (some containers' PID 1), `SIGNET_EXIT_HANDOFF=0` keeps every exit
/// ordinary. Best effort: without the child (no `clone`, no pipe) the exit is the ordinary one.
#[cfg(target_os = "linux")]
mod address_space_teardown {
    /// The child's stack: it makes a handful of system calls and nothing else.
    #[repr(C, align(16))]
    struct Stack([u8; 16 * 1024]);

    pub fn hand_off() {
        if std::env::var_os("SIGNET_EXIT_HANDOFF").is_some_and(|v| v == "0") {
            return;
        }
        let mut pipe = [0 as libc::c_int; 2];
        // SAFETY: `pipe2` writes two descriptors into the array it is given.
        if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return;
        }
        // Leaked: the child runs on it until the address space goes away with it.
        let stack: &'static mut Stack = Box::leak(Box::new(Stack([0; 16 * 1024])));
        let top = stack.0.as_mut_ptr_range().end.cast::<libc::c_void>();
        // SAFETY: the child gets a stack of its own, 16-byte aligned at its top; it shares our
        // memory but touches nothing of it beyond that stack (and `errno`, which nothing reads
        // any more), and makes only raw system calls (no locks, no allocation). Every thread of
        // ours has ended, and this thread does nothing after this but `_exit`. The write end of
        // the pipe stays open in this process until it exits; the child's read returns then.
        unsafe {
            libc::clone(
                wait_for_parent_then_exit,
                top,
                libc::CLONE_VM | libc::SIGCHLD,
                pipe[0] as isize as *mut libc::c_void,
            );
        }
    }

    /// The child: drop every descriptor but the pipe's read end, wait for that read to return
    /// (the parent has exited), exit. Raw system calls only (see `hand_off`).
    extern "C" fn wait_for_parent_then_exit(read_end: *mut libc::c_void) -> libc::c_int {
        let read_end = read_end as isize as libc::c_uint;
        // SAFETY: closing descriptors and reading one byte into a local.
        unsafe {
            let below = read_end == 0
                || libc::syscall(libc::SYS_close_range, 0u32, read_end - 1, 0u32) == 0;
            let above = libc::syscall(libc::SYS_close_range, read_end + 1, u32::MAX, 0u32) == 0;
            if !(below && above) {
                // Before Linux 5.9: one at a time, as far as a process may have them open.
                for fd in (0..4096).filter(|fd| *fd != read_end as libc::c_long) {
                    libc::syscall(libc::SYS_close, fd);
                }
            }
            // No handler the child could run interrupts this read (Rust's own are for faults),
            // so it returns only when the parent is gone.
            let mut byte = 0u8;
            libc::syscall(libc::SYS_read, read_end, &mut byte as *mut u8, 1usize);
            libc::syscall(libc::SYS_exit, 0);
        }
        0
    }
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
