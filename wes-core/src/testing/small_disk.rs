//! A small file system for tests of what a store does when its disk fills up.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a few MiB mounted on a fresh temporary directory, unmounted (and the
/// directory removed) when dropped: a real file system that really runs out of space
/// (`ENOSPC`), as a disk does.
///
/// Mounting needs root (or `CAP_SYS_ADMIN`); the project's test command runs as root.
pub struct SmallDisk {
    dir: PathBuf,
    filler: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `bytes` (rounded up to whole pages by the kernel).
    ///
    /// # Errors
    /// The directory cannot be created, or `mount` fails (not root: the message says so).
    pub fn mount(bytes: u64) -> io::Result<SmallDisk> {
        let base = std::env::temp_dir().join(format!(
            "wes-small-disk-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&base)?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={bytes}"))
            .arg("wes-small-disk")
            .arg(&base)
            .status()?;
        if !status.success() {
            let _ = std::fs::remove_dir(&base);
            return Err(io::Error::other(format!(
                "mount -t tmpfs on {} failed ({status}): tests of a full disk must run as root",
                base.display()
            )));
        }
        Ok(SmallDisk {
            filler: base.join("filler"),
            dir: base,
        })
    }

    /// The mounted directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Bytes free on the file system.
    pub fn available(&self) -> u64 {
        fs2::available_space(&self.dir).unwrap_or(0)
    }

    /// Takes space with a filler file until `leave` bytes are free (or as close as whole
    /// pages allow). Calling it again adjusts the filler; [`free`](Self::free) removes it.
    ///
    /// # Errors
    /// Writing the filler fails other than by running out of space.
    pub fn fill(&self, leave: u64) -> io::Result<()> {
        self.free()?;
        let take = self.available().saturating_sub(leave);
        let mut file = std::fs::File::create(&self.filler)?;
        let block = vec![0xA5u8; 64 << 10];
        let mut left = take;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            match file.write_all(&block[..n]) {
                Ok(()) => left -= n as u64,
                Err(e) if e.kind() == io::ErrorKind::StorageFull => break,
                Err(e) => return Err(e),
            }
        }
        file.sync_all()
    }

    /// Removes the filler file.
    ///
    /// # Errors
    /// Removing it fails.
    pub fn free(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.filler) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily, in case a store still holds a file open on it.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}
