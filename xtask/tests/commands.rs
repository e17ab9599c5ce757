//! xtask's commands as a reader runs them: `cargo book` (README command 1) serves the book with
//! live reload and stops at the first Ctrl-C; a taken port, a bad flag, `cargo xtask pdf`
//! without Chromium are clear errors; xtask builds the book of the checkout it runs in.
//! (Printing itself is checked by the browser tests, with the same code on their browser.)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_xtask");

#[test]
fn bad_input_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("binding a port");
    let port = taken.local_addr().expect("local address").port().to_string();
    test_support::run(BIN, &["book", "--no-open", "--port", &port])
        .assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains(&format!("port {port} on 127.0.0.1 is already in use"))
        .assert_stderr_contains("--port");
    test_support::run(BIN, &["book", "--port", "many"])
        .assert_code(2)
        .assert_stderr_contains("invalid value 'many' for '--port <PORT>'");
    let empty = Path::new(env!("CARGO_TARGET_TMPDIR")).join("empty-path");
    std::fs::create_dir_all(&empty).expect("an empty folder");
    let mut pdf = test_support::command(BIN, &["pdf"]);
    pdf.env("PATH", &empty);
    test_support::run_command(pdf)
        .assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("apt-get install chromium chromium-driver");
}

/// Clones that share one `CARGO_TARGET_DIR` run one xtask binary: each must build its own
/// book, found from the folder it runs in, not from a path compiled into the binary (which sent
/// both clones' books to one of them). Two minimal books stand in for the clones: building the
/// real one twice, each clone compiling xtask, would cost minutes.
#[test]
fn two_clones_sharing_one_xtask_binary_each_build_their_own_book() {
    let clones = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clones");
    for clone in ["one", "two"] {
        let dir = clones.join(clone);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).expect("creating a clone");
        let chapter = format!("# The book of clone {clone}\n\n## Run it\n\n`cargo book`\n");
        for (file, text) in [
            ("Cargo.toml", "[workspace]\n"),
            ("book.toml", "[book]\ntitle = \"A clone\"\n"),
            ("questions.toml", ""),
            ("src/SUMMARY.md", "[Chapter](chapter.md)\n"),
            ("src/chapter.md", &chapter),
        ] {
            std::fs::write(dir.join(file), text).expect("writing a clone's file");
        }
        let mut build = test_support::command(BIN, &["build"]);
        build.current_dir(dir.join("src"));
        test_support::run_command(build).assert_success();
        let page = std::fs::read_to_string(dir.join("book/chapter.html"));
        assert!(
            page.is_ok_and(|p| p.contains(&format!("clone {clone}"))),
            "`xtask build` run in clone {clone} did not build that clone's book"
        );
    }
}

/// Kills and reaps the server however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn it_serves_the_book_with_live_reload() {
    let port =
        TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
    let mut server = Server(
        Command::new(BIN)
            .args(["book", "--no-open", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting `xtask book`"),
    );
    // It answers once the book is built.
    let deadline = Instant::now() + test_support::TIMEOUT;
    let page = loop {
        if let Some(page) = get(port, "/memory.html") {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "no answer on port {port} within {:?}",
            test_support::TIMEOUT
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains(r#"<figure class="diagram""#),
        "the served memory.html has no diagram drawn"
    );
    let stream = r#"data-event-stream="/_tower-livereload/event-stream""#;
    assert!(page.contains(stream), "no live-reload script in the served page");
    // A page is open: its live-reload stream stays connected. The first Ctrl-C stops it all.
    let mut events = TcpStream::connect(("127.0.0.1", port)).expect("connecting");
    let request = "GET /_tower-livereload/event-stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    events.write_all(request.as_bytes()).expect("asking for the stream");
    events.read_exact(&mut [0; 12]).expect("the stream's first bytes");
    test_support::run("kill", &["-INT", &server.0.id().to_string()]).assert_success();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.0.try_wait().expect("waiting").is_none() {
        assert!(Instant::now() < deadline, "still serving 10 s after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    test_support::assert_no_children();
}

/// GET `path` from 127.0.0.1:`port`, or `None` if nothing answers there.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    Some(String::from_utf8_lossy(&response).into_owned()).filter(|r| !r.is_empty())
}
