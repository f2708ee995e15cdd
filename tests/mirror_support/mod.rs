//! Helpers of `tests/mirror.rs` (kept beside it so the test file holds the stories only).

pub mod repo;
pub mod server;
