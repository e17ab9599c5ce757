//! Placeholder: this example is being written.
fn main() {
    println!("mutex-races: not written yet");
}
