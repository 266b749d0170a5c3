//! The Claude Code page as the desktop app serves it (`DesktopService`, the
//! calls behind the window's commands), over a real gateway the app's
//! supervisor runs: each warning with its fix, the fix applied through the
//! diff preview, and a project's own settings once it is picked.
//!
//! One test per file: it points this process's environment at the sandbox
//! before any thread starts.

use std::path::Path;

use gatehouse::claude_code::preview::{self, SettingsChange};
use gatehouse::claude_code::warnings::{FixActionKind, WarningKind};
use gatehouse::desktop::service::DesktopService;
use gatehouse::supervisor::{GatewayState, SupervisorOptions};
use gatehouse_e2e::harness::{Sandbox, gatehouse_bin, wait_for};
use gatehouse_e2e::sign_in;
use gatehouse_e2e::webdriver::{StopGateway, free_port};

fn kinds(warnings: &[gatehouse::claude_code::warnings::Warning]) -> Vec<WarningKind> {
    warnings.iter().map(|w| w.kind).collect()
}

/// The gateway key a settings file holds, read as Claude Code reads it.
fn local_key(settings: &Path) -> String {
    let document: serde_json::Value = serde_json::from_slice(&std::fs::read(settings).unwrap()).unwrap();
    let headers = document["env"]["ANTHROPIC_CUSTOM_HEADERS"].as_str().unwrap().to_string();
    headers.strip_prefix("x-gatehouse-key: ").unwrap().to_string()
}

fn gateway_key(settings: &Path) -> Option<String> {
    let text = std::fs::read_to_string(settings).ok()?;
    text.lines().find(|line| line.contains("x-gatehouse-key")).map(str::to_string)
}

