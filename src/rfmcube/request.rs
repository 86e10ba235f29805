//! A crawl request: the wire form Rfmcube sends (JSON body or query string), parsed into a
//! page request that cannot be invalid.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::cursor::{Cursor, CursorKey};
use super::window::{DateField, Entity, Window};
use crate::http::error::ApiError;

pub const MAX_PAGE_SIZE: u32 = 1000;
/// An open window's bounds: the widest PostgreSQL and RFC 3339 both represent.
const OPEN_FROM: &str = "0001-01-01T00:00:00Z";
const OPEN_TO: &str = "9999-12-31T23:59:59Z";
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The request as sent. Every field is optional; unknown fields are ignored.
#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CrawlRequest {
    /// Inclusive lower bound (RFC 3339, any offset). Default: no lower bound.
    #[schema(format = DateTime, example = "2025-03-01T00:00:00Z")]
    #[param(format = DateTime, example = "2025-03-01T00:00:00Z")]
    pub from: Option<String>,
    /// Exclusive upper bound (RFC 3339, any offset); must be after `from`. Default: no upper bound.
    #[schema(format = DateTime, example = "2025-03-02T00:00:00Z")]
    #[param(format = DateTime, example = "2025-03-02T00:00:00Z")]
    pub to: Option<String>,
    /// The timestamp the window applies to. Default `updatedAt`.
    pub date_field: Option<DateField>,
    /// Page number for offset paging, from 1. Ignored when `cursor` is given.
    #[schema(minimum = 1, maximum = 4294967295_i64, example = 1)]
    #[param(minimum = 1, maximum = 4294967295_i64)]
    pub page: Option<i64>,
    /// Rows per page, 1 to 1000. Default 100.
    #[schema(minimum = 1, maximum = 1000, example = 100)]
    #[param(minimum = 1, maximum = 1000)]
    pub page_size: Option<i64>,
    /// `nextCursor` of the previous page: keyset paging, as fast on the last page as on the
    /// first. Bound to the window and dateField it was issued for.
    #[schema(min_length = 1)]
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Paging {
    Offset { page: u32 },
    After(Cursor),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub entity: Entity,
    pub window: Window,
    pub page_size: u32,
    pub paging: Paging,
}

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

/// Parsed and normalised to what PostgreSQL stores (whole microseconds; a leap second
/// `23:59:60` is the next second's start), so a window reads the same when a cursor is
/// issued and when it comes back with the same `from`/`to`.
fn instant(field: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .map(|raw| {
            let invalid = |cause: &dyn std::fmt::Display| {
                bad(format!(
                    "{field}: must be an RFC 3339 date-time such as 2025-03-01T00:00:00Z ({cause})."
                ))
            };
            let parsed = DateTime::parse_from_rfc3339(raw.trim()).map_err(|e| invalid(&e))?;
            DateTime::from_timestamp_micros(parsed.timestamp_micros())
                .ok_or_else(|| invalid(&"out of range"))
        })
        .transpose()
}

fn open_from() -> DateTime<Utc> {
    OPEN_FROM.parse().expect("valid constant")
}

fn open_to() -> DateTime<Utc> {
    OPEN_TO.parse().expect("valid constant")
}

