//! What version 1 counted per line in the file's `Counter` (the collector's metrics and the
//! per-file summary read them by these names).

/// Counts of one file (or batch), by version 1's counter names ([`Counters::pairs`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Keys the field table does not know, kept under `imperva.waf.extensions`.
    pub unknown_key: u64,
    /// Values that do not convert (and XFF chains with bad members, zoned addresses, bad W3C
    /// dates/times), kept under `imperva.waf.invalid`.
    pub invalid_value: u64,
    /// `act` values outside the known set.
    pub unknown_action: u64,
    /// Records of another vendor or product than Imperva's.
    pub foreign_product: u64,
    /// Lines that were not valid UTF-8.
    pub warning_non_utf8: u64,
    /// Lines holding control characters.
    pub warning_control_chars: u64,
    /// Lines over `max_line_bytes`, decoded from their head.
    pub warning_long_line: u64,
    /// Lines holding a second record (a lost line break, CR-only line endings).
    pub warning_merged_records: u64,
    /// Events mapped by [`super::map_line`].
    pub events: u64,
    /// Of those, security events.
    pub security_events: u64,
}

impl Counters {
    /// Every counter with version 1's name, zero ones included.
    pub fn pairs(&self) -> [(&'static str, u64); 10] {
        [
            ("unknown_key", self.unknown_key),
            ("invalid_value", self.invalid_value),
            ("unknown_action", self.unknown_action),
            ("foreign_product", self.foreign_product),
            ("warning_non_utf8", self.warning_non_utf8),
            ("warning_control_chars", self.warning_control_chars),
            ("warning_long_line", self.warning_long_line),
            ("warning_merged_records", self.warning_merged_records),
            ("events", self.events),
            ("security_events", self.security_events),
        ]
    }

    /// Add `other`'s counts to these.
    pub fn add(&mut self, other: &Counters) {
        self.unknown_key += other.unknown_key;
        self.invalid_value += other.invalid_value;
        self.unknown_action += other.unknown_action;
        self.foreign_product += other.foreign_product;
        self.warning_non_utf8 += other.warning_non_utf8;
        self.warning_control_chars += other.warning_control_chars;
        self.warning_long_line += other.warning_long_line;
        self.warning_merged_records += other.warning_merged_records;
        self.events += other.events;
        self.security_events += other.security_events;
    }
}
