//! The gateway's output: a rotating file, and the last lines in memory.
//!
//! The gateway's stdout and stderr are the log file itself (opened for
//! appending), not pipes to the app. So a gateway left running after the app
//! quits, or one adopted from an earlier run, keeps logging, and can never
//! block or die on a full or broken pipe. The supervisor tails the file
//! into an in-memory ring for the UI and writes its own lines ("restarting
//! in 2 s") into the same file, so both read as one story.
//!
//! Rotation is copy-then-truncate, because the gateway keeps its file
//! descriptor: with `O_APPEND` its next write lands at the start of the
//! emptied file. Lines written in the instant between the copy and the
//! truncation are lost; that is the usual price of this scheme and is
//! preferable to restarting the gateway to rotate.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

/// How many lines the UI can ask for.
pub const RING_LINES: usize = 500;
/// Rotate once the file is larger than this.
const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// Rotated files kept: `gateway.log.1` (newest) to `gateway.log.3`.
const KEEP_FILES: u32 = 3;
/// A line longer than this is cut, so output without newlines cannot grow memory.
const MAX_LINE_BYTES: usize = 16 * 1024;
/// How much of an existing file is read at start to fill the ring.
const PRELOAD_BYTES: u64 = 128 * 1024;

/// The last lines of the gateway's log; cheap to clone and to read from any thread.
#[derive(Debug, Clone, Default)]
pub struct LogRing(Arc<Mutex<VecDeque<String>>>);

impl LogRing {
    /// The last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let lines = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        lines.iter().skip(lines.len().saturating_sub(n)).cloned().collect()
    }

    fn push(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line).trim_end_matches('\r').to_string();
        let mut lines = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if lines.len() == RING_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }
}

/// `gateway.log` in the log directory, and the supervisor's reading position in it.
#[derive(Debug)]
pub struct GatewayLog {
    path: PathBuf,
    ring: LogRing,
    /// How far the file has been read into the ring.
    offset: u64,
    /// The start of a line whose end has not been written yet.
    partial: Vec<u8>,
}

impl GatewayLog {
    /// Opens (creating if needed) the log in `log_dir` and fills the ring
    /// with the end of what earlier runs wrote.
    pub fn open(log_dir: &Path) -> io::Result<GatewayLog> {
        crate::fs_atomic::create_private_dir(log_dir)?;
        let path = log_dir.join("gateway.log");
        let file = open_append(&path)?;
        let len = file.metadata()?.len();
        let start = len.saturating_sub(PRELOAD_BYTES);
        let mut log = GatewayLog { path, ring: LogRing::default(), offset: start, partial: Vec::new() };
        log.read_from(file, start > 0)?;
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn ring(&self) -> LogRing {
        self.ring.clone()
    }

    /// Standard output and error for a new gateway process: the log file.
    pub fn child_stdio(&self) -> io::Result<(Stdio, Stdio)> {
        let file = open_append(&self.path)?;
        Ok((Stdio::from(file.try_clone()?), Stdio::from(file)))
    }

    /// Writes one of the supervisor's own lines. Logging must never stop the
    /// supervisor, so a failed write only keeps the line in memory.
    pub fn note(&mut self, message: &str) {
        let line = format!("{:.3} supervisor: {message}\n", jiff::Timestamp::now());
        let written = open_append(&self.path).and_then(|mut file| io::Write::write_all(&mut file, line.as_bytes()));
        if written.is_err() || self.poll().is_err() {
            self.ring.push(line.trim_end().as_bytes());
        }
    }

    /// Reads what the gateway wrote since the last call into the ring, and
    /// rotates the file when it has grown too large.
    pub fn poll(&mut self) -> io::Result<()> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            // Someone deleted the log: the next gateway start creates it again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        if len == self.offset {
            // The common case, several times a second: nothing new.
            return Ok(());
        }
        if len < self.offset {
            // Truncated by someone else: read it from the start.
            self.offset = 0;
            self.partial.clear();
        }
        self.read_from(file, false)?;
        if self.offset > MAX_FILE_BYTES {
            self.rotate()?;
        }
        Ok(())
    }

    /// Reads from `self.offset` to the end of `file`, pushing whole lines.
    /// With `skip_first`, the first (probably cut) line is dropped.
    fn read_from(&mut self, mut file: File, mut skip_first: bool) -> io::Result<()> {
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                return Ok(());
            }
            self.offset += read as u64;
            let mut rest = &buffer[..read];
            while let Some(end) = memchr::memchr(b'\n', rest) {
                self.partial.extend_from_slice(&rest[..end]);
                if !std::mem::take(&mut skip_first) {
                    self.ring.push(&self.partial);
                }
                self.partial.clear();
                rest = &rest[end + 1..];
            }
            self.partial.extend_from_slice(rest);
            if self.partial.len() > MAX_LINE_BYTES {
                self.ring.push(&self.partial);
                self.partial.clear();
            }
        }
    }

    /// `gateway.log` → `.1` → `.2` … (copy, then truncate in place).
    fn rotate(&mut self) -> io::Result<()> {
        let numbered = |n: u32| self.path.with_extension(format!("log.{n}"));
        for n in (1..KEEP_FILES).rev() {
            match fs::rename(numbered(n), numbered(n + 1)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        fs::copy(&self.path, numbered(1))?;
        OpenOptions::new().write(true).open(&self.path)?.set_len(0)?;
        self.offset = 0;
        self.partial.clear();
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).create(true).read(true).mode(crate::fs_atomic::PRIVATE_FILE_MODE).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn tails_the_file_and_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = GatewayLog::open(dir.path()).unwrap();
        let mut file = open_append(log.path()).unwrap();
        for i in 0..RING_LINES + 10 {
            writeln!(file, "line {i}").unwrap();
        }
        write!(file, "half").unwrap();
        log.poll().unwrap();
        let tail = log.ring().tail(2);
        assert_eq!(tail, [format!("line {}", RING_LINES + 8), format!("line {}", RING_LINES + 9)]);
        assert_eq!(log.ring().tail(usize::MAX).len(), RING_LINES);
        writeln!(file, " done").unwrap();
        log.note("restarting");
        let tail = log.ring().tail(2);
        assert_eq!(tail[0], "half done");
        assert!(tail[1].ends_with(" supervisor: restarting"), "{tail:?}");
    }

    #[test]
    fn reopening_preloads_the_end_of_earlier_runs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gateway.log"), "one\ntwo\n").unwrap();
        let log = GatewayLog::open(dir.path()).unwrap();
        assert_eq!(log.ring().tail(5), ["one", "two"]);
    }

    #[test]
    fn rotates_while_the_writer_keeps_its_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = GatewayLog::open(dir.path()).unwrap();
        let mut writer = open_append(log.path()).unwrap();
        let line = "x".repeat(1023);
        for _ in 0..(MAX_FILE_BYTES / 1024 + 1) {
            writeln!(writer, "{line}").unwrap();
        }
        log.poll().unwrap();
        assert_eq!(std::fs::metadata(log.path()).unwrap().len(), 0);
        assert!(std::fs::metadata(dir.path().join("gateway.log.1")).unwrap().len() > MAX_FILE_BYTES);
        writeln!(writer, "after").unwrap();
        log.poll().unwrap();
        assert_eq!(std::fs::read_to_string(log.path()).unwrap(), "after\n");
        assert_eq!(log.ring().tail(1), ["after"]);
    }
}
