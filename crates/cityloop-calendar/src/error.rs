//! The crate's single error type, [`CalendarError`].
//!
//! Every message names what is wrong and, where there is one, the offending
//! input (a year, a file, a date, a piece of text) so that an operator reading
//! a log line or a CLI error knows what to fix without reading the source.
//! Offending text is quoted in full up to [`MAX_QUOTED_CHARS`] characters and
//! shortened with `…` beyond that, so a megabyte of garbage input cannot
//! produce a megabyte error message.

use chrono::NaiveDate;

/// How many characters of offending input an error message quotes.
pub const MAX_QUOTED_CHARS: usize = 80;

/// Everything that can go wrong in this crate. No function of the crate panics
/// on any input; each failure is one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// A computation needed a date in a year whose official calendar is not
    /// loaded. The crate never guesses a year's holidays.
    #[error(
        "no official calendar loaded for {year}: load data/holiday-cn/{year}.json when the State Council publishes it"
    )]
    YearNotPublished {
        /// The year that is missing.
        year: i32,
    },

    /// A holiday-cn file is not JSON, or not of the expected shape
    /// (`{"year": …, "days": [{"name", "date", "isOffDay"}, …]}`).
    #[error("holiday-cn file {file}{}: not valid holiday-cn JSON: {detail}", year_note(*.year))]
    InvalidJson {
        /// The file's label (its path, or `input #N` when no name was given).
        file: String,
        /// The file's `year` field when it could be read.
        year: Option<i32>,
        /// What the JSON parser objected to.
        detail: String,
    },

    /// A holiday-cn file's `year` is outside the range this crate supports.
    #[error(
        "holiday-cn file {file}: year {year} is outside the supported range {}–{}",
        crate::calendar::MIN_YEAR,
        crate::calendar::MAX_YEAR
    )]
    UnsupportedYear {
        /// The file's label.
        file: String,
        /// The year as written in the file.
        year: i64,
    },

    /// A day's `date` is not a calendar date written as `YYYY-MM-DD`.
    #[error(
        "holiday-cn file {file} (year {year}): day #{index} has date \"{date}\", which is not a calendar date written YYYY-MM-DD"
    )]
    InvalidDate {
        /// The file's label.
        file: String,
        /// The file's year.
        year: i32,
        /// 1-based position of the day in the file's `days` array.
        index: usize,
        /// The offending text (possibly shortened).
        date: String,
    },

    /// A day's date is neither in the file's year nor in a neighbouring year.
    /// (Neighbouring years are accepted: the 2023 file lists 2022-12-31, the
    /// first day of the 2023 New Year holiday.)
    #[error(
        "holiday-cn file {file} (year {year}): date {date} is neither in {year} nor in a neighbouring year"
    )]
    DateOutsideYear {
        /// The file's label.
        file: String,
        /// The file's year.
        year: i32,
        /// The offending date.
        date: NaiveDate,
    },

    /// The same year was given twice.
    #[error("the official calendar for {year} was given twice (again in holiday-cn file {file})")]
    DuplicateYear {
        /// The duplicated year.
        year: i32,
        /// The label of the second file giving it.
        file: String,
    },

    /// One date is listed both as an off day and as a make-up working day
    /// (within one file or across two files).
    #[error(
        "{date} is listed both as an off day and as a make-up working day (second listing in holiday-cn file {file})"
    )]
    ConflictingDay {
        /// The date listed inconsistently.
        date: NaiveDate,
        /// The label of the file with the second listing.
        file: String,
    },

    /// Working hours text (or periods) that [`crate::Shifts`] rejects.
    #[error("invalid working hours \"{text}\": {reason}")]
    InvalidShifts {
        /// The offending text (possibly shortened).
        text: String,
        /// What is wrong, naming the offending part.
        reason: String,
    },

    /// Limit text (or a [`crate::Limit`] value) that cannot be used.
    #[error("invalid time limit \"{text}\": {reason}")]
    InvalidLimit {
        /// The offending text (possibly shortened).
        text: String,
        /// What is wrong.
        reason: String,
    },

    /// A result would fall outside the dates this crate represents
    /// (years 1–9999 for natural limits).
    #[error("{what} is outside the supported date range")]
    OutOfRange {
        /// What overflowed.
        what: String,
    },

    /// A working-time search stepped through more days than
    /// [`crate::MAX_SEARCH_DAYS`] without finishing. Only reachable with
    /// calendars covering a century or more of consecutive years.
    #[error(
        "gave up looking for the due instant after searching {days} days ahead; the limit is too long"
    )]
    SearchLimitExceeded {
        /// The number of days searched.
        days: u32,
    },
}

fn year_note(year: Option<i32>) -> String {
    match year {
        Some(y) => format!(" (year {y})"),
        None => String::new(),
    }
}

/// Quotes at most [`MAX_QUOTED_CHARS`] characters of `text`, marking a cut
/// with `…`.
pub(crate) fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX_QUOTED_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_not_published_message_tells_what_to_load() {
        let e = CalendarError::YearNotPublished { year: 2027 };
        assert_eq!(
            e.to_string(),
            "no official calendar loaded for 2027: load data/holiday-cn/2027.json when the State Council publishes it"
        );
    }

    #[test]
    fn excerpt_shortens_long_text_on_char_boundaries() {
        let long = "节".repeat(200);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("5x"), "5x");
    }
}
