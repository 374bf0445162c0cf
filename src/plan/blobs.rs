//! Which blobs of a listing a run must download, and which it must not touch.

use crate::contract::BlobKind;
use std::collections::HashMap;

/// A blob as the listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBlob {
    pub name: String,
    /// Bare (no quotes); empty when the listing gave none.
    pub etag: String,
    pub size_bytes: u64,
}

/// What the sync remembers of a blob (blob_state).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobMemory {
    pub applied_etag: Option<String>,
    pub content_sha256: Option<String>,
    /// The ETag of a version that failed in a way that will repeat (contract, too large, a
    /// panic, a rejection): that version is not downloaded again.
    pub permanently_failed_etag: Option<String>,
    pub last_error: Option<String>,
}

/// One blob to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub name: String,
    pub kind: BlobKind,
    /// The listing's ETag: a permanent failure is remembered against it.
    pub listed_etag: String,
    /// When the listing gave no ETag, the sha256 last applied: equal content is unchanged.
    pub applied_sha256: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct FetchPlan {
    /// Changed or new schedule files, in listing (name) order.
    pub schedules: Vec<Download>,
    pub users: Option<Download>,
    pub unchanged: usize,
    pub ignored: usize,
    /// Versions that failed for good before: (name, last error). Not downloaded, still reported.
    pub still_failing: Vec<(String, String)>,
    /// Names that claim one company (`01_schedules.json` beside `1_schedules.json`): (name,
    /// why). Neither is applied: which one is right cannot be told.
    pub ambiguous: Vec<(String, String)>,
}

/// Compare the listing with what was last applied: an equal ETag means unchanged, with no
/// request and no query per blob. `reapply_users`: users.json is downloaded even unchanged
/// (a DBA allowed the deletions its last version held back).
pub fn plan_fetch(listing: &[ListedBlob], memory: &HashMap<String, BlobMemory>, reapply_users: bool) -> FetchPlan {
    let mut plan = FetchPlan::default();
    let mut names_of_company: HashMap<i64, Vec<&str>> = HashMap::new();
    for b in listing {
        if let BlobKind::Schedule(id) = BlobKind::of(&b.name) {
            names_of_company.entry(id).or_default().push(&b.name);
        }
    }
    for b in listing {
        let kind = BlobKind::of(&b.name);
        if kind == BlobKind::Ignored {
            plan.ignored += 1;
            continue;
        }
        if let BlobKind::Schedule(id) = kind {
            let names = &names_of_company[&id];
            if names.len() > 1 {
                let others: Vec<&str> = names.iter().copied().filter(|n| *n != b.name).collect();
                plan.ambiguous.push((b.name.clone(), format!("names company {id} as {} also does: neither is applied until one is removed", others.join(", "))));
                continue;
            }
        }
        let remembered = memory.get(&b.name);
        let no_etag = b.etag.is_empty();
        if !no_etag {
            if let Some(m) = remembered.filter(|m| m.permanently_failed_etag.as_deref() == Some(b.etag.as_str())) {
                plan.still_failing.push((b.name.clone(), m.last_error.clone().unwrap_or_default()));
                continue;
            }
            let unchanged = remembered.and_then(|m| m.applied_etag.as_deref()) == Some(b.etag.as_str());
            if unchanged && !(kind == BlobKind::Users && reapply_users) {
                plan.unchanged += 1;
                continue;
            }
        }
        let download = Download {
            name: b.name.clone(),
            kind,
            listed_etag: b.etag.clone(),
            applied_sha256: if no_etag { remembered.and_then(|m| m.content_sha256.clone()) } else { None },
        };
        match kind {
            BlobKind::Users => plan.users = Some(download),
            _ => plan.schedules.push(download),
        }
    }
    plan
}

/// The listed ETag is the one last applied. The Blob client hands out ETags bare (without
/// quotes), from listings and downloads alike, so they compare as they are; a missing ETag is
/// never "unchanged" (the content hash decides after the download).
pub fn is_unchanged(name: &str, listed_etag: &str, memory: &HashMap<String, BlobMemory>) -> bool {
    !listed_etag.is_empty() && memory.get(name).and_then(|m| m.applied_etag.as_deref()) == Some(listed_etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(name: &str, etag: &str) -> ListedBlob {
        ListedBlob { name: name.into(), etag: etag.into(), size_bytes: 1 }
    }

    fn applied(etag: &str) -> BlobMemory {
        BlobMemory { applied_etag: Some(etag.into()), content_sha256: Some(format!("sha-of-{etag}")), ..Default::default() }
    }

    #[test]
    fn unchanged_etags_are_skipped() {
        let listing = vec![blob("1_schedules.json", "0x1"), blob("2_schedules.json", "0x2"), blob("users.json", "0x3"), blob("readme.txt", "0x4")];
        let memory: HashMap<String, BlobMemory> = [("1_schedules.json".to_string(), applied("0x1")), ("users.json".to_string(), applied("0x9"))].into();
        let plan = plan_fetch(&listing, &memory, false);
        assert_eq!(plan.schedules.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["2_schedules.json"]);
        assert_eq!(plan.users.as_ref().map(|d| d.name.as_str()), Some("users.json"));
        assert_eq!((plan.unchanged, plan.ignored), (1, 1));
    }

    #[test]
    fn a_permanent_failure_is_not_downloaded_again_until_its_etag_changes() {
        let failed = BlobMemory { permanently_failed_etag: Some("0x5".into()), last_error: Some("breaks the file contract".into()), ..Default::default() };
        let memory: HashMap<String, BlobMemory> = [("5_schedules.json".to_string(), failed)].into();
        let same = plan_fetch(&[blob("5_schedules.json", "0x5")], &memory, false);
        assert!(same.schedules.is_empty());
        assert_eq!(same.still_failing, [("5_schedules.json".to_string(), "breaks the file contract".to_string())]);
        let fixed = plan_fetch(&[blob("5_schedules.json", "0x6")], &memory, false);
        assert_eq!(fixed.schedules.len(), 1);
        assert!(fixed.still_failing.is_empty());
    }

    #[test]
    fn a_blob_without_an_etag_is_downloaded_and_judged_by_its_hash() {
        let memory: HashMap<String, BlobMemory> = [("1_schedules.json".to_string(), applied(""))].into();
        let plan = plan_fetch(&[blob("1_schedules.json", "")], &memory, false);
        assert_eq!(plan.schedules[0].applied_sha256.as_deref(), Some("sha-of-"));
        assert!(!is_unchanged("1_schedules.json", "", &memory));
    }

    #[test]
    fn two_names_for_one_company_are_both_refused() {
        let plan = plan_fetch(&[blob("01_schedules.json", "0x1"), blob("1_schedules.json", "0x2"), blob("2_schedules.json", "0x3")], &HashMap::new(), false);
        assert_eq!(plan.schedules.len(), 1);
        let names: Vec<&str> = plan.ambiguous.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["01_schedules.json", "1_schedules.json"]);
        assert!(plan.ambiguous[0].1.contains("company 1 as 1_schedules.json also does"), "{}", plan.ambiguous[0].1);
    }

    #[test]
    fn users_json_is_fetched_again_when_an_allowance_waits_for_it() {
        let memory: HashMap<String, BlobMemory> = [("users.json".to_string(), applied("0x3"))].into();
        assert!(plan_fetch(&[blob("users.json", "0x3")], &memory, false).users.is_none());
        assert!(plan_fetch(&[blob("users.json", "0x3")], &memory, true).users.is_some());
    }
}
