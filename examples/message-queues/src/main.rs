//! Placeholder: this example is being written.
fn main() {
    println!("message-queues: not written yet");
}
