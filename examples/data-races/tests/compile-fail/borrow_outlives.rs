//! A spawned thread that borrows a local variable. `thread::spawn` does not wait for the
//! thread, so `main` could return and its stack frame be reused while the thread still writes
//! to `counter`. A spawned closure must own its data (`'static`).
use std::thread;

fn main() {
    // ANCHOR: body
    let mut counter = 0;
    let handle = thread::spawn(|| {
        counter += 1; // a reference to main's local, in another thread
    });
    handle.join().unwrap();
    // ANCHOR_END: body
}
