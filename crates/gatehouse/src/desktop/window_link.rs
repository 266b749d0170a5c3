//! The link between the tray app and its window process.
//!
//! The dashboard's window runs in a process of its own, which the tray app
//! starts when the window opens and which ends when it closes: WebKit's
//! libraries and helper processes then leave with it, and the tray app
//! stays small all day. Everything the window does still happens in the tray
//! app, which owns the gateway's supervisor: the window process forwards
//! each IPC call there and gets the answer back, and the tray app sends it
//! the events its pages follow.
//!
//! The two talk over the window process's stdin and stdout, one JSON
//! message per line. When the tray app ends, the window's stdin closes and
//! the window ends too; when the window ends, the tray app reads the end of
//! its stdout. The tray app writes through an [`Outbox`], so a window that
//! stops reading never blocks it.
//!
//! Answers and events cross as JSON text ([`Json`]): the window process
//! hands them to its page as they came, without building them into values
//! and writing them out again. (A month's spend by session is thousands of
//! rows; parsing it into a tree took the window process 14 MiB.)

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

/// A JSON value kept as its text.
pub type Json = Box<RawValue>;

/// What a call gets back: the command's answer, or the error the page shows.
pub type Answer = Result<Json, Value>;

/// What the window process sends the tray app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FromWindow {
    /// An IPC call of the page: the command's name and its arguments, as
    /// the page passed them.
    Call { id: u64, command: String, args: Value },
}

/// What the tray app sends the window process. (Tagged by the variant's
/// name as the key, not by a `kind` field: serde reads [`Json`] text only
/// where it can parse the message as it goes.)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToWindow {
    /// The answer to call `id`.
    Reply { id: u64, result: Answer },
    /// An event for the page (`state`, `ledger`, `import-progress`, …).
    Event { name: String, payload: Json },
    /// Bring the window to the front, on `panel` when one is named.
    Show { panel: Option<String> },
}

