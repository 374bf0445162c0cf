//! `{ServiceCompanyId}_schedules.json`: one company's jobs over a rolling window.

use super::reader::{first_nul, Path, Reader, NUL_REFUSED};
use crate::clock::{Date, Timestamp};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleFile {
    pub service_company_id: i64,
    pub group_id: i64,
    pub group_name: String,
    pub name: String,
    pub is_active: bool,
    pub time_zone_id: Option<String>,
    pub generated_at: Timestamp,
    pub date_range_start: Date,
    pub date_range_end: Date,
    /// Kept as the producer sent it: the portal reads the toggles, we do not interpret them.
    pub feature_toggles: Map<String, Value>,
    /// Jobs stay opaque ("Format A" is not specified upstream): only counted.
    pub job_count: usize,
}

pub(crate) fn read(r: &mut Reader, doc: &Value) -> Option<ScheduleFile> {
    let root = Path::Root;
    let obj = r.object(doc, &root)?;
    let service_company_id = r.integer(obj, &root, "ServiceCompanyId");
    let group_id = r.integer(obj, &root, "ServiceCompanyGroupId");
    let group_name = r.text(obj, &root, "ServiceCompanyGroupName");
    let name = r.text(obj, &root, "Name");
    let is_active = r.boolean(obj, &root, "IsActive");
    let time_zone_id = r.optional_text(obj, &root, "TimeZoneInfoId");
    let generated_at = r.timestamp(obj, &root, "GeneratedAt");
    let start = r.date(obj, &root, "DateRangeStart");
    let end = r.date(obj, &root, "DateRangeEnd");
    let feature_toggles = match obj.get("FeatureToggles") {
        None | Some(Value::Null) => Some(Map::new()),
        Some(v) => {
            // Kept as jsonb, which cannot hold NUL either.
            if let Some(at) = first_nul(v, &root.key("FeatureToggles")) {
                r.fail(&root.key("FeatureToggles"), format!("{at} {NUL_REFUSED}"));
            }
            r.object(v, &root.key("FeatureToggles")).cloned()
        }
    };
    let jobs = r.array(obj, &root, "Jobs");
    if let (Some(s), Some(e)) = (&start, &end) {
        if e < s {
            r.fail(&root.key("DateRangeEnd"), format!("{} is before DateRangeStart {}", e.as_str(), s.as_str()));
            return None;
        }
    }
    Some(ScheduleFile {
        service_company_id: service_company_id?,
        group_id: group_id?,
        group_name: group_name?.to_string(),
        name: name?.to_string(),
        is_active: is_active?,
        time_zone_id: time_zone_id?.map(str::to_string),
        generated_at: generated_at?,
        date_range_start: start?,
        date_range_end: end?,
        feature_toggles: feature_toggles?,
        job_count: jobs?.len(),
    })
}
