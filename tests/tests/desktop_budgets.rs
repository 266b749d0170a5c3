//! Budgets as the desktop app shows them (`DesktopService` over a real
//! gateway its supervisor runs, with a paid Anthropic upstream's mock): a
//! notification once a budget is 80% spent and once it is used up, each
//! once, and a tray line for a budget that is mostly spent.
//!
//! One test per file: it points this process's environment at the sandbox
//! before any thread starts.

use std::time::Duration;

use gatehouse::desktop::menu::{Entry, tray_model};
use gatehouse_e2e::desktop_app::{SupervisedApp, next_notice};
use gatehouse_e2e::harness::Sandbox;
use gatehouse_e2e::mock_anthropic::MockAnthropic;
use gatehouse_e2e::sign_in;

#[test]
fn a_budget_is_notified_at_80_and_100_percent_once_each_and_shows_in_the_tray() {
    let sandbox = Sandbox::new();
    // SAFETY: no other thread runs yet. The supervised gateway inherits the paid key's variable.
    unsafe {
        sign_in::isolate_this_process(&sandbox);
        std::env::set_var("GATEHOUSE_TEST_PAID_KEY", "sk-ant-api03-FAKE-desktop-budget-key");
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let paid = runtime.block_on(MockAnthropic::start()).expect("mock");
    // One mock reply costs $0.005772 at Haiku 4.5's prices: 88% of $0.0065.
    let extra = format!(
        "[[upstreams]]\nname = \"paid\"\nkind = \"anthropic\"\nbase_url = {:?}\nsecret = \"env:GATEHOUSE_TEST_PAID_KEY\"\n\n\
         [[routes]]\nmodels = \"*\"\nupstreams = [\"paid\"]\n\n[[budgets]]\nupstream = \"paid\"\ndaily_usd = 0.0065\n",
        paid.base_url()
    );
    let (app, mut notices) = SupervisedApp::start(&sandbox, &paid.base_url(), "", &extra);
    let service = &app.service;
    let request = || app.subscription_request(&runtime, "sk-ant-oat01-FAKE-e2e-budget-0123456789").status().as_u16();

    assert_eq!(request(), 200);
    let nearly = next_notice(&mut notices, 30);
    assert_eq!(nearly.title, "80% of paid's daily budget used");
    assert!(nearly.body.starts_with("$0.0058 of $0.0065 spent today."), "{}", nearly.body);
    let tray = tray_model(&service.snapshot());
    let line = tray.entries.iter().find_map(|entry| match entry {
        Entry::Info { label } if label.contains("budget") => Some(label.clone()),
        _ => None,
    });
    assert_eq!(line.as_deref(), Some("paid's daily budget: $0.0058 of $0.0065"));

    assert_eq!(request(), 200, "the budget was not used up yet");
    let used_up = next_notice(&mut notices, 30);
    assert_eq!(used_up.title, "paid's daily budget is used up");
    assert!(used_up.body.contains("requests pass over paid"), "{}", used_up.body);
    assert_eq!(request(), 429);
    std::thread::sleep(Duration::from_secs(3)); // refreshes that would repeat them
    assert!(notices.try_recv().is_err(), "each was notified once");
    assert_eq!(paid.requests().len(), 2);
    service.set_proxy(false).expect("stopping the gateway");
    drop(runtime);
}
