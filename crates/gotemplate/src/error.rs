//! Errors of parsing and executing templates. Messages are worded like Go's `text/template`
//! (`template: NAME:LINE:COL: executing "NAME" at <NODE>: …`), which charts' users recognise.

/// A template error; `Display` is the full Go-style message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not a valid template (`template: NAME:LINE: …`).
    #[error("{0}")]
    Parse(String),
    /// Execution failed (`template: NAME:LINE:COL: executing "NAME" at <…>: …`).
    #[error("{0}")]
    Exec(String),
    /// An unknown `Option()` string.
    #[error("{0}")]
    Option(String),
}
