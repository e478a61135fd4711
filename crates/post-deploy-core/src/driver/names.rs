//! Names that cannot be a folder's: refused before anything is written.

use std::path::Path;

use crate::store;

/// The longest name of one folder (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// The longest path the system takes, with its closing NUL (`PATH_MAX`).
const PATH_MAX: usize = 4096;

/// Refuses an artefacts folder whose name cannot be a folder's on any file system: a NUL
/// byte, a component longer than `NAME_MAX`, or a log path longer than `PATH_MAX`.
pub(super) fn artefacts_name(path: &Path) -> Result<(), String> {
    let bytes = path.as_os_str().as_encoded_bytes();
    if bytes.contains(&0) {
        return Err("it holds a NUL byte, which no file name can".to_owned());
    }
    if let Some(long) = path
        .components()
        .map(|c| c.as_os_str().len())
        .find(|n| *n > NAME_MAX)
    {
        return Err(format!(
            "one of its folder names is {long} bytes long; a name can be at most {NAME_MAX}"
        ));
    }
    let log = bytes
        .len()
        .saturating_add(1)
        .saturating_add(store::LOG_FILE.len());
    if log >= PATH_MAX {
        return Err(format!(
            "its log's path would be {log} bytes long; a path can be at most {}",
            PATH_MAX.saturating_sub(1)
        ));
    }
    Ok(())
}
