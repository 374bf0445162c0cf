//! May a schedule file be applied? Name agreement and never-regress.

use super::{freshness, Freshness};
use crate::clock::Timestamp;
use crate::contract::{BlobKind, ScheduleFile};

/// What is stored for the file's (company, DateRangeStart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    pub generated_at: Timestamp,
    pub content_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleDecision {
    /// Write it: a new day (`new_row`) or a newer version of the stored one.
    Apply { new_row: bool },
    /// Same GeneratedAt and the same bytes: nothing to do.
    Unchanged,
    /// Older than the stored version for that day: skipped and reported, never applied.
    Stale { stored: Timestamp },
    /// Breaks a rule of the contract beyond its shape.
    Rejected(String),
}

/// `blob_name`: the name the file came from, when it came from the container (a DBA's
/// direct call may give none). `not_after`: the latest GeneratedAt believed (see
/// `refuse_future`).
pub fn decide(file: &ScheduleFile, blob_name: Option<&str>, content_sha256: &str, stored: Option<&StoredSchedule>, not_after: Timestamp) -> ScheduleDecision {
    if let Some(reason) = super::refuse_future(file.generated_at, not_after) {
        return ScheduleDecision::Rejected(reason);
    }
    if let Some(name) = blob_name {
        match BlobKind::of(name) {
            BlobKind::Schedule(n) if n == file.service_company_id => {}
            BlobKind::Schedule(n) => {
                return ScheduleDecision::Rejected(format!(
                    "ServiceCompanyId {} disagrees with the blob name {name:?} (company {n})",
                    file.service_company_id
                ))
            }
            _ => return ScheduleDecision::Rejected(format!("{name:?} is not named {{ServiceCompanyId}}_schedules.json")),
        }
    }
    let Some(stored) = stored else { return ScheduleDecision::Apply { new_row: true } };
    match freshness(file.generated_at, Some(stored.generated_at)) {
        Freshness::Older => ScheduleDecision::Stale { stored: stored.generated_at },
        Freshness::Same if stored.content_sha256 == content_sha256 => ScheduleDecision::Unchanged,
        // Same GeneratedAt with other bytes is a re-export: the newest bytes win.
        Freshness::Same | Freshness::Newer => ScheduleDecision::Apply { new_row: false },
    }
}

/// Where a schedule snapshot lives in the bucket: one path per company and day, so a day's
/// later exports overwrite it and earlier days stay as history.
pub fn storage_path(file: &ScheduleFile) -> String {
    format!("{}/{}/schedule.json", file.service_company_id, file.date_range_start.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Date;
    use crate::contract::read_schedule;

    /// A `not_after` far from the sample's GeneratedAt.
    const LATER: Timestamp = Timestamp(i64::MAX);

    fn file() -> ScheduleFile {
        let v = serde_json::from_str(include_str!("../../tests/fixtures/sample/1_schedules.json")).unwrap();
        read_schedule(&v).unwrap()
    }

    #[test]
    fn first_file_of_a_day_makes_a_new_row() {
        assert_eq!(decide(&file(), Some("1_schedules.json"), "h", None, LATER), ScheduleDecision::Apply { new_row: true });
        assert_eq!(storage_path(&file()), "1/2025-12-10/schedule.json");
    }

    #[test]
    fn company_must_agree_with_blob_name() {
        match decide(&file(), Some("7_schedules.json"), "h", None, LATER) {
            ScheduleDecision::Rejected(why) => {
                assert_eq!(why, "ServiceCompanyId 1 disagrees with the blob name \"7_schedules.json\" (company 7)")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(decide(&file(), Some("notes.json"), "h", None, LATER), ScheduleDecision::Rejected(_)));
        assert!(matches!(decide(&file(), None, "h", None, LATER), ScheduleDecision::Apply { .. }));
    }

    #[test]
    fn never_regress_and_skip_identical() {
        let f = file();
        let newer = StoredSchedule { generated_at: Timestamp(f.generated_at.0 + 1), content_sha256: "x".into() };
        assert_eq!(decide(&f, None, "h", Some(&newer), LATER), ScheduleDecision::Stale { stored: newer.generated_at });
        let same = StoredSchedule { generated_at: f.generated_at, content_sha256: "h".into() };
        assert_eq!(decide(&f, None, "h", Some(&same), LATER), ScheduleDecision::Unchanged);
        assert_eq!(decide(&f, None, "other", Some(&same), LATER), ScheduleDecision::Apply { new_row: false });
        let older = StoredSchedule { generated_at: Timestamp(f.generated_at.0 - 1), content_sha256: "x".into() };
        assert_eq!(decide(&f, None, "h", Some(&older), LATER), ScheduleDecision::Apply { new_row: false });
        let future = Timestamp(f.generated_at.0 - 1);
        assert!(matches!(decide(&f, None, "h", None, future), ScheduleDecision::Rejected(r) if r.contains("later than")));
        let mut next_day = f.clone();
        next_day.date_range_start = Date::parse("2025-12-11").unwrap();
        assert_eq!(storage_path(&next_day), "1/2025-12-11/schedule.json");
    }
}
