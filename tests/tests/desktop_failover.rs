//! Failing over as the desktop app shows it (`DesktopService` over a real
//! gateway its supervisor runs, with the subscription's mock and a paid
//! Anthropic upstream's): the tray says requests fail over and why, and a
//! notification says so once when it begins and once when the subscription
//! serves again. The tray's "Test connection" lists both upstreams, and
//! testing the paid one asks it with its own key.
//!
//! One test per file: it points this process's environment at the sandbox
//! before any thread starts.

use std::time::Duration;

use gatehouse::desktop::menu::{Entry, tray_model};
use gatehouse::upstream_test::Verdict;
use gatehouse_e2e::desktop_app::{SupervisedApp, next_notice};
use gatehouse_e2e::harness::Sandbox;
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};
use gatehouse_e2e::sign_in;

#[test]
fn failing_over_shows_in_the_tray_and_is_notified_when_it_begins_and_ends() {
    let sandbox = Sandbox::new();
    // SAFETY: no other thread runs yet. The supervised gateway inherits the paid key's variable.
    unsafe {
        sign_in::isolate_this_process(&sandbox);
        std::env::set_var("GATEHOUSE_TEST_PAID_KEY", "sk-ant-api03-FAKE-desktop-failover-key");
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let subscription = runtime.block_on(MockAnthropic::start()).expect("mock");
    let paid = runtime.block_on(MockAnthropic::start()).expect("mock");
    let extra = format!(
        "[[upstreams]]\nname = \"paid\"\nkind = \"anthropic\"\nbase_url = {:?}\nsecret = \"env:GATEHOUSE_TEST_PAID_KEY\"\n",
        paid.base_url()
    );
    let (app, mut notices) =
        SupervisedApp::start(&sandbox, &subscription.base_url(), "failover_cooldown_secs = 1\n", &extra);
    let service = &app.service;

    // "Test connection", as the tray's submenu and the Settings page run it: one item per upstream,
    // and the paid one asked with its own key.
    let tray = tray_model(&service.snapshot());
    let items = tray.entries.iter().find_map(|entry| match entry {
        Entry::Submenu { label, items } if label == "Test connection" => {
            Some(items.iter().map(|item| (item.id(), item.label.clone())).collect::<Vec<_>>())
        }
        _ => None,
    });
    assert_eq!(
        items.unwrap(),
        [
            ("test_upstream:anthropic".to_string(), "anthropic (subscription)".to_string()),
            ("test_upstream:paid".to_string(), "paid (anthropic)".to_string())
        ]
    );
    let tested = service.test_upstream("paid").unwrap();
    assert_eq!(tested.verdict, Verdict::Ok, "{tested:?}");
    assert!(tested.message.contains("its key (env:GATEHOUSE_TEST_PAID_KEY) is accepted"), "{}", tested.message);
    let asked = paid.requests().pop().unwrap();
    assert_eq!(asked.path_and_query, "/v1/models");
    assert_eq!(asked.header("x-api-key"), Some(&b"sk-ant-api03-FAKE-desktop-failover-key"[..]));
    assert!(service.test_upstream("nope").unwrap_err().to_string().contains("no upstream is called \"nope\""));

    let request = || {
        let response = app.subscription_request(&runtime, "sk-ant-oat01-FAKE-e2e-failover-0123456789");
        (response.status().as_u16(), response.headers()["x-gatehouse-upstream"].to_str().unwrap().to_string())
    };
    assert_eq!(request(), (200, "anthropic".to_string()));

    // Overloaded: the paid key serves, the tray says so, and one notification does.
    subscription.push(Scenario::Overloaded);
    assert_eq!(request(), (200, "paid".to_string()));
    let begun = next_notice(&mut notices, 30);
    assert_eq!(begun.title, "Claude Code now uses paid instead of the subscription");
    assert!(begun.body.contains("anthropic: is overloaded (529)"), "{}", begun.body);
    let tray = tray_model(&service.snapshot());
    let line = tray.entries.iter().find_map(|entry| match entry {
        Entry::Info { label } if label.starts_with("Failing over") => Some(label.clone()),
        _ => None,
    });
    assert_eq!(line.as_deref(), Some("Failing over to paid: anthropic: is overloaded (529)"));

    // After the 1 s rest the subscription is tried first again, and serves: one "back" notification.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(request(), (200, "anthropic".to_string()));
    let ended = next_notice(&mut notices, 30);
    assert_eq!(ended.title, "Back on the subscription");
    assert_eq!(request(), (200, "anthropic".to_string()));
    std::thread::sleep(Duration::from_secs(3)); // refreshes that would repeat it
    assert!(notices.try_recv().is_err(), "each was notified once");
    assert!(service.snapshot().failover.is_none());
    service.set_proxy(false).expect("stopping the gateway");
    drop(runtime);
}
