//! Two scoped threads that both increment the same local. Scoped threads may borrow locals
//! (the scope waits for them), but `counter += 1` needs a `&mut`, and there can be only one.
use std::thread;

fn main() {
    // ANCHOR: body
    let mut counter = 0;
    thread::scope(|s| {
        s.spawn(|| counter += 1);
        s.spawn(|| counter += 1); // a second &mut while the first thread may still run
    });
    println!("{counter}");
    // ANCHOR_END: body
}
