//! The benchmark's floors: the same bytes moved the simplest way the sync could, with the same
//! HTTP client and concurrency, and nothing else (no parsing, no database). Not part of the
//! extension; `tests/bench.py` runs it.
//!
//!     fetch_floor list <container SAS URL>                      the bare listing, our Blob client
//!     fetch_floor get <container SAS URL> <concurrency> [dir]   plain parallel GETs (into dir)
//!     fetch_floor get-put <container SAS URL> <concurrency> <storage URL> <key>
//!                                                               GET, then PUT to Storage
//!
//! Blob names come on standard input. Prints one JSON line.

include!("shared/blob_client.rs");

use std::io::{BufRead, Read};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn names() -> Vec<String> {
    std::io::stdin().lock().lines().map_while(Result::ok).filter(|l| !l.is_empty()).collect()
}

/// Run `work` on every name, `workers` at a time; the bytes moved.
fn parallel(names: Vec<String>, workers: usize, work: impl Fn(&str) -> u64 + Send + Sync + 'static) -> u64 {
    let queue = Arc::new(Mutex::new(names));
    let work = Arc::new(work);
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (queue, work) = (queue.clone(), work.clone());
            std::thread::spawn(move || {
                let mut bytes = 0u64;
                loop {
                    let Some(name) = queue.lock().unwrap().pop() else { return bytes };
                    bytes += work(&name);
                }
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

fn get(agent: &ureq::Agent, base: &str, query: &str, name: &str) -> Vec<u8> {
    let resp = agent.get(&format!("{base}/{}?{query}", http::encode::percent_encode(name, true))).call().expect("GET");
    let mut body = vec![];
    resp.into_reader().read_to_end(&mut body).expect("body");
    body
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args[1].as_str();
    let url = args[2].clone();
    let (base, query) = url.split_once('?').expect("a SAS URL");
    let (base, query) = (base.to_string(), query.to_string());
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build();
    let start = Instant::now();
    match mode {
        "list" => {
            let container = azure::Container::from_sas_url(&url).expect("a container SAS URL");
            let options = azure::ClientOptions {
                connect_timeout: Duration::from_secs(10),
                request_timeout: Duration::from_secs(120),
                retry: http::RetryPolicy::new(3),
                max_blob_bytes: u64::MAX,
                page_size: 5000,
                max_pages: u64::MAX,
                tls: None,
            };
            let client = azure::BlobClient::new(container, options);
            let blobs = client.list_all(&AtomicBool::new(false), None).expect("listing");
            println!("{{\"blobs\": {}, \"requests\": {}, \"ms\": {}}}", blobs.len(), client.request_counts().0, start.elapsed().as_millis());
        }
        "get" => {
            let workers: usize = args[3].parse().expect("concurrency");
            let dir = args.get(4).cloned();
            let names = names();
            let n = names.len();
            let bytes = parallel(names, workers, move |name| {
                let body = get(&agent, &base, &query, name);
                if let Some(dir) = &dir {
                    std::fs::write(format!("{dir}/{}", http::encode::percent_encode(name, false)), &body).expect("write");
                }
                body.len() as u64
            });
            println!("{{\"blobs\": {n}, \"bytes\": {bytes}, \"ms\": {}}}", start.elapsed().as_millis());
        }
        "get-put" => {
            let workers: usize = args[3].parse().expect("concurrency");
            let (storage, key) = (args[4].clone(), args[5].clone());
            let names = names();
            let n = names.len();
            let bytes = parallel(names, workers, move |name| {
                let body = get(&agent, &base, &query, name);
                agent
                    .post(&format!("{storage}/object/floor/{}", http::encode::percent_encode(name, true)))
                    .set("Authorization", &format!("Bearer {key}"))
                    .set("apikey", &key)
                    .set("x-upsert", "true")
                    .set("Content-Type", "application/json")
                    .send_bytes(&body)
                    .expect("PUT");
                body.len() as u64
            });
            println!("{{\"blobs\": {n}, \"bytes\": {bytes}, \"ms\": {}}}", start.elapsed().as_millis());
        }
        other => panic!("unknown mode {other}: list, get or get-put"),
    }
}
