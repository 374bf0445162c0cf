//! Pure decisions, made before anything is written: which users to create, update or delete
//! (and whether the deletion guard, or a DBA's allowance, lets deletions through), whether a
//! schedule file may be applied, which group and company rows a file may overwrite, which
//! blobs a run must download. Every never-regress rule lives here. No I/O and no SPI: every rule here has a plain `#[test]`.

pub mod blobs;
pub mod companies;
pub mod schedule;
pub mod users;

use crate::clock::Timestamp;

/// How an incoming file's GeneratedAt compares with the last one applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Nothing applied before, or the incoming file is newer.
    Newer,
    Same,
    /// Older than what is stored: applying it would regress the backup.
    Older,
}

pub fn freshness(incoming: Timestamp, stored: Option<Timestamp>) -> Freshness {
    match stored {
        None => Freshness::Newer,
        Some(s) if incoming > s => Freshness::Newer,
        Some(s) if incoming == s => Freshness::Same,
        Some(_) => Freshness::Older,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_compares_generated_at() {
        let t = |s| Timestamp::parse(s).unwrap();
        assert_eq!(freshness(t("2025-12-10T00:00:00Z"), None), Freshness::Newer);
        assert_eq!(freshness(t("2025-12-10T00:00:01Z"), Some(t("2025-12-10T00:00:00Z"))), Freshness::Newer);
        assert_eq!(freshness(t("2025-12-10T00:00:00Z"), Some(t("2025-12-10T00:00:00Z"))), Freshness::Same);
        assert_eq!(freshness(t("2025-12-09T23:59:59Z"), Some(t("2025-12-10T00:00:00Z"))), Freshness::Older);
    }
}
