//! Which of a user's Azure DevOps PATs an administrator's command is about (`patrol ado pats`
//! / `ado revoke`: `--created-after`, `--name`, `--expiring-within`), decided on the listed
//! tokens' own fields.

use time::{Duration, OffsetDateTime};

use crate::clock::parse_time;
use crate::provider::azure_devops::SessionToken;

/// Which of a user's PATs a command is about.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--created-after`: `validFrom` strictly after this.
    pub created_after: Option<OffsetDateTime>,
    /// `--name GLOB`: display name matches (case-insensitive).
    pub name: Option<globset::GlobMatcher>,
    /// `--expiring-within DAYS`: `validTo` between now and now + this.
    pub expiring_within: Option<Duration>,
    /// Only tokens not yet revoked (`isValid` not false); set for revocation plans.
    pub only_valid: bool,
}

impl Selection {
    /// A glob for `--name`, case-insensitive.
    pub fn name_glob(pattern: &str) -> Result<globset::GlobMatcher, globset::Error> {
        Ok(globset::GlobBuilder::new(pattern)
            .case_insensitive(true)
            .literal_separator(false)
            .build()?
            .compile_matcher())
    }

    /// Whether `t` is selected at time `now`.
    pub fn is_selected(&self, t: &SessionToken, now: OffsetDateTime) -> bool {
        if self.only_valid && t.is_valid == Some(false) {
            return false;
        }
        if let Some(after) = self.created_after {
            match t.valid_from.as_deref().and_then(parse_time) {
                Some(from) if from > after => {}
                _ => return false,
            }
        }
        if let Some(g) = &self.name {
            if !g.is_match(t.display_name.as_deref().unwrap_or("")) {
                return false;
            }
        }
        if let Some(within) = self.expiring_within {
            match t.valid_to.as_deref().and_then(parse_time) {
                // A window past the end of the calendar has no upper bound.
                Some(to) if to >= now && now.checked_add(within).is_none_or(|end| to <= end) => {}
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::format_time;

    fn tok(id: &str, name: &str, from: &str, to: &str, valid: bool) -> SessionToken {
        SessionToken {
            authorization_id: id.into(),
            display_name: Some(name.into()),
            valid_from: Some(from.into()),
            valid_to: Some(to.into()),
            is_valid: Some(valid),
            ..Default::default()
        }
    }

    /// Regression test for review item 8: command-line extremes are errors, not panics.
    #[test]
    fn times_and_windows_past_the_calendar_do_not_panic() {
        let late = parse_time("9999-12-31T23:59:59-10:00").unwrap();
        assert_eq!(format_time(late), None);
        let sel = Selection {
            expiring_within: Some(Duration::days(4_000_000_000)),
            ..Default::default()
        };
        let now = OffsetDateTime::now_utc();
        assert!(sel.is_selected(&tok("a", "x", "2024-01-01", "2099-01-01", true), now));
        assert!(!sel.is_selected(&tok("b", "x", "2024-01-01", "2000-01-01", true), now));
    }

    #[test]
    fn created_after_selects_strictly_later_tokens() {
        let sel = Selection {
            created_after: parse_time("2024-05-01"),
            ..Default::default()
        };
        let now = OffsetDateTime::now_utc();
        assert!(sel.is_selected(
            &tok("a", "x", "2024-05-02T00:00:00", "2030-01-01", true),
            now
        ));
        assert!(!sel.is_selected(
            &tok("b", "x", "2024-04-30T23:59:59", "2030-01-01", true),
            now
        ));
        let mut no_date = tok("c", "x", "", "", true);
        no_date.valid_from = None;
        assert!(!sel.is_selected(&no_date, now));
    }

    #[test]
    fn name_glob_is_case_insensitive_and_anchored() {
        let sel = Selection {
            name: Some(Selection::name_glob("ci-*").unwrap()),
            ..Default::default()
        };
        let now = OffsetDateTime::now_utc();
        assert!(sel.is_selected(&tok("a", "CI-build", "2024-01-01", "2030-01-01", true), now));
        assert!(!sel.is_selected(
            &tok("b", "my ci-build", "2024-01-01", "2030-01-01", true),
            now
        ));
    }

    #[test]
    fn expiring_within_keeps_only_tokens_ending_in_the_window() {
        let now = parse_time("2025-01-01T00:00:00Z").unwrap();
        let sel = Selection {
            expiring_within: Some(Duration::days(30)),
            ..Default::default()
        };
        assert!(sel.is_selected(
            &tok("a", "x", "2024-01-01", "2025-01-20T00:00:00", true),
            now
        ));
        assert!(!sel.is_selected(
            &tok("b", "x", "2024-01-01", "2025-03-01T00:00:00", true),
            now
        ));
        assert!(!sel.is_selected(
            &tok("c", "x", "2024-01-01", "2024-12-01T00:00:00", true),
            now
        ));
    }
}
