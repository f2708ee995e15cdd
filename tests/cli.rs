//! The `signet` binary as a shell user meets it: program version, completion scripts, and a
//! closed stdout (`signet … | head`) ending the process quietly, as helm and cosign do.

use std::process::{Command, Stdio};

fn signet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_signet"))
}

#[test]
fn version_subcommand_and_top_level_flag_print_the_program_version() {
    let expected = format!("signet {}", env!("CARGO_PKG_VERSION"));
    for args in [&["version"][..], &["--version"], &["-V"]] {
        let out = signet().args(args).output().expect("run signet");
        assert!(out.status.success(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            expected,
            "{args:?}"
        );
    }
    // On a command that has no chart version, --version is an error, never "print and exit 0".
    let out = signet()
        .args([
            "push",
            "chart.tgz",
            "oci://127.0.0.1:1/charts",
            "--version",
            "1.0.0",
        ])
        .output()
        .expect("run signet");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--version"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&expected));
}

#[test]
fn completion_scripts_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = signet().args(["completion", shell]).output().expect("run");
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        for word in ["template", "verify", "sign", "pull"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = signet().args(["completion", "tcsh"]).output().expect("run");
    assert!(!out.status.success());
}

#[test]
fn a_closed_stdout_ends_the_process_quietly() {
    // The reader is gone before signet writes, so its first write fails (EPIPE/SIGPIPE).
    for args in [&["crd"][..], &["completion", "bash"]] {
        closed_stdout(args);
    }
}

fn closed_stdout(args: &[&str]) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = signet()
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run signet");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "panicked on a closed pipe: {stderr}"
    );
    assert_ne!(
        out.status.code(),
        Some(101),
        "exit code of a panic: {stderr}"
    );
    // What a shell reports for a Go tool killed by SIGPIPE (128 + 13).
    assert_eq!(out.status.code(), Some(141), "status {:?}", out.status);
    assert!(stderr.is_empty(), "not quiet: {stderr}");
}
