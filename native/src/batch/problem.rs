//! What is wrong with one line, shaped for a message, a counter and a dead-letter record
//! (DESIGN §7). File-level verdicts (container faults, checksum, not an Imperva log) are the
//! caller's: it knows the container.

/// One line's problem. `context` is what dead-letter replay needs to decode the line again
/// exactly as this read would have (JSON: file identity, name, path, format, header, W3C columns
/// and directives, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `decode` or `cut_line`.
    pub kind: &'static str,
    pub reason: String,
    pub hint: String,
    /// 1-based line in the decoded body.
    pub line: u64,
    /// Byte offset of the line in the decoded body.
    pub offset: u64,
    /// 1-based column in the line; 0 when unknown.
    pub column: usize,
    /// The line's ordinal: its resume point and its identity as a dead letter.
    pub ordinal: u64,
    /// The line's bytes (the head of a long line).
    pub raw: Vec<u8>,
    pub context: String,
}
