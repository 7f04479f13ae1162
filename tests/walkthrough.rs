//! The README's emulator walkthrough runs as written: scripts/emulator-walkthrough.sh takes the
//! block out of README.md and runs it with the built binaries and the real kubectl.

use std::path::Path;
use std::process::Command;

#[test]
fn the_readme_walkthrough_scales_france_and_shows_it() {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_carbonctl")).parent().unwrap();
    assert!(
        bin_dir.join("kube-emulator").exists(),
        "kube-emulator is not built next to carbonctl; run `cargo build --workspace` (make test does)"
    );
    // Bounded, so a walkthrough that waits forever fails instead of hanging the suite.
    let out = Command::new("timeout")
        .args(["120", "bash"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/emulator-walkthrough.sh"
        ))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("BIN_DIR", bin_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.matches("hold: avg CPU 85% > 70%").count(),
        2,
        "{stderr}"
    );
    assert!(
        stderr.contains("📈 🇫🇷 scale up france 2->3: avg CPU 85% > 70% for 3/3 ticks"),
        "{stderr}"
    );
    assert!(stdout.contains("nginx-france    3/3"), "{stdout}");
    assert!(
        stdout.contains("CarbonAwareRescale   deployment/nginx-france   scale up france 2->3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("last scale: scale up france 2->3"),
        "{stdout}"
    );
    assert!(
        stdout.starts_with("http://127.0.0.1:"),
        "the block waits for the emulator's URL: {stdout}"
    );
    assert!(!stdout.contains("demo-token") && !stderr.contains("demo-token"));
}