/// In the window process: takes stdout for the messages to the tray app,
/// and points this process's stdout at stderr, so that nothing else it or
/// its WebKit processes print can fall between two messages. The returned
/// file is not inherited by the processes it starts.
pub fn take_stdout_for_messages() -> std::io::Result<std::fs::File> {
    use std::os::fd::AsFd as _;
    let messages = std::io::stdout().as_fd().try_clone_to_owned()?;
    // SAFETY: dup2 on two descriptors this process holds open; stdout's
    // buffered writer is flushed first and only ever used after as stderr.
    std::io::Write::flush(&mut std::io::stdout())?;
    if unsafe { libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(std::fs::File::from(messages))
}

/// Writes one message as one line and flushes it.
pub fn send<T: Serialize>(writer: &mut impl Write, message: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    writer.write_all(&line)?;
    writer.flush()
}

/// Events the window has not read yet beyond which further events are
/// dropped: a window this far behind is hung, and the next `state` event
/// after it recovers says everything again.
pub const MAX_QUEUED_EVENTS: usize = 256;

/// The tray app's side of the window's stdin: messages are written by a
/// thread of their own, so a window that stops reading (hung, stopped in a
/// debugger) never blocks the tray app. Events queue up to
/// [`MAX_QUEUED_EVENTS`] and are dropped beyond; answers and `show` are
/// always kept, since the page waits for each (and there are only as many
/// answers as the window asked for). Dropping every clone ends the thread,
/// which closes the window's stdin: the window then ends.
#[derive(Clone)]
pub struct Outbox {
    messages: mpsc::Sender<ToWindow>,
    queued_events: Arc<AtomicUsize>,
}

impl Outbox {
    /// Starts the writer thread on `writer` (the window process's stdin).
    pub fn start(mut writer: impl Write + Send + 'static) -> std::io::Result<Outbox> {
        let (messages, queue) = mpsc::channel::<ToWindow>();
        let queued_events = Arc::new(AtomicUsize::new(0));
        std::thread::Builder::new().name("window-outbox".into()).spawn({
            let queued_events = Arc::clone(&queued_events);
            move || {
                for message in queue {
                    if matches!(message, ToWindow::Event { .. }) {
                        queued_events.fetch_sub(1, Ordering::Relaxed);
                    }
                    if let Err(error) = send(&mut writer, &message) {
                        // The window has ended; its reader notices too.
                        tracing::debug!("cannot reach the window: {error}");
                        return;
                    }
                }
            }
        })?;
        Ok(Outbox { messages, queued_events })
    }

    /// Queues `message`; never blocks. Returns whether it was queued: false
    /// for an event beyond [`MAX_QUEUED_EVENTS`], or once the window ended.
    pub fn send(&self, message: ToWindow) -> bool {
        let event = matches!(message, ToWindow::Event { .. });
        if event && self.queued_events.fetch_add(1, Ordering::Relaxed) >= MAX_QUEUED_EVENTS {
            self.queued_events.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        let queued = self.messages.send(message).is_ok();
        if event && !queued {
            self.queued_events.fetch_sub(1, Ordering::Relaxed);
        }
        queued
    }
}

/// Reads messages, one per line, until the other side ends; a line that is
/// not a message is skipped, with `on_bad_line` told why.
pub fn receive<T: for<'de> Deserialize<'de>>(
    reader: impl BufRead,
    mut on_message: impl FnMut(T),
    mut on_bad_line: impl FnMut(String),
) {
    for line in reader.lines() {
        let Ok(line) = line else { return };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(message) => on_message(message),
            Err(error) => on_bad_line(format!("not a window message ({error}): {:.200}", line)),
        }
    }
}

/// The window process's calls waiting for their answers.
#[derive(Default)]
pub struct PendingCalls {
    next_id: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
    /// Set once the tray app has gone: later calls fail at once.
    closed: Mutex<bool>,
}

/// The message a call gets when the tray app is gone.
pub const APP_GONE: &str = "the Gatehouse app has quit, so the window can no longer act: start Gatehouse again";

impl PendingCalls {
    /// Registers a call; returns the message to send and where its answer
    /// will arrive.
    pub fn start(&self, command: &str, args: Value) -> (FromWindow, oneshot::Receiver<Answer>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        if *self.closed.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = answer.send(Err(Value::String(APP_GONE.to_string())));
        } else {
            self.waiting.lock().unwrap_or_else(|e| e.into_inner()).insert(id, answer);
        }
        (FromWindow::Call { id, command: command.to_string(), args }, answered)
    }

    /// Delivers an answer; one for no waiting call is ignored.
    pub fn answer(&self, id: u64, result: Answer) {
        if let Some(waiting) = self.waiting.lock().unwrap_or_else(|e| e.into_inner()).remove(&id) {
            let _ = waiting.send(result);
        }
    }

    /// The tray app has gone: every waiting call, and every later one,
    /// fails with [`APP_GONE`].
    pub fn close(&self) {
        *self.closed.lock().unwrap_or_else(|e| e.into_inner()) = true;
        for (_, waiting) in self.waiting.lock().unwrap_or_else(|e| e.into_inner()).drain() {
            let _ = waiting.send(Err(Value::String(APP_GONE.to_string())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use serde_json::value::to_raw_value;

    fn raw(value: Value) -> Json {
        to_raw_value(&value).unwrap()
    }

    /// Messages as text, to compare them (JSON text has no equality).
    fn texts(messages: &[ToWindow]) -> Vec<String> {
        messages.iter().map(|m| serde_json::to_string(m).unwrap()).collect()
    }

    fn answer_text(answer: Answer) -> Result<String, Value> {
        answer.map(|json| json.get().to_string())
    }

    #[test]
    fn messages_cross_as_one_json_line_each_and_bad_lines_are_skipped() {
        let sent = vec![
            ToWindow::Event { name: "state".into(), payload: raw(json!({"a": "line\nbreak"})) },
            ToWindow::Reply { id: 7, result: Err(json!("no")) },
            ToWindow::Reply { id: 8, result: Ok(raw(json!([{"b": 1}]))) },
            ToWindow::Show { panel: Some("spend".into()) },
        ];
        let mut wire: Vec<u8> = Vec::new();
        for (at, message) in sent.iter().enumerate() {
            send(&mut wire, message).unwrap();
            if at == 1 {
                wire.extend_from_slice(b"garbage\n\n");
            }
        }
        assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 6);

        let (mut got, mut bad) = (Vec::new(), Vec::new());
        receive::<ToWindow>(wire.as_slice(), |m| got.push(m), |why| bad.push(why));
        assert_eq!(texts(&got), texts(&sent));
        assert_eq!(bad.len(), 1);
        assert!(bad[0].contains("garbage"), "{bad:?}");
    }

    #[test]
    fn a_window_that_stops_reading_never_blocks_the_app_and_still_gets_its_answers() {
        // The window's stdin, which nobody reads until the end: a real pipe,
        // which fills at its kernel buffer (64 KiB here).
        let (reader, writer) = std::io::pipe().unwrap();
        let outbox = Outbox::start(writer).unwrap();
        let big = raw(json!("x".repeat(4096)));
        let event = move || ToWindow::Event { name: "state".into(), payload: big.clone() };
        // Far more than the pipe holds: every send returns (a blocking one
        // would hang this thread, and the test with it).
        let (done, finished) = std::sync::mpsc::channel();
        let sender = std::thread::spawn({
            let outbox = outbox.clone();
            move || {
                let queued = (0..2000).filter(|_| outbox.send(event())).count();
                let answered = outbox.send(ToWindow::Reply { id: 1, result: Ok(raw(json!("answer"))) });
                done.send((queued, answered)).unwrap();
            }
        });
        let (queued, answered) = finished.recv_timeout(std::time::Duration::from_secs(60)).expect("the sends returned");
        sender.join().unwrap();
        assert!(answered, "an answer is never dropped");
        // The writer thread took some into the pipe; the rest waited, up to the bound.
        assert!((MAX_QUEUED_EVENTS..2000).contains(&queued), "{queued} events queued");
        // The window reads again: it gets the events that were kept, in order, then its answer.
        drop(outbox);
        let mut got = Vec::new();
        receive::<ToWindow>(std::io::BufReader::new(reader), |m| got.push(m), |why| panic!("{why}"));
        assert_eq!(got.len(), queued + 1);
        assert_eq!(texts(&got[queued..]), texts(&[ToWindow::Reply { id: 1, result: Ok(raw(json!("answer"))) }]));
    }

    #[test]
    fn each_answer_reaches_its_own_call_and_a_gone_app_fails_every_call() {
        let calls = PendingCalls::default();
        let (first, mut first_answer) = calls.start("get_state", json!({}));
        let (second, mut second_answer) = calls.start("set_proxy", json!({"enabled": true}));
        let (FromWindow::Call { id: first_id, .. }, FromWindow::Call { id: second_id, command, args }) =
            (first, second);
        assert_ne!(first_id, second_id);
        assert_eq!((command.as_str(), args), ("set_proxy", json!({"enabled": true})));

        calls.answer(second_id, Ok(raw(json!(null))));
        calls.answer(999, Ok(raw(json!("nobody asked"))));
        assert_eq!(answer_text(second_answer.try_recv().unwrap()), Ok("null".to_string()));
        assert!(first_answer.try_recv().is_err(), "not answered yet");

        calls.close();
        assert_eq!(answer_text(first_answer.try_recv().unwrap()), Err(json!(APP_GONE)));
        let (_, mut late) = calls.start("get_state", json!({}));
        assert_eq!(answer_text(late.try_recv().unwrap()), Err(json!(APP_GONE)));
    }

    #[test]
    fn an_answer_reaches_the_window_as_the_app_wrote_it() {
        // Text a parse and a rewrite would change: spacing, a float's
        // spelling, an integer beyond f64, the order of keys.
        let text = r#"{"z": 1.50, "a": [18446744073709551615, 1e3], "s": "\u00e9\n"}"#;
        let reply = ToWindow::Reply { id: 3, result: Ok(RawValue::from_string(text.to_string()).unwrap()) };
        let mut wire: Vec<u8> = Vec::new();
        send(&mut wire, &reply).unwrap();
        let mut got = Vec::new();
        receive::<ToWindow>(wire.as_slice(), |m| got.push(m), |why| panic!("{why}"));
        let [ToWindow::Reply { id: 3, result: Ok(json) }] = got.as_slice() else {
            panic!("{}", texts(&got).join("\n"))
        };
        assert_eq!(json.get(), text);
    }
}
