//! Link options of the `signet` binary; the controller keeps the defaults.
//!
//! `signet template` is a one-shot process whose whole run is a few milliseconds, so what the
//! dynamic loader does at every start is a real share of it. On glibc targets the CLI is
//! therefore linked as a static, position-dependent executable:
//! - position-dependent: no ~32,000 relative relocations applied at each start (nor the
//!   copy-on-write faults of the pages they write). The price is no address randomisation of the
//!   CLI's own code; the controller, a long-running server facing the network, stays
//!   position-independent.
//! - static: no mapping and symbol binding of libc, libm and libgcc_s, and none of libgcc_s's
//!   start-up CPU probing (each CPUID traps to the hypervisor on a VM). About 0.4 ms of a 5 ms
//!   run. glibc ≥ 2.34 resolves host names from files and DNS without loading NSS modules, so
//!   `push`/`pull` resolve registries as before.
//!
//! Cargo has no per-binary compiler flags, and `-C target-feature=+crt-static` for the whole
//! build would also apply to proc-macros, which cannot be static. So this is done at link time:
//! rustc asks for `-lgcc_s -lc -lm …`, and a directory of one-line linker scripts, searched
//! first, answers each with the static archive (`libgcc_s` with `libgcc_eh`, as rustc's own
//! static glibc link does). Where an archive is missing the CLI stays dynamic.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.contains("-linux-gnu") {
        return;
    }
    println!("cargo:rustc-link-arg-bin=signet=-no-pie");
    match static_libs_dir() {
        Some(dir) => {
            println!("cargo:rustc-link-arg-bin=signet=-L{}", dir.display());
            println!("cargo:rustc-link-arg-bin=signet=-static");
        }
        None => println!(
            "cargo:warning=static glibc archives not found (Debian: libc6-dev); \
             the signet CLI is linked dynamically"
        ),
    }
}

/// The libraries rustc links a glibc executable with, and the archives that stand in for them.
const STAND_INS: &[(&str, &[&str])] = &[
    ("gcc_s", &["libgcc_eh.a", "libgcc.a"]),
    ("c", &["libc.a"]),
    ("m", &["libm.a"]),
    ("rt", &["librt.a"]),
    ("pthread", &["libpthread.a"]),
    ("dl", &["libdl.a"]),
    ("util", &["libutil.a"]),
];

/// Writes `OUT_DIR/static-libs/lib<name>.a` as `INPUT(<archives>)` for every stand-in, or
/// `None` when the target's C compiler knows no such archive.
fn static_libs_dir() -> Option<PathBuf> {
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .try_get_compiler()
        .ok()?;
    let dir = PathBuf::from(std::env::var_os("OUT_DIR")?).join("static-libs");
    std::fs::create_dir_all(&dir).ok()?;
    for (name, archives) in STAND_INS {
        let mut paths = Vec::new();
        for archive in *archives {
            paths.push(archive_path(compiler.path(), archive)?);
        }
        let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let script = format!("INPUT ( {} )\n", inputs.join(" "));
        std::fs::write(dir.join(format!("lib{name}.a")), script).ok()?;
    }
    Some(dir)
}

/// Where the C compiler finds `archive`; it echoes the bare name back when it finds none.
fn archive_path(compiler: &Path, archive: &str) -> Option<PathBuf> {
    let out = std::process::Command::new(compiler)
        .arg(format!("-print-file-name={archive}"))
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    path.is_absolute().then_some(path)
}
