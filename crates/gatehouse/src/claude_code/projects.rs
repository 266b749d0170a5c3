//! The projects Claude Code was used in, most recent first: the folders
//! whose project and local settings the Claude Code page can show.
//!
//! Claude Code keeps each session's transcript under
//! `<claude config dir>/projects/<cwd with separators replaced>/<session>.jsonl`.
//! The folder name is lossy (`/` and `.` both become `-`), so the project's
//! directory is read from the `cwd` of the newest transcript's lines, as the
//! ledger's project resolver does. Projects whose directory no longer exists
//! are left out.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// At most this many projects are listed.
pub(crate) const MAX_PROJECTS: usize = 50;
/// Lines of a transcript read to find its `cwd`.
const LINES_READ: usize = 200;

/// The directories Claude Code worked in, most recently used first.
pub(crate) fn recent(claude_dir: &Path) -> Vec<PathBuf> {
    let Ok(folders) = std::fs::read_dir(claude_dir.join("projects")) else {
        return Vec::new();
    };
    let mut found: Vec<(SystemTime, PathBuf)> =
        folders.flatten().filter_map(|folder| newest_transcript(&folder.path())).collect();
    found.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    let mut projects: Vec<PathBuf> = Vec::new();
    for (_, transcript) in found {
        if projects.len() == MAX_PROJECTS {
            break;
        }
        if let Some(dir) = cwd_of(&transcript).map(PathBuf::from).filter(|dir| dir.is_absolute() && dir.is_dir())
            && !projects.contains(&dir)
        {
            projects.push(dir);
        }
    }
    projects
}

/// A folder's most recently written transcript, and when.
fn newest_transcript(folder: &Path) -> Option<(SystemTime, PathBuf)> {
    std::fs::read_dir(folder)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .filter_map(|path| Some((std::fs::metadata(&path).ok()?.modified().ok()?, path)))
        .max()
}

/// The `cwd` a transcript's lines carry.
fn cwd_of(transcript: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Line {
        cwd: Option<String>,
    }
    let file = std::fs::File::open(transcript).ok()?;
    std::io::BufReader::new(file)
        .lines()
        .take(LINES_READ)
        .map_while(Result::ok)
        .find_map(|line| serde_json::from_str::<Line>(&line).ok().and_then(|line| line.cwd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript(claude_dir: &Path, folder: &str, session: &str, cwd: &Path, age_secs: u64) {
        let folder = claude_dir.join("projects").join(folder);
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join(format!("{session}.jsonl"));
        let line = serde_json::json!({"type": "user", "cwd": cwd}).to_string();
        std::fs::write(&file, format!("{{\"type\":\"summary\"}}\n{line}\n")).unwrap();
        let when = SystemTime::now() - std::time::Duration::from_secs(age_secs);
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(when).unwrap();
    }

    #[test]
    fn lists_the_existing_project_directories_most_recent_first() {
        let claude = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let (old, new, dotted) = (work.path().join("old"), work.path().join("new"), work.path().join("my.app"));
        for dir in [&old, &new, &dotted] {
            std::fs::create_dir_all(dir).unwrap();
        }
        transcript(claude.path(), "-old", "a", &old, 3000);
        transcript(claude.path(), "-new", "b", &new, 10);
        // The folder name is lossy: the directory comes from the transcript.
        transcript(claude.path(), "-my-app", "c", &dotted, 2000);
        // A second session of the same project in another folder is listed once.
        transcript(claude.path(), "-new-again", "d", &new, 100);
        transcript(claude.path(), "-gone", "e", &work.path().join("gone"), 5);
        std::fs::write(claude.path().join("projects").join("-old").join("notes.txt"), "not a transcript").unwrap();

        assert_eq!(recent(claude.path()), vec![new, dotted, old]);
        assert!(recent(&claude.path().join("nothing")).is_empty(), "no projects folder: no projects");
    }
}
