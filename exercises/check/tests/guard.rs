//! A checker killed in the middle of a check leaves nothing of the program's process group
//! running: the group's guard kills it (`exercises::GUARD`).

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

#[test]
fn a_killed_checker_leaves_nothing_of_the_program_running() {
    // `cargo exercises sigterm`, its build a no-op (`CARGO=true`), finds beside itself a
    // `sigterm` that starts a `sleep` and never prints the line the check waits 10 s for.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guard");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory");
    let (exe, checker) = (env!("CARGO_BIN_EXE_exercises"), dir.join("exercises"));
    std::fs::hard_link(exe, &checker)
        .or_else(|_| std::fs::copy(exe, &checker).map(drop))
        .expect("a copy of the checker");
    let group_file = dir.join("group");
    let program = format!(
        "#!/bin/sh\nsleep 1000 &\necho $$ > '{}'\nwait\n",
        group_file.display()
    );
    std::fs::write(dir.join("sigterm"), program).expect("the program");
    let executable = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(dir.join("sigterm"), executable).expect("chmod");
    let mut check = Command::new(&checker)
        .arg("sigterm")
        .env("CARGO", "true")
        .stdout(Stdio::null())
        .spawn()
        .expect("the checker");
    let deadline = Instant::now() + Duration::from_secs(10);
    let group = loop {
        let text = std::fs::read_to_string(&group_file).unwrap_or_default();
        if let Ok(pid) = text.trim().parse() {
            break Pid::from_raw(pid);
        }
        if Instant::now() > deadline {
            let _ = check.kill();
            let _ = check.wait();
            panic!("the program under check did not start within 10 s");
        }
        sleep(Duration::from_millis(10));
    };
    check.kill().expect("SIGKILL to the checker");
    check.wait().expect("reaping the checker");
    let deadline = Instant::now() + Duration::from_secs(10);
    while killpg(group, None).is_ok() {
        if Instant::now() > deadline {
            let _ = killpg(group, Signal::SIGKILL);
            panic!("process group {group} still ran 10 s after its checker was killed");
        }
        sleep(Duration::from_millis(10));
    }
}
