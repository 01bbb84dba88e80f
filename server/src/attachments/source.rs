//! A file read where it lies: the sniffer and the metadata walkers ask for a few bytes at a
//! time at any offset, so a picture on disk is told apart and planned without being read whole.

use std::os::unix::fs::FileExt;

/// Bytes at offsets: a slice in memory, or a file on disk behind a small window.
pub trait Source {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` from offset `at`; `None` past the end.
    fn read(&mut self, at: usize, buf: &mut [u8]) -> Option<()>;

    fn array<const N: usize>(&mut self, at: usize) -> Option<[u8; N]> {
        let mut buf = [0u8; N];
        self.read(at, &mut buf)?;
        Some(buf)
    }

    fn byte(&mut self, at: usize) -> Option<u8> {
        self.array::<1>(at).map(|[b]| b)
    }

    fn be16(&mut self, at: usize) -> Option<u32> {
        self.array(at).map(|b| u32::from(u16::from_be_bytes(b)))
    }

    fn le16(&mut self, at: usize) -> Option<u32> {
        self.array(at).map(|b| u32::from(u16::from_le_bytes(b)))
    }

    fn le24(&mut self, at: usize) -> Option<u32> {
        self.array::<3>(at)
            .map(|s| u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
    }

    fn be32(&mut self, at: usize) -> Option<u32> {
        self.array(at).map(u32::from_be_bytes)
    }

    fn le32(&mut self, at: usize) -> Option<u32> {
        self.array(at).map(u32::from_le_bytes)
    }

    /// Whether the bytes at `at` are `expected`.
    fn is(&mut self, at: usize, expected: &[u8]) -> bool {
        let mut buf = vec![0u8; expected.len()];
        self.read(at, &mut buf).is_some() && buf == expected
    }

    /// Up to `n` bytes from `at` (fewer at the end).
    fn head(&mut self, at: usize, n: usize) -> Vec<u8> {
        let n = n.min(self.len().saturating_sub(at));
        let mut buf = vec![0u8; n];
        self.read(at, &mut buf).map_or_else(Vec::new, |()| buf)
    }
}

impl Source for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read(&mut self, at: usize, buf: &mut [u8]) -> Option<()> {
        buf.copy_from_slice(self.get(at..at.checked_add(buf.len())?)?);
        Some(())
    }
}

/// The most a [`FileSource`] holds at once.
pub const WINDOW: usize = 64 * 1024;

/// A file, read through a window of [`WINDOW`] bytes moved to wherever it is asked for.
pub struct FileSource {
    file: std::fs::File,
    len: usize,
    window: Vec<u8>,
    /// Where the window starts in the file.
    start: usize,
}

impl FileSource {
    pub fn new(file: std::fs::File, len: usize) -> Self {
        FileSource {
            file,
            len,
            window: Vec::new(),
            start: 0,
        }
    }

    pub fn into_file(self) -> std::fs::File {
        self.file
    }
}

impl Source for FileSource {
    fn len(&self) -> usize {
        self.len
    }

    fn read(&mut self, at: usize, buf: &mut [u8]) -> Option<()> {
        let end = at.checked_add(buf.len())?;
        if end > self.len {
            return None;
        }
        // Larger than the window: read straight into `buf`.
        if buf.len() > WINDOW {
            return self.file.read_exact_at(buf, at as u64).ok();
        }
        if at < self.start || end > self.start + self.window.len() {
            let n = WINDOW.min(self.len - at);
            self.window.resize(n, 0);
            self.file.read_exact_at(&mut self.window, at as u64).ok()?;
            self.start = at;
        }
        buf.copy_from_slice(&self.window[at - self.start..end - self.start]);
        Some(())
    }
}
