//! Pure decisions, made before anything is written: which users to create, update or delete
//! (and whether the deletion guard, or a DBA's allowance, lets deletions through), whether a
//! schedule file may be applied, which group and company rows a file may overwrite, which
//! blobs a run must download. Every never-regress rule lives here. No I/O and no SPI: every rule here has a plain `#[test]`.

pub mod blobs;
pub mod companies;
pub mod reconcile;
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

/// An upstream clock gone wrong must not freeze every later export behind a stamp from the
/// future: a GeneratedAt later than `not_after` (now plus the tolerated clock skew,
/// `max_clock_skew_minutes`) is refused and never stored. The reason, when refused.
pub fn refuse_future(generated_at: Timestamp, not_after: Timestamp) -> Option<String> {
    (generated_at > not_after).then(|| {
        format!(
            "GeneratedAt {} is later than {} (now plus max_clock_skew_minutes): refused and never stored, \
             or every later export would look stale",
            generated_at.to_iso(),
            not_after.to_iso()
        )
    })
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

    #[test]
    fn a_stamp_from_the_future_is_refused() {
        let t = |s| Timestamp::parse(s).unwrap();
        let not_after = t("2026-11-30T13:00:00Z");
        assert_eq!(refuse_future(t("2026-11-30T13:00:00Z"), not_after), None);
        let refused = refuse_future(t("2099-01-01T00:00:00Z"), not_after).unwrap();
        assert!(refused.starts_with("GeneratedAt 2099-01-01T00:00:00.000000Z is later than 2026-11-30T13:00:00.000000Z"), "{refused}");
    }
}
