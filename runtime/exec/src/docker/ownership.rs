//! Whose files these are: the host user a container runs as, the private `/tmp` folder made for
//! it, and handing files back after a container that ran as root.
//!
//! Handing back is `chown -R uid:gid` plus `chmod u+rwX` over the data folder and the private
//! `/tmp`, done from the host (berth runs as root where root containers are allowed; without
//! CAP_CHOWN the hand-back fails with a clear error rather than leaving files silently
//! unreadable). The walk never follows symbolic links — a container may plant a link to any host
//! path — and changes the owner of the link itself.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown};
use std::path::Path;

use anyhow::{Context, Result};
use tempfile::TempDir;

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

/// Creates the private folder mounted at the container's `/tmp`, under `parent` (default: the
/// system temp folder). It belongs to `run_user` when the container runs as that user; for a
/// container that keeps the image's user (root or not) it is world-writable with the sticky bit,
/// like a real `/tmp`.
pub(super) fn private_tmp(parent: Option<&Path>, run_user: Option<HostUser>) -> Result<TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("berth-docker-tmp-");
    let dir = match parent {
        Some(parent) => builder.tempdir_in(parent),
        None => builder.tempdir(),
    }
    .context("creating the container's private /tmp folder")?;
    match run_user {
        Some(user) if user != HostUser::current() => {
            lchown(dir.path(), Some(user.uid), Some(user.gid)).with_context(|| {
                format!("giving {} to {}", dir.path().display(), user.docker_user())
            })?;
        }
        Some(_) => {}
        None => fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777))
            .with_context(|| format!("opening {} to the container", dir.path().display()))?,
    }
    Ok(dir)
}

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

fn hand_back_entry(path: &Path, user: HostUser) -> Result<()> {
    let meta = fs::symlink_metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if (meta.uid(), meta.gid()) != (user.uid, user.gid) {
        lchown(path, Some(user.uid), Some(user.gid))
            .with_context(|| format!("chown {}", path.display()))?;
    }
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    let wanted = if meta.is_dir() || mode & 0o111 != 0 {
        mode | 0o700
    } else {
        mode | 0o600
    };
    if wanted != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(wanted))
            .with_context(|| format!("chmod {}", path.display()))?;
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
            hand_back_entry(&entry?.path(), user)?;
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
