//! A loopback mock of a team LiteLLM proxy's `GET /key/info`, for the spend
//! display: LiteLLM keeps virtual keys only in its Postgres mode, which
//! cannot start offline here (Prisma downloads its engine binaries).
//!
//! Its answers follow LiteLLM 1.106.2's own source:
//! - the body is `info_key_fn` in
//!   `litellm/proxy/management_endpoints/key_management_endpoints.py`:
//!   `{"key": <the key asked about: the caller's own, as its hash>, "info":
//!   <the key's row without its token, plus "status">}`;
//! - the row's fields and defaults are `LiteLLM_VerificationToken` in
//!   `litellm/models/verification_token.py`; datetimes are ISO 8601 with
//!   their offset, as FastAPI encodes Prisma's timezone-aware values;
//! - a key it does not know is refused by `user_api_key_auth`
//!   (`litellm/proxy/auth/user_api_key_auth.py`) with HTTP 401 and a
//!   `ProxyException` body (`litellm/proxy/_types.py`): `{"error":
//!   {"message", "type": "auth_error", "param": "None", "code": "401"}}`,
//!   whose message quotes the key abbreviated and its hash.
//!
//! The key is read from `x-litellm-api-key`, else `Authorization`, as
//! LiteLLM does.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::Digest as _;

/// The key's row as the mock serves it.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub key_alias: Option<String>,
    pub spend: f64,
    pub max_budget: Option<f64>,
    pub budget_duration: Option<String>,
    pub budget_reset_at: Option<String>,
}

/// The running mock.
#[derive(Clone)]
pub struct MockKeyInfo {
    /// Its base URL, a team proxy's `base_url`.
    pub base: String,
    key: Arc<str>,
    row: Arc<Mutex<KeyRow>>,
    /// The credential header of every request, as `(name, value)`.
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl MockKeyInfo {
    /// Serves `/key/info` for the one virtual key `key`, whose row is `row`.
    pub fn start(key: &str, row: KeyRow) -> MockKeyInfo {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("its address"));
        let mock = MockKeyInfo {
            base,
            key: Arc::from(key),
            row: Arc::new(Mutex::new(row)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let app = axum::Router::new().route("/key/info", get(key_info)).with_state(mock.clone());
        crate::harness::serve_in_background(listener, app);
        mock
    }

    /// The credential headers received so far.
    pub fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

fn sha256_hex(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

async fn key_info(State(mock): State<MockKeyInfo>, headers: HeaderMap) -> Response {
    let credential = ["x-litellm-api-key", "authorization"]
        .into_iter()
        .find_map(|name| headers.get(name).map(|value| (name, value.to_str().unwrap_or_default().to_string())));
    if let Some((name, value)) = &credential {
        mock.seen.lock().unwrap().push((name.to_string(), value.clone()));
    }
    let key = credential.map(|(_, value)| value.strip_prefix("Bearer ").unwrap_or(&value).trim().to_string());
    let key = key.unwrap_or_default();
    if key != *mock.key {
        let abbreviated = format!("sk-...{}", &key[key.len().saturating_sub(4)..]);
        let message = format!(
            "Authentication Error, Invalid proxy server token passed. Received API Key = {abbreviated}, Key Hash \
             (Token) ={}. Unable to find token in cache or `LiteLLM_VerificationTokenTable`",
            sha256_hex(&key)
        );
        let body =
            serde_json::json!({"error": {"message": message, "type": "auth_error", "param": "None", "code": "401"}});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let row = mock.row.lock().unwrap().clone();
    let mut info = serde_json::json!({
        "key_name": format!("sk-...{}", &key[key.len().saturating_sub(4)..]),
        "key_alias": row.key_alias,
        "spend": row.spend,
        "total_spend": row.spend,
        "max_budget": row.max_budget,
        "expires": null,
        "models": [],
        "aliases": {},
        "config": {},
        "user_id": "alice@example.com",
        "team_id": "team-core",
        "agent_id": null,
        "project_id": null,
        "max_parallel_requests": null,
        "metadata": {},
        "tpm_limit": null,
        "rpm_limit": null,
        "tpd_limit": null,
        "budget_duration": row.budget_duration,
        "budget_reset_at": row.budget_reset_at,
    });
    // Split in two: one `json!` this long exceeds the macro recursion limit.
    let rest = serde_json::json!({
        "allowed_cache_controls": [],
        "allowed_routes": [],
        "key_type": null,
        "permissions": {},
        "model_spend": {},
        "model_max_budget": {},
        "budget_fallbacks": {},
        "soft_budget_cooldown": false,
        "blocked": null,
        "litellm_budget_table": null,
        "budget_id": null,
        "org_id": null,
        "created_at": "2026-11-02T09:15:00+00:00",
        "created_by": "admin",
        "updated_at": "2026-11-02T09:15:00+00:00",
        "updated_by": "admin",
        "settings_updated_at": null,
        "last_active": "2026-12-03T18:00:00+00:00",
        "object_permission_id": null,
        "object_permission": null,
        "access_group_ids": null,
        "rotation_count": 0,
        "auto_rotate": false,
        "rotation_interval": null,
        "last_rotation_at": null,
        "key_rotation_at": null,
        "router_settings": null,
        "budget_limits": null,
        "status": "active",
    });
    if let (Some(info), serde_json::Value::Object(rest)) = (info.as_object_mut(), rest) {
        info.extend(rest);
    }
    axum::Json(serde_json::json!({"key": sha256_hex(&key), "info": info})).into_response()
}
