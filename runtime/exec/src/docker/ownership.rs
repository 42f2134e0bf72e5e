//! Whose files these are: the host user a container runs as, and handing files over to it before
//! a run (berth runs as root, the container must not) and back after a root container.
//!
//! Handing back is `chown -R uid:gid` plus `chmod u+rwX` over the data folder and the private
//! `/tmp`, done from the host (berth runs as root where root containers are allowed; without
//! CAP_CHOWN the hand-back fails with a clear error rather than leaving files silently
//! unreadable). The walk never follows symbolic links — a container may plant a link to any host
//! path — and changes the owner of the link itself. It is iterative and refuses folders nested
//! deeper than [`MAX_HANDBACK_DEPTH`], so a container cannot exhaust the host's stack with a deep
//! tree.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// A host uid:gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostUser {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl HostUser {
    /// The user berth runs as (real uid and gid, as `id -u` / `id -g` print them).
    pub fn current() -> Self {
        Self {
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
        }
    }

    /// The `uid:gid` form Docker's `User` field takes.
    pub fn docker_user(&self) -> String {
        format!("{}:{}", self.uid, self.gid)
    }
}

/// The deepest folder nesting handed back; deeper is an error (nothing honest nests so deep).
pub(super) const MAX_HANDBACK_DEPTH: usize = 1024;

/// Gives everything under `root` (and `root` itself) to `user`, with the owner's read and write
/// bits set and the execute bit on folders (`chown -R` + `chmod -R u+rwX`).
pub(super) fn hand_back(root: &Path, user: HostUser) -> Result<()> {
    hand_back_entry(root, user).with_context(|| {
        format!(
            "handing the files under {} back to {} after a root container \
             (berth needs root or CAP_CHOWN for components that run as root)",
            root.display(),
            user.docker_user()
        )
    })
}

fn hand_back_entry(root: &Path, user: HostUser) -> Result<()> {
    let mut pending = vec![(root.to_path_buf(), 0usize)];
    while let Some((path, depth)) = pending.pop() {
        let meta =
            fs::symlink_metadata(&path).with_context(|| format!("reading {}", path.display()))?;
        if (meta.uid(), meta.gid()) != (user.uid, user.gid) {
            lchown(&path, Some(user.uid), Some(user.gid))
                .with_context(|| format!("chown {}", path.display()))?;
        }
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode();
        let wanted = if meta.is_dir() || mode & 0o111 != 0 {
            mode | 0o700
        } else {
            mode | 0o600
        };
        if wanted != mode {
            fs::set_permissions(&path, fs::Permissions::from_mode(wanted))
                .with_context(|| format!("chmod {}", path.display()))?;
        }
        if meta.is_dir() {
            if depth >= MAX_HANDBACK_DEPTH {
                bail!(
                    "{} is nested deeper than {MAX_HANDBACK_DEPTH} folders",
                    path.display()
                );
            }
            for entry in
                fs::read_dir(&path).with_context(|| format!("listing {}", path.display()))?
            {
                pending.push((entry?.path(), depth + 1));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_back_sets_owner_bits_and_leaves_links_alone() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join("f"), b"x").unwrap();
        fs::set_permissions(sub.join("f"), fs::Permissions::from_mode(0o044)).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", sub.join("link")).unwrap();
        let me = HostUser::current();
        hand_back(dir.path(), me).unwrap();
        let f = fs::metadata(sub.join("f")).unwrap();
        assert_eq!(f.permissions().mode() & 0o777, 0o644);
        assert_eq!((f.uid(), f.gid()), (me.uid, me.gid));
        assert!(
            fs::symlink_metadata(sub.join("link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
