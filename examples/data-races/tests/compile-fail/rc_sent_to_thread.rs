//! An `Rc` moved into another thread. Its reference count is a plain integer, so the two
//! threads below would update it at the same time: a data race. `Rc` is not `Send`.
use std::rc::Rc;
use std::thread;

fn main() {
    // ANCHOR: body
    let counter = Rc::new(0);
    let for_thread = Rc::clone(&counter);
    let handle = thread::spawn(move || {
        drop(for_thread); // the thread decrements the count...
    });
    drop(counter); // ...while main decrements it too
    handle.join().unwrap();
    // ANCHOR_END: body
}
