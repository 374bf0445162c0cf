// The Blob client and the pure modules it stands on, borrowed by path (relative to this file)
// by the benchmark and fuzzing programs, which include it at their crate root. Not part of
// the extension.

#[path = "../../clock.rs"]
#[allow(dead_code)]
mod clock;
#[path = "../../digest.rs"]
#[allow(dead_code)]
mod digest;
#[path = "../../http/mod.rs"]
#[allow(dead_code)]
mod http;
#[path = "../../azure/mod.rs"]
#[allow(dead_code, unused_imports)]
mod azure;