#[test]
fn the_claude_code_page_gives_each_warning_its_fix_and_applies_it_through_the_preview() {
    let sandbox = Sandbox::new();
    let port = free_port();
    std::fs::create_dir_all(sandbox.gatehouse_home()).unwrap();
    std::fs::write(
        sandbox.config_file(),
        format!(
            "[gateway]\nport = {port}\n\n[anthropic]\nbase_url = \"http://127.0.0.1:9\"\n\n[supervisor]\ngatehouse_bin = {:?}\n",
            gatehouse_bin()
        ),
    )
    .unwrap();
    // SAFETY: no other thread runs yet.
    unsafe { sign_in::isolate_this_process(&sandbox) };
    let _gateway = StopGateway(sandbox.gatehouse_home().join("state").join("gateway.json"));
    let service = DesktopService::new(SupervisorOptions::under(&sandbox.gatehouse_home())).expect("desktop service");
    let user_settings = sandbox.claude_dir().join("settings.json");
    std::fs::write(&user_settings, "{\n  \"model\": \"opus\"\n}\n").unwrap();

    // The app has no project of its own: only the managed and user settings.
    let page = service.claude_code_scopes(None).expect("the page");
    assert_eq!(page.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>(), ["managed", "user"]);
    assert_eq!(kinds(&page.warnings), [WarningKind::NotConfigured], "{:#?}", page.warnings);
    let fix = page.warnings[0].fix.action.as_ref().expect("a button");
    assert_eq!(fix.kind, FixActionKind::ConfigureUser);
    // Its button needs the gateway: the preview says so rather than failing silently.
    let error = service.claude_code_preview(SettingsChange::Configure, None).unwrap_err();
    assert!(error.to_string().contains("start it first"), "{error}");

    service.set_proxy(true).expect("starting the gateway");
    let url = format!("http://127.0.0.1:{port}");
    wait_for("the gateway to run", 60, || {
        matches!(service.snapshot().gateway, GatewayState::Running { .. }).then_some(())
    });

    // The fix: the diff first, nothing written; then apply writes it.
    let preview = service.claude_code_preview(SettingsChange::Configure, None).expect("the preview");
    assert!(preview.diff.contains(&format!("+    \"ANTHROPIC_BASE_URL\": \"{url}\"")), "{}", preview.diff);
    assert!(preview.diff.contains("+    \"CLAUDE_CODE_GATEWAY_HINT_HEADERS\": \"1\""), "{}", preview.diff);
    assert_eq!(gateway_key(&user_settings), None, "a preview writes nothing");
    service.claude_code_apply(SettingsChange::Configure, None).expect("apply");
    let page = service.claude_code_scopes(None).unwrap();
    assert!(page.configured && page.warnings.is_empty(), "{:#?}", page.warnings);
    let key = gateway_key(&user_settings).expect("configured");

    // A stale address (an earlier port): configure again, through the preview, with the same key.
    let text = std::fs::read_to_string(&user_settings).unwrap();
    std::fs::write(&user_settings, text.replace(&url, "http://127.0.0.1:9")).unwrap();
    let page = service.claude_code_scopes(None).unwrap();
    assert_eq!(kinds(&page.warnings), [WarningKind::StaleGateway], "{:#?}", page.warnings);
    assert!(page.warnings[0].message.contains(&url), "{:?}", page.warnings[0]);
    assert_eq!(page.warnings[0].fix.action.as_ref().map(|a| a.kind), Some(FixActionKind::ConfigureUser));
    // The Overview shows the same warning, with its fix.
    assert_eq!(service.snapshot().claude_code.warnings, page.warnings);
    let preview = service.claude_code_preview(SettingsChange::Configure, None).unwrap();
    assert!(preview.diff.contains("-    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:9\""), "{}", preview.diff);
    let secret = key.split("x-gatehouse-key: ").nth(1).unwrap().trim_end_matches(['"', ',']);
    assert!(!preview.diff.contains(secret), "the key is never shown");
    service.claude_code_apply(SettingsChange::Configure, None).unwrap();
    assert!(service.claude_code_scopes(None).unwrap().warnings.is_empty());
    assert_eq!(gateway_key(&user_settings), Some(key), "the key is kept");

    // A project Claude Code was used in, whose committed settings send it around the gateway.
    let project = sandbox.project_dir();
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::write(
        project.join(".claude/settings.json"),
        r#"{"env": {"ANTHROPIC_BASE_URL": "https://llm.corp.example"}}"#,
    )
    .unwrap();
    let transcripts = sandbox.claude_dir().join("projects").join("-project");
    std::fs::create_dir_all(&transcripts).unwrap();
    let line = serde_json::json!({"type": "user", "cwd": project});
    std::fs::write(transcripts.join("3f2b-session.jsonl"), format!("{line}\n")).unwrap();
    let page = service.claude_code_scopes(None).unwrap();
    let project_name = project.display().to_string();
    assert_eq!(page.projects, std::slice::from_ref(&project_name));
    assert!(page.warnings.is_empty(), "the project's files are not the app's: {:#?}", page.warnings);
    let page = service.claude_code_scopes(Some(&project_name)).unwrap();
    assert_eq!(page.project.as_deref(), Some(project_name.as_str()));
    assert_eq!(
        page.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>(),
        ["managed", "local", "project", "user"]
    );
    assert!(!page.configured, "in that project Claude Code does not use the gateway");
    assert_eq!(kinds(&page.warnings), [WarningKind::Overridden], "{:#?}", page.warnings);
    let warning = &page.warnings[0];
    assert_eq!(warning.scope.as_deref(), Some("project"));
    assert_eq!(warning.key.as_deref(), Some("env.ANTHROPIC_BASE_URL"));
    assert_eq!(warning.fix.command.as_deref(), Some("gatehouse claude configure --scope local"));
    // Gatehouse does not edit the committed file; it offers the project's local settings, which win over it.
    assert_eq!(warning.fix.action.as_ref().map(|a| a.kind), Some(FixActionKind::ConfigureLocal));
    assert_eq!(
        page.scopes.iter().filter(|s| s.can_configure).map(|s| s.scope.as_str()).collect::<Vec<_>>(),
        ["local", "user"]
    );
    // "Open the file" opens the warning's file, and no other.
    let committed = project.join(".claude/settings.json");
    assert_eq!(service.claude_settings_file(warning.path.as_deref().unwrap()).unwrap(), committed);
    assert_eq!(service.claude_settings_file(&user_settings.display().to_string()).unwrap(), user_settings);
    for other in [sandbox.config_file(), project.join(".claude/settings.local.json"), project.join("settings.json")] {
        assert!(service.claude_settings_file(&other.display().to_string()).is_err(), "{}", other.display());
    }
    let error = service.claude_code_scopes(Some("relative/dir")).unwrap_err();
    assert!(error.to_string().contains("not a project folder"), "{error}");

    // Switch the project onto Gatehouse: its local settings, previewed, then applied.
    let local = project.join(".claude/settings.local.json");
    let preview = service.claude_code_preview(SettingsChange::Configure, Some(&project_name)).unwrap();
    assert_eq!((preview.scope.as_str(), preview.path.as_str()), ("local", local.to_str().unwrap()));
    assert_eq!(preview.before, None, "the file is created");
    assert!(preview.diff.contains(&format!("+    \"ANTHROPIC_BASE_URL\": \"{url}\"")), "{}", preview.diff);
    assert!(preview.diff.contains(preview::HIDDEN_KEY), "{}", preview.diff);
    service.claude_code_apply(SettingsChange::Configure, Some(&project_name)).unwrap();
    assert_eq!(
        std::fs::read_to_string(&local).unwrap(),
        preview.after.clone().unwrap().replace(preview::HIDDEN_KEY, &local_key(&local))
    );
    let page = service.claude_code_scopes(Some(&project_name)).unwrap();
    assert!(page.configured && page.warnings.is_empty(), "{:#?}", page.warnings);
    assert_eq!(page.effective_base_url.as_deref(), Some(url.as_str()));
    // The app keeps that file as it keeps the user settings (fail-open, quit).
    let app_state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.gatehouse_home().join("state/app.json")).unwrap()).unwrap();
    assert!(
        app_state["claude_code"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"scope": "local", "project_dir": project})),
        "{app_state:#}"
    );
    let error = service.claude_code_preview(SettingsChange::Remove, Some("relative/dir")).unwrap_err();
    assert!(error.to_string().contains("not a project folder"), "{error}");

    // Quitting restores Claude Code, the project's local settings too, and stops the gateway.
    service.quit().expect("quit");
    assert_eq!(gateway_key(&user_settings), None);
    assert!(!local.exists(), "configure created it, so restoring deletes it");
}
