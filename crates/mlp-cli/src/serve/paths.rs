//! Where the explorer may read and write: ids of runs and models checked, directories scanned
//! without following symbolic links, and every path resolved inside the runs directory.

use super::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use std::path::{Path, PathBuf};

/// The longest name of a run trained from the page.
pub const MAX_NAME: usize = 64;
/// How deep under the runs directory the scan looks for runs and models.
pub const MAX_DEPTH: usize = 6;
/// How many directory entries a scan reads at most, so a huge tree cannot stall a request.
pub const MAX_ENTRIES: usize = 20_000;

/// Whether `name` is a plain name: 1 to [`MAX_NAME`] of `A-Z a-z 0-9 . _ -`, and not `.` or `..`
/// (nor anything holding `..`).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.contains("..")
        && name != "."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks an id (a run directory relative to the runs directory, components separated by `/`)
/// given in `field`: no absolute path, no `..`, plain names only.
pub fn check_id(field: &str, id: &str) -> ApiResult<()> {
    let plain = id.len() <= 512 && id.split('/').all(is_plain_name);
    if plain {
        Ok(())
    } else {
        Err(ApiError::bad(
            field,
            format!(
                "{id:?} is not an id of this server: a path relative to the runs directory, of plain \
                 names (letters, digits, `.`, `_`, `-`) separated by `/`, without `..`"
            ),
        ))
    }
}

/// The runs directory, canonical, and the ids of what it holds.
#[derive(Debug, Clone)]
pub struct RunsRoot {
    root: PathBuf,
}

impl RunsRoot {
    /// Opens (creating it if needed) the runs directory.
    pub fn open(dir: &Path) -> crate::Result<Self> {
        std::fs::create_dir_all(dir).map_err(crate::CliError::io(dir))?;
        let root = dir.canonicalize().map_err(crate::CliError::io(dir))?;
        Ok(Self { root })
    }

    /// The canonical directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The file `name` of the run directory `id` (an id checked by [`check_id`]), if it exists as
    /// a regular file inside the runs directory once every link is resolved.
    pub fn existing_file(&self, id: &str, name: &str) -> Option<PathBuf> {
        let path = self.root.join(id).join(name).canonicalize().ok()?;
        (path.starts_with(&self.root) && path.is_file()).then_some(path)
    }

    /// The directory of run `id` (checked by [`check_id`]), inside the runs directory whether or
    /// not it exists yet. Refused if a link on the way leads outside.
    pub fn dir(&self, field: &str, id: &str) -> ApiResult<PathBuf> {
        check_id(field, id)?;
        let path = self.root.join(id);
        // The deepest existing ancestor must resolve inside the root.
        let existing = path.ancestors().find(|p| p.exists()).unwrap_or(&self.root);
        let resolved = existing.canonicalize().map_err(|e| {
            ApiError::internal(format!("cannot resolve {}: {e}", existing.display()))
        })?;
        if resolved.starts_with(&self.root) {
            Ok(path)
        } else {
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                Some(field),
                format!("{id:?} leads outside the runs directory"),
            ))
        }
    }

    /// The ids of the directories holding a file named `marker`, sorted, found by a bounded walk
    /// that never follows a symbolic link and skips names that are not plain.
    pub fn ids_holding(&self, marker: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut budget = MAX_ENTRIES;
        walk(&self.root, "", 0, marker, &mut budget, &mut found);
        found.sort();
        found
    }
}

fn walk(
    dir: &Path,
    id: &str,
    depth: usize,
    marker: &str,
    budget: &mut usize,
    found: &mut Vec<String>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        // DirEntry::file_type does not follow links: a link is neither a file nor a directory here.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_file() && name == marker && !id.is_empty() {
            found.push(id.to_owned());
        } else if kind.is_dir()
            && depth < MAX_DEPTH
            && is_plain_name(name)
            && !name.starts_with('.')
        {
            let child = if id.is_empty() {
                name.to_owned()
            } else {
                format!("{id}/{name}")
            };
            walk(&entry.path(), &child, depth + 1, marker, budget, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        for good in ["run-1", "a.b_c", "X9"] {
            assert!(is_plain_name(good), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a..b",
            "a/b",
            "a\\b",
            "é",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(!is_plain_name(bad), "{bad}");
        }
        assert!(check_id("model", "search/deep-tuned/relu-e60").is_ok());
        for bad in ["/etc", "../x", "a//b", "a/../b", "a/", "C:\\x", "%2e%2e"] {
            assert_eq!(
                check_id("model", bad).unwrap_err().field.as_deref(),
                Some("model"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_scan_finds_markers_and_ignores_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("runs");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(root.join("c")).unwrap();
        std::fs::write(root.join("a/b/model.safetensors"), b"").unwrap();
        std::fs::write(root.join("c/model.safetensors"), b"").unwrap();
        std::fs::write(root.join("model.safetensors"), b"").unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("model.safetensors"), b"").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let runs = RunsRoot::open(&root).unwrap();
        assert_eq!(runs.ids_holding("model.safetensors"), ["a/b", "c"]);
        assert!(runs.existing_file("c", "model.safetensors").is_some());
        #[cfg(unix)]
        {
            assert!(runs.existing_file("link", "model.safetensors").is_none());
            assert!(runs.dir("name", "link/new").is_err());
        }
        assert!(runs.dir("name", "explorer/new").is_ok());
    }
}
