//! Link the unwinder statically on Linux with glibc (`libgcc_eh.a`), as a build with
//! `+crt-static` already does, instead of loading `libgcc_s.so.1` at every start.
//!
//! Programs start pulse once per read, so its start-up is most of what a read costs.
//! `libgcc_s.so.1` is one more library for the dynamic loader to map, relocate and bind,
//! and its constructor (`__cpu_indicator_init`) runs a dozen CPUID instructions, which
//! trap to the hypervisor on a virtual machine: together about 0.1 ms of a 1.6 ms
//! `pulse fetch` (`docs/benchmarks.md`). The static unwinder is the same code; panics,
//! backtraces and the tests behave as before.
//!
//! Only when the C compiler that links knows `libgcc_eh.a` (it comes with gcc), the
//! target is the host, and the build is not already static; otherwise nothing changes.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CC");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let static_crt = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "crt-static");
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || static_crt
        || var("TARGET") != var("HOST")
    {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let found = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .is_some_and(|path| std::path::Path::new(&path).is_absolute());
    if found {
        // Listed before std's `-lgcc_s`, so the linker takes the unwinder from the
        // archive and, linking `--as-needed`, no longer records libgcc_s as needed.
        println!("cargo::rustc-link-lib=static:-bundle=gcc_eh");
    }
}