impl CrawlRequest {
    pub fn parse(self, entity: Entity, key: &CursorKey) -> Result<PageRequest, ApiError> {
        let page_size = match self.page_size {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if (1..=i64::from(MAX_PAGE_SIZE)).contains(&n) => n as u32,
            Some(n) => {
                return Err(bad(format!(
                    "pageSize: must be between 1 and {MAX_PAGE_SIZE}, not {n}."
                )))
            }
        };
        let from = instant("from", self.from.as_deref())?;
        let to = instant("to", self.to.as_deref())?;
        if from.unwrap_or_else(open_from) >= to.unwrap_or_else(open_to) {
            return Err(bad(format!(
                "from: must be before to{}.",
                if to.is_none() {
                    format!(" ({OPEN_TO} when to is left out)")
                } else {
                    String::new()
                }
            )));
        }
        if let Some(token) = self.cursor {
            let cursor = key.decode(&token).map_err(|e| bad(format!("{e}.")))?;
            if cursor.entity != entity {
                return Err(bad(format!(
                    "cursor: was issued for {}, not {}.",
                    cursor.entity.path(),
                    entity.path()
                )));
            }
            let w = cursor.window;
            let conflicts = from.is_some_and(|f| f != w.from)
                || to.is_some_and(|t| t != w.to)
                || self.date_field.is_some_and(|f| f != w.field);
            if conflicts {
                return Err(bad(
                    "cursor: was issued for a different window; send the same from, to and \
                     dateField as the request that returned it, or leave them out."
                        .into(),
                ));
            }
            return Ok(PageRequest {
                entity,
                window: w,
                page_size,
                paging: Paging::After(cursor),
            });
        }
        let page = match self.page {
            None => 1,
            Some(n) if (1..=i64::from(u32::MAX)).contains(&n) => n as u32,
            Some(n) if n < 1 => return Err(bad(format!("page: must be 1 or more, not {n}."))),
            Some(n) => return Err(bad(format!("page: {n} is too large."))),
        };
        Ok(PageRequest {
            entity,
            window: Window {
                from: from.unwrap_or_else(open_from),
                to: to.unwrap_or_else(open_to),
                field: self.date_field.unwrap_or_default(),
            },
            page_size,
            paging: Paging::Offset { page },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CursorKey {
        CursorKey::new([3; 32])
    }

    fn parse(req: CrawlRequest) -> Result<PageRequest, String> {
        req.parse(Entity::Orders, &key()).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_page_one_of_100_on_updated_at() {
        let p = parse(CrawlRequest::default()).unwrap();
        assert_eq!(p.page_size, 100);
        assert_eq!(p.paging, Paging::Offset { page: 1 });
        assert_eq!(p.window.field, DateField::UpdatedAt);
    }

    #[test]
    fn a_cursor_is_accepted_with_the_window_it_was_issued_for_at_any_precision() {
        for (from, to) in [
            (
                "2025-03-01T00:00:00.1234567Z",
                "2025-03-02T00:00:00.000000999Z",
            ),
            ("2016-12-31T23:59:60Z", "2017-01-02T00:00:00Z"),
            ("2016-12-31T23:59:60.5+00:00", "2017-01-02T00:00:00Z"),
        ] {
            let request = || CrawlRequest {
                from: Some(from.into()),
                to: Some(to.into()),
                ..Default::default()
            };
            let first = parse(request()).unwrap();
            let cursor = Cursor {
                entity: Entity::Orders,
                window: first.window,
                upper: first.window.to,
                after: (first.window.from, "1".into()),
                page: 2,
            };
            let next = parse(CrawlRequest {
                cursor: Some(key().encode(&cursor)),
                ..request()
            });
            assert!(next.is_ok(), "{from}..{to}: {next:?}");
        }
    }

    #[test]
    fn from_must_be_before_the_open_end_when_to_is_left_out() {
        let err = parse(CrawlRequest {
            from: Some("9999-12-31T23:59:59.5Z".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            err.contains("from: must be before to (9999-12-31T23:59:59Z"),
            "{err}"
        );
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let p = parse(CrawlRequest {
            from: Some("2025-03-01T02:00:00+02:00".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(p.window.from.to_rfc3339(), "2025-03-01T00:00:00+00:00");
    }

    #[test]
    fn invalid_fields_are_named() {
        let cases = [
            (
                CrawlRequest {
                    page_size: Some(0),
                    ..Default::default()
                },
                "pageSize",
            ),
            (
                CrawlRequest {
                    page_size: Some(1001),
                    ..Default::default()
                },
                "pageSize",
            ),
            (
                CrawlRequest {
                    page: Some(0),
                    ..Default::default()
                },
                "page",
            ),
            (
                CrawlRequest {
                    page: Some(i64::MAX),
                    ..Default::default()
                },
                "page",
            ),
            (
                CrawlRequest {
                    from: Some("yesterday".into()),
                    ..Default::default()
                },
                "from",
            ),
            (
                CrawlRequest {
                    to: Some("2025-13-01T00:00:00Z".into()),
                    ..Default::default()
                },
                "to",
            ),
            (
                CrawlRequest {
                    from: Some("2025-03-02T00:00:00Z".into()),
                    to: Some("2025-03-02T00:00:00Z".into()),
                    ..Default::default()
                },
                "from",
            ),
            (
                CrawlRequest {
                    cursor: Some("nonsense".into()),
                    ..Default::default()
                },
                "cursor",
            ),
        ];
        for (request, field) in cases {
            let message = parse(request).unwrap_err();
            assert!(message.starts_with(&format!("{field}:")), "{message}");
        }
    }
}
