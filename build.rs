//! Link options of the `signet` binary; the controller keeps the defaults.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    // `signet template` is a one-shot process whose whole run is a few milliseconds. As a
    // position-dependent executable it skips the ~32,000 relative relocations the loader would
    // apply at every start (and the copy-on-write faults of the pages they write). The price is
    // no address randomisation of the CLI's own code; the controller, a long-running server
    // facing the network, stays position-independent.
    if target.contains("-linux-gnu") {
        println!("cargo:rustc-link-arg-bin=signet=-no-pie");
    }
}
