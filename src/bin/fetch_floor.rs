//! The benchmark's floor: fetch blobs with plain parallel GETs and nothing else (no parsing,
//! no database), with the same HTTP client and concurrency as the sync. Not part of the
//! extension; `tests/bench.py` runs it.
//!
//!     fetch_floor <container SAS URL> <concurrency> < blob-names.txt
//!
//! Prints `{"blobs": N, "bytes": B, "ms": T}`.

use std::io::{BufRead, Read};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn encode(name: &str) -> String {
    let mut out = String::new();
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, workers) = (args[1].clone(), args[2].parse::<usize>().expect("concurrency"));
    let (base, query) = url.split_once('?').expect("a SAS URL");
    let names: Vec<String> = std::io::stdin().lock().lines().map_while(Result::ok).filter(|l| !l.is_empty()).collect();
    let queue = Arc::new(Mutex::new(names.clone()));
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build();
    let start = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (queue, agent, base, query) = (queue.clone(), agent.clone(), base.to_string(), query.to_string());
            std::thread::spawn(move || {
                let mut bytes = 0u64;
                loop {
                    let Some(name) = queue.lock().unwrap().pop() else { return bytes };
                    let resp = agent.get(&format!("{base}/{}?{query}", encode(&name))).call().expect("GET");
                    let mut body = vec![];
                    resp.into_reader().read_to_end(&mut body).expect("body");
                    bytes += body.len() as u64;
                }
            })
        })
        .collect();
    let bytes: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("{{\"blobs\": {}, \"bytes\": {bytes}, \"ms\": {}}}", names.len(), start.elapsed().as_millis());
}
