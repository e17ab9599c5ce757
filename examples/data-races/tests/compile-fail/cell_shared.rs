//! A `Cell` lets you mutate through a shared reference `&`, without any synchronisation: fine
//! in one thread, a data race in two. `Cell` is not `Sync`, so `&Cell` cannot cross threads.
use std::cell::Cell;
use std::thread;

fn main() {
    // ANCHOR: body
    let counter = Cell::new(0);
    thread::scope(|s| {
        s.spawn(|| counter.set(counter.get() + 1)); // this thread...
        counter.set(counter.get() + 1); // ...and main, at the same time
    });
    println!("{}", counter.get());
    // ANCHOR_END: body
}
