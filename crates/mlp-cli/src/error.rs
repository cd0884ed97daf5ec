//! The CLI's error type and its exit codes.

use crate::train::Divergence;
use std::path::PathBuf;
use thiserror::Error;

/// Everything a command can fail with. Each maps to an exit code: 2 for a usage or input error
/// (the user can fix the command line or the file), 1 for a runtime failure, 3 when `predict`
/// classified some images but not all, 130 for an interruption.
#[derive(Debug, Error)]
pub enum CliError {
    /// A command-line value that does not make sense.
    #[error("{0}")]
    Usage(String),
    /// A data file or directory that cannot be read as a data set.
    #[error(transparent)]
    Data(#[from] mlp_data::DataError),
    /// A network that cannot be built or run with the given values.
    #[error(transparent)]
    Model(#[from] mlp_core::MlpError),
    /// A model or checkpoint file that cannot be loaded.
    #[error("{path}: {reason}")]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An input file that cannot be read, or an output directory that cannot be created: the
    /// user can fix the path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file that cannot be written once the work has started (a full disk, a directory removed
    /// under the run): a runtime failure, not a mistake in the command.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Any other failure at run time that no change of the command would fix.
    #[error("{0}")]
    Runtime(String),
    /// Training diverged.
    #[error(transparent)]
    Diverged(#[from] Divergence),
    /// The gradient check found a discrepancy above its threshold.
    #[error("gradient check failed: {0}")]
    GradCheckFailed(String),
    /// Some of the images given to `predict` could not be classified (each was reported; the
    /// others were classified).
    #[error("{failed} of {total} images could not be classified")]
    SomeImagesFailed {
        /// Images that failed.
        failed: usize,
        /// Images given.
        total: usize,
    },
    /// The run was interrupted (Ctrl-C); what was finished has been saved.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Data(_) | Self::Model(_) | Self::ModelFile { .. } => 2,
            Self::Io { .. } => 2,
            Self::Write { .. } | Self::Runtime(_) => 1,
            Self::Diverged(_) | Self::GradCheckFailed(_) => 1,
            Self::SomeImagesFailed { .. } => 3,
            Self::Interrupted(_) => 130,
        }
    }

    /// A closure wrapping an `io::Error` with the path at fault.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    /// A closure wrapping an `io::Error` met while writing `path` once the work has started.
    pub fn write(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Write { path, source }
    }
}

/// The result type of the CLI.
pub type Result<T> = std::result::Result<T, CliError>;
