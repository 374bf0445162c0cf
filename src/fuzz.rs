//! Hostile bytes for the three readers that take input from outside: the schedule reader, the
//! users reader (with the planner behind it) and the listing XML parser. A small mutational
//! fuzzer: seeds (real files) are mutated by flips, splices of hostile tokens (multi-byte
//! characters, NUL escapes, byte order marks, huge numbers, structure), cuts and copies, and
//! every target must answer every input with a value or an error, never a panic. The suite
//! runs a short, fixed-seed round; `src/bin/fuzz.rs` runs one target for as long as asked.

use crate::contract::{self, parse_json, read_schedule, read_schedule_bytes, read_users, read_users_bytes, ContractError};
use crate::plan::users::{plan_users, DeletionGuard, DeletionPermission};

pub const SCHEDULE_SEED: &[u8] = include_bytes!("../tests/fixtures/sample/1_schedules.json");
pub const USERS_SEED: &[u8] = include_bytes!("../tests/fixtures/sample/users.json");
pub const LISTING_SEED: &[u8] = br#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="data"><MaxResults>2</MaxResults><Blobs>
<Blob><Name>1_schedules.json</Name><Properties><Last-Modified>Wed, 10 Dec 2025 21:00:53 GMT</Last-Modified><Etag>0x8D939F8B2F08BDA</Etag><Content-Length>1234</Content-Length><Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5></Properties></Blob>
<Blob><Name Encoded="true">a%20b%C3%A9.json</Name><Properties><Etag>"0x2"</Etag><Content-Length>0</Content-Length><Content-MD5 /></Properties></Blob>
</Blobs><NextMarker>2!68!MDAwMDA</NextMarker></EnumerationResults>"#;

/// Tokens that broke or could break a reader: multi-byte text where digits belong, NUL as an
/// escape and raw, a byte order mark, numbers past i64, structure.
const HOSTILE: &[&[u8]] = &[
    "é".as_bytes(),
    "€".as_bytes(),
    "😀".as_bytes(),
    b"\\u0000",
    b"\0",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"99999999999999999999999",
    b"-1",
    b"1e400",
    b"null",
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"T",
    b"Z",
    b"+14:00",
    b"\\ud800",
    b"<",
    b">",
    b"&amp;",
    b"&#0;",
    b"<![CDATA[",
    b"Encoded=\"true\"",
    b"%FF",
];

/// xorshift64*: deterministic for a seed, quality enough to pick mutations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// One to four mutations of `seed`.
pub fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << rng.below(8);
            }
            1 | 2 => {
                let token = HOSTILE[rng.below(HOSTILE.len())];
                data.splice(at..at, token.iter().copied());
            }
            3 if !data.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                data.drain(at.min(end)..end);
            }
            4 if !data.is_empty() => {
                let from = rng.below(data.len());
                let end = (from + 1 + rng.below(256)).min(data.len());
                let copy = data[from..end].to_vec();
                data.splice(at..at, copy);
            }
            _ => data.truncate(at),
        }
    }
    data
}

/// A reader that takes bytes from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Schedule,
    Users,
    Listing,
}

impl Target {
    pub fn from_name(name: &str) -> Option<Target> {
        match name {
            "schedule" => Some(Target::Schedule),
            "users" => Some(Target::Users),
            "listing" => Some(Target::Listing),
            _ => None,
        }
    }

    pub fn seed(self) -> &'static [u8] {
        match self {
            Target::Schedule => SCHEDULE_SEED,
            Target::Users => USERS_SEED,
            Target::Listing => LISTING_SEED,
        }
    }

    /// Read `input` as the sync would. A wrong answer is a panic, as a crash would be.
    pub fn read(self, input: &[u8]) {
        match self {
            Target::Schedule => {
                // The streaming reader and the tree reader must agree on every input: the same
                // file, or the same problems (a syntax error's position may differ by a column).
                let streamed = verdict(read_schedule_bytes(input));
                let tree = verdict(parse_json(input).and_then(|doc| read_schedule(&doc)));
                assert_eq!(streamed, tree, "the two schedule readers disagree");
            }
            Target::Users => {
                let streamed = verdict(read_users_bytes(input));
                let tree = verdict(parse_json(input).and_then(|doc| read_users(&doc)));
                assert_eq!(streamed, tree, "the two users readers disagree");
                if let Ok(file) = read_users_bytes(input) {
                    let guard = DeletionGuard { max_fraction: 0.10, max_count: 5 };
                    let plan = plan_users(&file.entries, &[], &guard, DeletionPermission::Guarded);
                    assert!(plan.create.len() + plan.rejected.len() <= file.entries.len());
                }
            }
            Target::Listing => {
                let _ = crate::azure::parse_page(input);
            }
        }
        let _ = contract::BlobKind::of(&String::from_utf8_lossy(input));
    }
}

/// What a reader said, comparable across readers: the file, or its problems (a JSON syntax
/// error's position left out: two parsers may stop a column apart).
fn verdict<T>(result: Result<T, ContractError>) -> Result<T, Vec<String>> {
    result.map_err(|e| e.problems.iter().map(|p| format!("{}: {}", p.path, p.message.split(" at line ").next().unwrap_or(""))).collect())
}

/// Run `target` on `iterations` mutations from `seed`; the inputs that panicked, with what
/// they said.
pub fn round(target: Target, seed: u64, iterations: u64) -> Vec<(Vec<u8>, String)> {
    let mut rng = Rng(seed.max(1));
    let mut crashes = vec![];
    let mut input = target.seed().to_vec();
    for i in 0..iterations {
        // Mostly from the seed, sometimes from the last input: deeper damage.
        input = mutate(if i % 4 == 0 { &input } else { target.seed() }, &mut rng);
        if let Err(payload) = std::panic::catch_unwind(|| target.read(&input)) {
            let message = payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            crashes.push((input.clone(), message));
        }
    }
    crashes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_fuzz_round_finds_no_panic() {
        for name in ["schedule", "users", "listing"] {
            let target = Target::from_name(name).unwrap();
            let crashes = round(target, 0x5EED, 3_000);
            assert!(crashes.is_empty(), "{target:?}: {} crashes, first {:?}: {}", crashes.len(), String::from_utf8_lossy(&crashes[0].0), crashes[0].1);
        }
    }

    /// Inputs that once crashed a reader, kept as they were found.
    #[test]
    fn inputs_that_once_crashed_stay_harmless() {
        let schedule = String::from_utf8(SCHEDULE_SEED.to_vec()).unwrap().replacen("2025-12-10T21:00:53Z", "2026-11-29T1é:00:53Z", 1);
        Target::Schedule.read(schedule.as_bytes());
        assert!(read_schedule_bytes(schedule.as_bytes()).is_err());
        // The streaming reader once accepted a job holding a lone surrogate.
        let surrogate = String::from_utf8(SCHEDULE_SEED.to_vec()).unwrap().replacen("\"Jobs\": [", "\"Jobs\": [\"\\ud800\", ", 1);
        Target::Schedule.read(surrogate.as_bytes());
    }
}
