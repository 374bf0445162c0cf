//! Which blobs of a listing a run must download.

use crate::contract::BlobKind;
use std::collections::HashMap;

/// A blob as the listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBlob {
    pub name: String,
    /// Without quotes.
    pub etag: String,
    pub size_bytes: u64,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct FetchPlan {
    /// Changed or new schedule files, in listing (name) order.
    pub schedules: Vec<(String, i64)>,
    pub users: Option<String>,
    pub unchanged: usize,
    pub ignored: usize,
}

/// Compare the listing with the ETags last applied: equal means unchanged, with no request
/// and no query per blob.
pub fn plan_fetch(listing: &[ListedBlob], applied_etags: &HashMap<String, String>) -> FetchPlan {
    let mut plan = FetchPlan::default();
    for b in listing {
        let kind = BlobKind::of(&b.name);
        if kind == BlobKind::Ignored {
            plan.ignored += 1;
            continue;
        }
        if is_unchanged(&b.name, &b.etag, applied_etags) {
            plan.unchanged += 1;
            continue;
        }
        match kind {
            BlobKind::Users => plan.users = Some(b.name.clone()),
            BlobKind::Schedule(id) => plan.schedules.push((b.name.clone(), id)),
            BlobKind::Ignored => unreachable!("filtered above"),
        }
    }
    plan
}

/// The listed ETag is the one last applied. The Blob client hands out ETags bare (without
/// quotes), from listings and downloads alike, so they compare as they are.
pub fn is_unchanged(name: &str, listed_etag: &str, applied_etags: &HashMap<String, String>) -> bool {
    applied_etags.get(name).map(String::as_str) == Some(listed_etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(name: &str, etag: &str) -> ListedBlob {
        ListedBlob { name: name.into(), etag: etag.into(), size_bytes: 1 }
    }

    #[test]
    fn unchanged_etags_are_skipped() {
        let listing = vec![blob("1_schedules.json", "0x1"), blob("2_schedules.json", "0x2"), blob("users.json", "0x3"), blob("readme.txt", "0x4")];
        let applied: HashMap<String, String> = [("1_schedules.json".to_string(), "0x1".to_string()), ("users.json".to_string(), "0x9".to_string())].into();
        let plan = plan_fetch(&listing, &applied);
        assert_eq!(plan.schedules, vec![("2_schedules.json".to_string(), 2)]);
        assert_eq!(plan.users.as_deref(), Some("users.json"));
        assert_eq!(plan.unchanged, 1);
        assert_eq!(plan.ignored, 1);
    }
}
