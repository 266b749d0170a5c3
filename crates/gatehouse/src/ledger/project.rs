//! Which project directory a Claude Code session works in.
//!
//! Claude Code writes the transcript of session S to
//! `<claude config dir>/projects/<cwd with separators replaced>/S.jsonl`,
//! and its lines carry the real `cwd`. The folder name alone is lossy (both
//! `/` and `.` become `-`), so the `cwd` is read from the file.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;

/// Resolves session ids to project directories, remembering what it found.
pub struct ProjectResolver {
    projects_dir: PathBuf,
    known: HashMap<String, String>,
}

/// The result of one lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Found before; nothing new.
    Known(String),
    /// Found for the first time: earlier rows of the session can be filled in.
    Found(String),
    NotFound,
}

impl ProjectResolver {
    pub fn new(claude_config_dir: PathBuf) -> ProjectResolver {
        ProjectResolver { projects_dir: claude_config_dir.join("projects"), known: HashMap::new() }
    }

    pub fn resolve(&mut self, session_id: &str) -> Resolution {
        if let Some(project) = self.known.get(session_id) {
            return Resolution::Known(project.clone());
        }
        // The id comes from the client: never let it name a path outside.
        if session_id.is_empty() || !session_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Resolution::NotFound;
        }
        match self.find_cwd(session_id) {
            Some(cwd) => {
                self.known.insert(session_id.to_string(), cwd.clone());
                Resolution::Found(cwd)
            }
            None => Resolution::NotFound,
        }
    }

    fn find_cwd(&self, session_id: &str) -> Option<String> {
        let file_name = format!("{session_id}.jsonl");
        for entry in std::fs::read_dir(&self.projects_dir).ok()?.flatten() {
            let transcript = entry.path().join(&file_name);
            let Ok(file) = std::fs::File::open(&transcript) else { continue };
            for line in std::io::BufReader::new(file).lines().take(200) {
                let Ok(line) = line else { break };
                #[derive(serde::Deserialize)]
                struct Line {
                    cwd: Option<String>,
                }
                if let Ok(Line { cwd: Some(cwd) }) = serde_json::from_str::<Line>(&line) {
                    return Some(cwd);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cwd_in_transcript() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("projects").join("-home-me-my-app");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join("abc-123.jsonl"),
            "{\"type\":\"summary\"}\n{\"type\":\"user\",\"cwd\":\"/home/me/my.app\"}\n",
        )
        .unwrap();
        let mut resolver = ProjectResolver::new(dir.path().to_path_buf());
        assert_eq!(resolver.resolve("abc-123"), Resolution::Found("/home/me/my.app".into()));
        assert_eq!(resolver.resolve("abc-123"), Resolution::Known("/home/me/my.app".into()));
        assert_eq!(resolver.resolve("nope"), Resolution::NotFound);
        assert_eq!(resolver.resolve("../../etc/passwd"), Resolution::NotFound);
    }
}
