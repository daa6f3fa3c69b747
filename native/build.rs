//! Records how the core was optimised (`wafpipe._native.CORE_BUILD`, shown by `wafpipe --version`):
//! `make` builds it with profile-guided optimisation (`native/pgo/install.sh`) where it can, and a
//! test checks that the installed core is the build it should be.

fn main() {
    // Cargo hands build scripts the flags every crate is compiled with (0x1f-separated).
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let build = if flags.contains("profile-use") {
        "profile-guided"
    } else if flags.contains("profile-generate") {
        "instrumented"
    } else {
        "plain"
    };
    println!("cargo:rustc-env=WAFPIPE_CORE_BUILD={build}");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
}
