//! `cargo xtask pdf` without Chromium: one line saying what to install, exit 1. (Printing itself
//! is checked by the browser tests, with the same code on their browser.)

const BIN: &str = env!("CARGO_BIN_EXE_xtask");

#[test]
fn without_chromium_it_says_how_to_install_it() {
    let empty = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("empty-path");
    std::fs::create_dir_all(&empty).expect("an empty folder");
    let mut command = test_support::command(BIN, &["pdf"]);
    command.env("PATH", &empty);
    test_support::run_command(command)
        .assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("apt-get install chromium chromium-driver");
}
