//! A directory of its own for each test, removed when dropped. Written here rather than taken
//! from `tempfile`, whose `std` features (rustix, bitflags, fastrand) would give the tests a
//! second build of half the server's dependency tree.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct TempDir {
    path: PathBuf,
}

/// A new empty directory under the system's temp dir, named `{prefix}{unique}`.
pub fn tempdir_in_tmp(prefix: &str) -> TempDir {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}{}-{nanos:x}-{n}", std::process::id());
        let path = std::env::temp_dir().join(name);
        match std::fs::create_dir(&path) {
            Ok(()) => return TempDir { path },
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot make a temp dir at {}: {e}", path.display()),
        }
    }
}

/// A new empty directory for one test.
pub fn tempdir() -> TempDir {
    tempdir_in_tmp("hybrid-chat-test-")
}

impl TempDir {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the directory and its files after the value is gone (logs to read later).
    pub fn keep(self) -> PathBuf {
        let path = self.path.clone();
        std::mem::forget(self);
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_is_new_and_goes_when_dropped() {
        let (a, b) = (tempdir(), tempdir());
        assert_ne!(a.path(), b.path());
        std::fs::write(a.path().join("f"), "x").expect("write");
        let gone = a.path().to_path_buf();
        drop(a);
        assert!(!gone.exists());
        let kept = b.keep();
        assert!(kept.is_dir());
        std::fs::remove_dir(kept).expect("still there");
    }
}
