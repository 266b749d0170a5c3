//! The subscription window notifications as the desktop app raises them
//! (`DesktopService::watch` and its notices), over a real gateway the app's
//! supervisor runs, against the mock upstream's unified headers: a window
//! crossing 80%, used up (the 429 of a full window, with its reset), then
//! reset (the next window's reading), each notified once.
//!
//! One test per file: it points this process's environment at the sandbox
//! before any thread starts.

use std::time::{Duration, Instant};

use gatehouse::desktop::notice::Notice;
use gatehouse_e2e::desktop_app::SupervisedApp;
use gatehouse_e2e::harness::{Sandbox, wait_for};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};
use gatehouse_e2e::sign_in;
use tokio::sync::broadcast;

/// The notices that arrive within `seconds`, until one is titled `title`.
fn notices_until(notices: &mut broadcast::Receiver<Notice>, title: &str, seconds: u64) -> Vec<Notice> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match notices.try_recv() {
            Ok(notice) => {
                let done = notice.title == title;
                seen.push(notice);
                if done {
                    return seen;
                }
            }
            Err(broadcast::error::TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => panic!("the notices ended: {error}"),
        }
    }
    panic!("no notice {title:?} within {seconds} s; saw {seen:?}");
}

fn titles(notices: &[Notice]) -> Vec<&str> {
    notices.iter().map(|n| n.title.as_str()).collect()
}

#[test]
fn window_notifications_cross_use_up_and_reset_once_each() {
    let sandbox = Sandbox::new();
    unsafe { sign_in::isolate_this_process(&sandbox) };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockAnthropic::start()).expect("mock");
    mock.set_five_hour(0.70, 0.0);
    let (app, mut notices) = SupervisedApp::start(&sandbox, &mock.base_url(), "", "");
    let service = &app.service;
    let request = || app.subscription_request(&runtime, "sk-ant-oat01-FAKE-e2e-alerts-0123456789").status().as_u16();
    // The 5-hour window as the app shows it.
    let five_hour = || {
        let windows = service.snapshot().windows;
        windows.iter().find(|w| w.name == "5h").and_then(|w| w.window.utilization)
    };

    assert_eq!(request(), 200);
    wait_for("the 5-hour window at 70%", 30, || (five_hour() == Some(0.70)).then_some(()));
    mock.set_five_hour(0.86, 0.0);
    assert_eq!(request(), 200);
    let seen = notices_until(&mut notices, "5-hour window at 80%", 30);
    assert_eq!(titles(&seen), ["5-hour window at 80%"], "nothing before it");
    assert!(seen[0].body.starts_with("5-hour window: 86%"), "{:?}", seen[0]);
    assert_eq!(request(), 200);

    // The window is full: Anthropic answers 429, with the window rejected.
    mock.push(Scenario::RateLimited);
    assert_eq!(request(), 429);
    let seen = notices_until(&mut notices, "5-hour window used up", 30);
    assert_eq!(titles(&seen), ["5-hour window used up"], "the 80% crossing was not notified again");
    assert!(seen[0].body.contains("rejected until "), "the used-up notice says when it resets: {:?}", seen[0]);

    // Five hours on: the next window's first reading.
    mock.start_next_five_hour_window(0.02);
    assert_eq!(request(), 200);
    let seen = notices_until(&mut notices, "Your 5-hour window reset", 30);
    assert_eq!(titles(&seen), ["Your 5-hour window reset"]);
    assert_eq!(request(), 200);
    std::thread::sleep(Duration::from_secs(3)); // refreshes that repeat it
    assert!(notices.try_recv().is_err(), "each was notified once");
    service.set_proxy(false).expect("stopping the gateway");
    drop(runtime);
}
