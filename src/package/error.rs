//! Errors from reading, linting, packaging and inspecting charts. Each names the file or field.

/// Why a chart directory or archive was refused.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{path}: Chart.yaml is missing; a chart directory must contain Chart.yaml")]
    MissingChartYaml { path: String },
    #[error("{path}: {message}")]
    InvalidChartYaml { path: String, message: String },
    #[error("{path}: symbolic link points outside the chart ({target}); copy the file in instead")]
    SymlinkEscape { path: String, target: String },
    #[error("{path}: symbolic links to directories are not supported; copy the directory in")]
    SymlinkDirectory { path: String },
    #[error("{path}: {what} is {size} bytes, above the {limit}-byte limit")]
    TooLarge {
        path: String,
        what: String,
        size: u64,
        limit: u64,
    },
    #[error("{path}: {message}")]
    Ignore { path: String, message: String },
    #[error("{path}: {message}")]
    Archive { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl PackageError {
    pub(crate) fn io(path: impl AsRef<std::path::Path>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.as_ref().display().to_string();
        move |source| Self::Io { path, source }
    }
}
