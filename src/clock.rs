//! Time as patrol writes and reads it: RFC 3339 UTC stamps for audit entries and
//! verifications, the datastore's stamps, the service's and the user's date forms, and
//! request-body times. The one place these formats are spelled.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The current time, RFC 3339 UTC with milliseconds (`2026-01-01T00:00:00.000Z`): the audit
/// log's and the verifications' format.
pub fn now_rfc3339() -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    OffsetDateTime::now_utc().format(&fmt).unwrap_or_default()
}

/// The current time, RFC 3339 UTC with as many fraction digits as the clock gives: the
/// datastore's stamps (sweeps, plan rows, first sightings), ordered as they were written.
pub fn now_precise() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// [`now_precise`] plus `minutes`: when a lease taken now ends.
pub fn minutes_from_now(minutes: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::minutes(minutes))
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Parses the service's times (`2018-07-19T00:00:00`, with or without fraction and offset;
/// no offset means UTC) and the user's (`2024-05-01`, RFC 3339).
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    if let Ok(t) = time::PrimitiveDateTime::parse(s, &fmt) {
        return Some(t.assume_utc());
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &day)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// RFC 3339 (UTC, seconds) for request bodies; `None` when the time is out of range in UTC
/// (e.g. `9999-12-31T23:59:59-10:00`).
pub fn format_time(t: OffsetDateTime) -> Option<String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.checked_to_offset(time::UtcOffset::UTC)?.format(&fmt).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_and_user_times_parse() {
        let a = parse_time("2018-07-19T00:00:00").unwrap();
        assert_eq!(a, parse_time("2018-07-19").unwrap());
        assert_eq!(a, parse_time("2018-07-19T00:00:00Z").unwrap());
        assert!(parse_time("2018-07-18T00:51:26.5557358-07:00").is_some());
        assert!(parse_time("2018-07-19T00:00:00.123").is_some());
        assert!(parse_time("yesterday").is_none());
        assert_eq!(format_time(a).unwrap(), "2018-07-19T00:00:00Z");
    }

    #[test]
    fn stamps_are_utc_with_milliseconds() {
        let s = now_rfc3339();
        assert_eq!(s.len(), "2026-01-01T00:00:00.000Z".len(), "{s}");
        assert!(s.ends_with('Z'));
        assert!(OffsetDateTime::parse(&s, &Rfc3339).is_ok());
    }
}
