//! Time as the domain sees it: milliseconds since the Unix epoch, rendered as ISO-8601 UTC with
//! millisecond precision (`2026-02-27T00:00:01.000Z`). Expiry is strict: valid while `expires_at > now`.

use serde::{Serialize, Serializer};

/// An instant, in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn millis(self) -> i64 {
        self.0
    }
    pub const fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0 + seconds * 1000)
    }
    /// ISO-8601 in UTC with milliseconds and a trailing `Z`.
    pub fn to_iso(self) -> String {
        use chrono::{Datelike, Timelike};
        use std::fmt::Write as _;
        match chrono::DateTime::from_timestamp_millis(self.0) {
            // Written field by field: every response carries several of these, and parsing a
            // strftime pattern each time showed in profiles.
            Some(dt) if (0..=9999).contains(&dt.year()) => {
                let mut out = String::with_capacity(24);
                let (date, millis) = (dt.date_naive(), dt.timestamp_subsec_millis());
                let _ = write!(
                    out,
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{millis:03}Z",
                    date.year(),
                    date.month(),
                    date.day(),
                    dt.hour(),
                    dt.minute(),
                    dt.second()
                );
                out
            }
            Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            None => "1970-01-01T00:00:00.000Z".to_string(),
        }
    }
    /// The first instant of this instant's calendar month, in UTC (usage periods).
    pub fn month_start(self) -> Self {
        use chrono::Datelike;
        let Some(dt) = chrono::DateTime::from_timestamp_millis(self.0) else { return Self(0) };
        let start = chrono::NaiveDate::from_ymd_opt(dt.year(), dt.month(), 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        start.map_or(Self(0), |start| Self(start.and_utc().timestamp_millis()))
    }
    /// True while `self` (an expiry) lies strictly after `now`.
    pub fn is_after(self, now: Timestamp) -> bool {
        self.0 > now.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_iso())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_iso_with_millis() {
        assert_eq!(Timestamp(1_772_150_401_000).to_iso(), "2026-02-27T00:00:01.000Z");
        assert_eq!(Timestamp(5).to_iso(), "1970-01-01T00:00:00.005Z");
        assert_eq!(Timestamp(-1).to_iso(), "1969-12-31T23:59:59.999Z");
        for millis in [0, 999, 86_399_999, 951_782_400_123, 4_102_444_799_999, -62_167_219_200_000, 253_402_300_800_000]
        {
            let strftime = chrono::DateTime::from_timestamp_millis(millis).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ");
            assert_eq!(Timestamp(millis).to_iso(), strftime.to_string(), "{millis}");
        }
    }

    #[test]
    fn months_start_at_midnight_on_the_first() {
        assert_eq!(Timestamp(1_772_150_401_000).month_start().to_iso(), "2026-02-01T00:00:00.000Z");
        assert_eq!(Timestamp(1_772_150_401_000).month_start().month_start().to_iso(), "2026-02-01T00:00:00.000Z");
    }

    #[test]
    fn expiry_is_strict() {
        assert!(Timestamp(10).is_after(Timestamp(9)));
        assert!(!Timestamp(10).is_after(Timestamp(10)));
    }
}
