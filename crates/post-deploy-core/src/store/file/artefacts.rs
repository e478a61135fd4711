//! Whether an artefacts folder can hold a log: checked before anything is written.

use std::path::Path;

/// An artefacts folder that is a folder, or can be made one: neither it nor the nearest of
/// its ancestors that exists is anything but a folder (a symlink to one counts, a symlink to
/// nothing does not), and it is not in `/proc` or `/sys`, the kernel's own file systems
/// (`/proc/self` is another folder in every process, and none of them holds a log).
pub(super) fn check_artefacts_dir(path: &Path) -> Result<(), String> {
    for at in path.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        match fs_err::metadata(at) {
            Ok(meta) if meta.is_dir() => return outside_kernel_folders(path, at),
            Ok(_) if at == path => return Err("it is a file, not a folder".to_owned()),
            Ok(_) => {
                return Err(format!(
                    "{} is a file, so no folder can be made under it",
                    at.display()
                ));
            }
            // Not there, or under a file: the nearer ancestors say which. A symlink to
            // nothing is there, and no folder can be made through it.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                if fs_err::symlink_metadata(at).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(if at == path {
                        "it is a symbolic link to nothing, so no folder can be made there"
                            .to_owned()
                    } else {
                        format!(
                            "{} is a symbolic link to nothing, so no folder can be made under it",
                            at.display()
                        )
                    });
                }
            }
            // Unreadable (permissions): left to the create that follows, which names it.
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// Refuses an artefacts folder `path` whose nearest existing folder `existing` is, or
/// resolves to, a folder of `/proc` or `/sys`.
fn outside_kernel_folders(path: &Path, existing: &Path) -> Result<(), String> {
    let real = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_owned());
    let kernel = |p: &Path| p.starts_with("/proc") || p.starts_with("/sys");
    if kernel(path) || kernel(&real) {
        return Err(
            "it is in /proc or /sys, the kernel's own file systems, which hold no log".to_owned(),
        );
    }
    Ok(())
}
