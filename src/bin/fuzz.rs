//! The fuzzer of src/fuzz.rs for as long as asked, on one target. Not part of the extension.
//!
//!     fuzz <schedule|users|listing> <seconds> [seed]
//!
//! Prints the executions made and the crashes found (each input saved as
//! fuzz-crash-<target>-<n>.bin in the current folder); exits 1 when it found any.

include!("shared/blob_client.rs");
#[path = "../contract/mod.rs"]
#[allow(dead_code, unused_imports)]
mod contract;
#[path = "../plan/mod.rs"]
#[allow(dead_code, unused_imports)]
mod plan;
#[path = "../fuzz.rs"]
#[allow(dead_code)]
mod fuzz;

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let target = args.get(1).and_then(|t| fuzz::Target::from_name(t)).expect("usage: fuzz <schedule|users|listing> <seconds> [seed]");
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).expect("seconds");
    let mut seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    // Panics are counted, not printed one by one.
    std::panic::set_hook(Box::new(|_| {}));
    let (start, mut executions, mut crashes) = (Instant::now(), 0u64, 0usize);
    while start.elapsed() < Duration::from_secs(seconds) {
        for (input, message) in fuzz::round(target, seed, 10_000) {
            crashes += 1;
            let file = format!("fuzz-crash-{}-{crashes}.bin", args[1]);
            std::fs::write(&file, &input).expect("write the crashing input");
            eprintln!("crash {crashes}: {message} (input in {file})");
        }
        executions += 10_000;
        seed += 1;
    }
    println!("{{\"target\": \"{}\", \"executions\": {executions}, \"seconds\": {}, \"crashes\": {crashes}}}", args[1], start.elapsed().as_secs());
    std::process::exit(if crashes > 0 { 1 } else { 0 });
}
