//! Building charts: reading a chart directory (honouring `.helmignore`, refusing escapes),
//! linting it, writing a reproducible `.tgz` Helm accepts, and inspecting an existing archive
//! safely before it is pushed.

pub mod archive;
pub mod error;
pub mod lint;
pub mod source;

pub use archive::{
    InspectedArchive, inspect_archive, load_chart_archive, write_archive, write_package,
};
pub use error::PackageError;
pub use lint::{LintMessage, LintReport, LintSeverity, lint_chart_dir};
pub use source::{ChartFile, ChartSource, MAX_CHART_BYTES, MAX_FILE_BYTES, load_chart_dir};
