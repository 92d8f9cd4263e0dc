//! The API and pages against a real SQLite store: happy paths and every error path a client hits.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail the test by panicking.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use peywand_store::Store;

struct App {
    router: axum::Router,
    state: peywand_web::AppState,
    store: Arc<dyn Store>,
    /// A bearer token of an information manager, sent by `call` unless the request names
    /// its own credentials.
    token: String,
    _dir: tempfile::TempDir,
}

/// Creates a user with this role (and site) and returns a bearer token for them.
async fn user_with_token(
    store: &dyn Store,
    username: &str,
    role: peywand_access::Role,
    site: Option<&str>,
    password: &str,
) -> String {
    store
        .create_user(&peywand_store::NewUser {
            username: username.into(),
            role,
            site_code: site.map(str::to_string),
            password_hash: peywand_access::hash_password(password).unwrap(),
        })
        .await
        .unwrap();
    let token = peywand_access::Secret::generate("pt_");
    store
        .create_token(&peywand_store::ApiToken {
            id: format!("token-of-{username}"),
            digest: token.digest.clone(),
            username: username.into(),
            label: "tests".into(),
            created_at: chrono::Utc::now(),
            revoked_at: None,
            expires_at: chrono::Utc::now() + chrono::Duration::days(90),
        })
        .await
        .unwrap();
    token.text
}

/// A device token for a phone of this user, as `peywand device add` makes one.
/// Karima, a caseworker at Torkham: her `Authorization` header.
async fn karima(store: &dyn Store) -> String {
    let token = user_with_token(
        store,
        "karima",
        peywand_access::Role::Caseworker,
        Some("torkham"),
        "a caseworker's passphrase",
    )
    .await;
    format!("Bearer {token}")
}

async fn device_token(store: &dyn Store, username: &str) -> String {
    let token = peywand_access::Secret::generate("pd_");
    store
        .create_token(&peywand_store::ApiToken {
            id: format!("device-of-{username}"),
            digest: token.digest.clone(),
            username: username.into(),
            label: "device: a phone".into(),
            created_at: chrono::Utc::now(),
            revoked_at: None,
            expires_at: chrono::Utc::now() + chrono::Duration::days(90),
        })
        .await
        .unwrap();
    token.text
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    app_on(store, dir).await
}

/// A new, empty registry: a file in `dir`, or with `PEYWAND_TEST_BACKEND=postgres` a database
/// of its own on the test server (scripts/test runs these tests on both).
async fn fresh_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    if std::env::var("PEYWAND_TEST_BACKEND").as_deref() == Ok("postgres") {
        let database = peywand_store_postgres::testing::TestDatabase::create()
            .await
            .expect("PEYWAND_TEST_POSTGRES names the test server");
        // The database outlives the test; the test server is thrown away after the run.
        return Arc::new(database.open().await);
    }
    let path = dir.path().join("t.db");
    Arc::new(
        peywand_store_sqlite::SqliteStore::open(path.to_str().unwrap())
            .await
            .unwrap(),
    )
}

/// Waits (at most 30 s) until a server's matching index has finished loading.
async fn index_loaded(state: &peywand_web::AppState) {
    for _ in 0..600 {
        if state.matching.status() != peywand_web::IndexStatus::Loading {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The application on `store`, once its matching index has finished loading.
async fn app_on(store: Arc<dyn Store>, dir: tempfile::TempDir) -> App {
    let token = user_with_token(
        &*store,
        "imogen",
        peywand_access::Role::InformationManager,
        None,
        "information manager's passphrase",
    )
    .await;
    let state = peywand_web::AppState::new(store.clone());
    index_loaded(&state).await;
    App {
        router: peywand_web::router(state.clone()),
        state,
        store,
        token,
        _dir: dir,
    }
}

async fn call(
    app: &App,
    method: &str,
    uri: &str,
    body: Option<&str>,
    content_type: &str,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let bearer = format!("Bearer {}", app.token);
    call_with(
        app,
        method,
        uri,
        body,
        content_type,
        &[("authorization", &bearer)],
    )
    .await
}

/// A request with exactly these extra headers (credentials included).
async fn call_with(
    app: &App,
    method: &str,
    uri: &str,
    body: Option<&str>,
    content_type: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if body.is_some() {
        req = req.header("content-type", content_type);
    }
    let resp = app
        .router
        .clone()
        .oneshot(
            req.body(Body::from(body.unwrap_or("").to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, bytes, headers)
}

async fn json_call(app: &App, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let text = body.map(|b| b.to_string());
    let (s, bytes, _) = call(app, method, uri, text.as_deref(), "application/json").await;
    (s, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A JSON call with an `Authorization` header: the status and the body as JSON (null when the
/// body is not JSON).
async fn json_with_bearer(
    app: &App,
    bearer: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let text = body.map(|b| b.to_string());
    let (s, bytes, _) = call_with(
        app,
        method,
        uri,
        text.as_deref(),
        "application/json",
        &[("authorization", bearer)],
    )
    .await;
    (s, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn household() -> Value {
    json!({
        "site_code": "torkham",
        "destination_province": "AF06",
        "return_type": "deported",
        "needs": ["shelter", "food"],
        "legal_basis": "consent",
        "purposes": ["registration", "assistance"],
        "members": [
            {"raw": {"given_name": "Abdul Ghani", "father_name": "Mohammad Nabi", "sex": "M", "age": "44"}, "relationship": "head", "vulnerabilities": []},
            {"raw": {"given_name": "ذبیح‌الله", "father_name": "Abdul Ghani", "sex": "M", "age": "12"}, "relationship": "son", "vulnerabilities": ["separated_child"]}
        ]
    })
}

#[tokio::test]
async fn health_and_openapi() {
    let app = app().await;
    let (s, v) = json_call(&app, "GET", "/api/v1/health", None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, v) = json_call(&app, "GET", "/api/v1/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/api/v1/households",
        "/api/v1/households/{id}",
        "/api/v1/persons",
        "/api/v1/persons/{id}",
        "/api/v1/sites",
        "/api/v1/health",
        "/api/v1/matching/check",
        "/api/v1/matching/explain",
    ] {
        assert!(v["paths"][path].is_object(), "openapi documents {path}");
    }
    assert!(v["components"]["schemas"]["HouseholdDraft"].is_object());
}

#[tokio::test]
async fn household_create_read_update_and_person_list() {
    let app = app().await;
    let (s, created) = json_call(&app, "POST", "/api/v1/households", Some(household())).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["household"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        created["members"][1]["vulnerabilities"][0],
        "separated_child"
    );
    assert_eq!(created["members"][1]["derived"]["given_name"], "ذبیح الله");

    let (s, read) = json_call(&app, "GET", &format!("/api/v1/households/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        read["household"]["reference"],
        created["household"]["reference"]
    );

    let mut edit = household();
    edit["needs"] = json!(["cash"]);
    edit["members"][0]["raw"]["record_id"] = created["members"][0]["record_id"].clone();
    edit["members"][1]["raw"]["record_id"] = created["members"][1]["record_id"].clone();
    let (s, updated) =
        json_call(&app, "PUT", &format!("/api/v1/households/{id}"), Some(edit)).await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["household"]["needs"], json!(["cash"]));
    assert_eq!(updated["members"][0]["id"], created["members"][0]["id"]);

    let (s, page) = json_call(&app, "GET", "/api/v1/persons?name=ghani&limit=10", None).await;
    assert_eq!(s, StatusCode::OK);
    // The name is the father's given name and the son's father's name: both are found.
    assert_eq!(page["total"], 2, "{page}");
    let head = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["relationship"] == "head")
        .unwrap();
    let pid = head["id"].as_str().unwrap();
    let (s, person) = json_call(&app, "GET", &format!("/api/v1/persons/{pid}"), None).await;
    assert_eq!(
        (s, person["raw"]["given_name"].as_str()),
        (StatusCode::OK, Some("Abdul Ghani"))
    );
}

#[tokio::test]
async fn errors_are_json_with_stable_codes() {
    let app = app().await;
    let cases: Vec<(&str, String, Option<&str>, StatusCode, &str)> = vec![
        (
            "GET",
            "/api/v1/households/not-a-uuid".into(),
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "GET",
            format!("/api/v1/households/{}", uuid::Uuid::now_v7()),
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "GET",
            format!("/api/v1/persons/{}", uuid::Uuid::now_v7()),
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            "/api/v1/households".into(),
            Some("{not json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_json",
        ),
        (
            "POST",
            "/api/v1/households".into(),
            Some(r#"{"members": []}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            "POST",
            "/api/v1/households".into(),
            Some(r#"{"members": [{"raw": {"sex": "M"}}]}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            "GET",
            "/api/v1/persons?sex=robot".into(),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            "GET",
            "/api/v1/persons?from=yesterday".into(),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            "GET",
            "/api/v1/persons?limit=-4".into(),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
    ];
    for (method, uri, body, status, code) in cases {
        let (s, bytes, _) = call(&app, method, &uri, body, "application/json").await;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(s, status, "{method} {uri}: {v}");
        assert_eq!(v["error"]["code"], code, "{method} {uri}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // A record id taken by another household is a conflict, and nothing of the new one is kept.
    let (_, first) = json_call(&app, "POST", "/api/v1/households", Some(household())).await;
    let mut clash = household();
    clash["members"][1]["raw"]["record_id"] = first["members"][0]["record_id"].clone();
    let (s, v) = json_call(&app, "POST", "/api/v1/households", Some(clash)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (_, page) = json_call(&app, "GET", "/api/v1/persons", None).await;
    assert_eq!(page["total"], 2);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = app().await;
    let big = format!(
        r#"{{"members": [{{"raw": {{"given_name": "{}"}}}}]}}"#,
        "a".repeat(peywand_web::MAX_BODY_BYTES + 10)
    );
    let (s, _, _) = call(
        &app,
        "POST",
        "/api/v1/households",
        Some(&big),
        "application/json",
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn desk_registers_a_household_through_the_form() {
    let app = app().await;
    let (s, page, headers) = call(&app, "GET", "/households/new", None, "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&page).contains("given_name_0"));
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    let form = "site=torkham&legal_basis=consent&purposes=registration&needs=food&needs=cash&given_name_0=Gul+Bibi&sex_0=F&age_0=40&relationship_0=head&vulnerability_0=female_headed_household&given_name_1=%D9%86%D8%AC%DB%8C%D8%A8&sex_1=M&relationship_1=son&given_name_2=";
    let (s, _, headers) = call(
        &app,
        "POST",
        "/households",
        Some(form),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap().to_string();
    let (s, page, _) = call(&app, "GET", &location, None, "").await;
    let page = String::from_utf8_lossy(&page);
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("Gul Bibi")
            && page.contains("نجیب")
            && page.contains("Female-headed household"),
        "{page}"
    );
    let (s, page, _) = call(&app, "GET", "/", None, "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&page).contains("Gul Bibi"));
    // A form with no named member is shown again with the reason.
    let (s, page, _) = call(
        &app,
        "POST",
        "/households",
        Some("site=torkham&legal_basis=consent"),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&page).contains("at least one member"));
    // A registrar reading Dari or Pashto is told in their language; the API keeps English.
    let bearer = format!("Bearer {}", app.token);
    for (language, reason) in [
        ("fa", "خانواده دست‌کم به یک عضو با نام نیاز دارد"),
        ("ps", "کورنۍ لږ تر لږه یو نوم لرونکي غړي ته اړتیا لري"),
    ] {
        let (s, page, _) = call_with(
            &app,
            "POST",
            "/households",
            Some("site=torkham&legal_basis=consent"),
            "application/x-www-form-urlencoded",
            &[("authorization", &bearer), ("accept-language", language)],
        )
        .await;
        let page = String::from_utf8_lossy(&page);
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.contains(reason) && !page.contains("at least one member"),
            "{page}"
        );
    }
    let (s, body, _) = call_with(
        &app,
        "POST",
        "/api/v1/households",
        Some(r#"{"members": []}"#),
        "application/json",
        &[("authorization", &bearer), ("accept-language", "fa")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&body).contains("a household needs at least one member"));
}

/// A registry of synthetic people, imported and deduplicated as `peywand dedupe` does, and the
/// rows as typed.
async fn deduplicated_registry(people: u64) -> (App, Vec<peywand_domain::RawRegistration>) {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let rows = deduplicate_into(&*store, people, &dir).await;
    (app_on(store, dir).await, rows)
}

/// Imports `people` synthetic people (written in `dir`) into `store` and saves a model learnt
/// from them, as `peywand import` and `peywand dedupe` do; returns the rows as typed.
async fn deduplicate_into(
    store: &dyn Store,
    people: u64,
    dir: &tempfile::TempDir,
) -> Vec<peywand_domain::RawRegistration> {
    use peywand_store::{ImportMessage, LinkageRun};
    peywand_synth::generate(people, 3, dir.path()).unwrap();
    let mut rows = Vec::new();
    let report = peywand_interchange::registration_csv::read(
        std::fs::File::open(dir.path().join("registry.csv")).unwrap(),
        |raw| rows.push(raw),
    );
    assert!(report.is_valid());
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let feed = rows.clone();
    let feeder = tokio::spawn(async move {
        for r in feed {
            let d = r.derive().0;
            tx.send(ImportMessage::Row(Box::new((r, d)))).await.unwrap();
        }
    });
    let actor = peywand_store::Actor {
        username: "test".into(),
        at: chrono::Utc::now(),
    };
    store.import(rx, &actor).await.unwrap();
    feeder.await.unwrap();
    let records = peywand_store::collect_match_records(store).await.unwrap();
    let ds = peywand_linkage::Dataset::build(&records);
    let run = peywand_linkage::deduplicate(&ds, &[], &peywand_linkage::Settings::default());
    store
        .save_linkage(&LinkageRun {
            identities: Vec::new(),
            review: Vec::new(),
            model: serde_json::to_string(&run.model).unwrap(),
            stats: "{}".into(),
            finished_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    rows
}

/// Two `peywand serve` processes on one PostgreSQL hub: what one desk saves is in the other
/// server's duplicate check, and meets the other server's open tracing requests, within 2 s.
#[tokio::test]
async fn two_servers_on_one_hub_see_each_others_registrations() {
    let Some(database) = peywand_store_postgres::testing::TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let first: Arc<dyn Store> = Arc::new(database.open().await);
    let rows = deduplicate_into(&*first, 1_500, &dir).await;
    let one = app_on(first, dir).await;
    // A second server on the same database: its own pool and index, the same accounts.
    let other_store: Arc<dyn Store> = Arc::new(database.open().await);
    let state = peywand_web::AppState::new(other_store.clone());
    let other = App {
        router: peywand_web::router(state.clone()),
        state,
        store: other_store,
        token: one.token.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    index_loaded(&other.state).await;
    let earlier = rows
        .iter()
        .find(|r| {
            !r.given_name.is_empty()
                && !r.father_name.is_empty()
                && !r.grandfather_name.is_empty()
                && !r.birth_date.is_empty()
        })
        .expect("a fully named registration");
    // A relative asks the other server's caseworkers for them.
    let caseworker = user_with_token(
        &*other.store,
        "karima",
        peywand_access::Role::Caseworker,
        Some("torkham"),
        "a caseworker's passphrase",
    )
    .await;
    let caseworker = format!("Bearer {caseworker}");
    let (s, case) = json_with_bearer(
        &other,
        &caseworker,
        "POST",
        "/api/v1/tracing/requests",
        Some(json!({
            "requester_name": "Bibi Hawa",
            "requester_relationship": "mother",
            "requester_contact": "",
            "sought": {"given_name": earlier.given_name, "father_name": earlier.father_name,
                       "grandfather_name": earlier.grandfather_name, "sex": earlier.sex,
                       "birth_date": earlier.birth_date},
            "last_seen_place": "Torkham",
            "circumstances": "",
            "distinguishing_details": ""
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let case_id = case["request"]["id"].as_str().unwrap().to_string();

    // They register again at the first server's desk.
    let mut again = earlier.clone();
    again.record_id = "hub-desk-1".into();
    again.household_id = String::new();
    let (s, saved) = json_call(
        &one,
        "POST",
        "/api/v1/households",
        Some(json!({"site_code": "torkham", "members": [{"raw": again}]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{saved}");

    again.record_id = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let (mut in_check, mut in_case) = (false, false);
    while std::time::Instant::now() < deadline && !(in_check && in_case) {
        let (_, report) = json_call(
            &other,
            "POST",
            "/api/v1/matching/check",
            Some(json!({"members": [again]})),
        )
        .await;
        in_check = report["members"][0]["candidates"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["record_id"] == "hub-desk-1"));
        let (_, now) = json_with_bearer(
            &other,
            &caseworker,
            "GET",
            &format!("/api/v1/tracing/requests/{case_id}"),
            None,
        )
        .await;
        in_case = now["candidates"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["record_id"] == "hub-desk-1"));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        in_check,
        "the other server's duplicate check finds the new registration"
    );
    assert!(in_case, "the other server's open request meets it");
    database.drop_database().await;
}

#[tokio::test]
async fn a_returning_person_is_found_when_the_household_is_saved_and_explained() {
    let (app, rows) = deduplicated_registry(1_500).await;
    // Someone registered earlier, with every name, comes back to another desk.
    let earlier = rows
        .iter()
        .find(|r| {
            !r.given_name.is_empty()
                && !r.father_name.is_empty()
                && !r.grandfather_name.is_empty()
                && !r.birth_date.is_empty()
        })
        .expect("a fully named registration");
    let mut again = earlier.clone();
    again.record_id = "desk-1".into();
    again.household_id = String::new();
    again.document_number = String::new();
    again.phone = String::new();
    let (s, saved) = json_call(
        &app,
        "POST",
        "/api/v1/households",
        Some(json!({"site_code": "torkham", "members": [{"raw": again}]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["matching"], "ready");
    let found = &saved["possible_duplicates"][0];
    assert_eq!(found["record_id"], "desk-1");
    let best = &found["candidates"][0];
    assert_eq!(best["record_id"].as_str(), Some(earlier.record_id.as_str()));
    assert_eq!(best["likely"], true, "{best}");
    let given = best["explanation"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "given_name")
        .expect("the given name's part is explained");
    assert!(given["weight"].as_f64().unwrap() > 0.0, "{given}");

    // The saved record is in the index at once: a third registration finds both.
    again.record_id = String::new();
    let (s, report) = json_call(
        &app,
        "POST",
        "/api/v1/matching/check",
        Some(json!({"members": [again]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let ids: Vec<&str> = report["members"][0]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["record_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"desk-1") && ids.contains(&earlier.record_id.as_str()),
        "{ids:?}"
    );

    let uri = format!("/api/v1/matching/explain?a={}&b=desk-1", earlier.record_id);
    let (s, e) = json_call(&app, "GET", &uri, None).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert!(e["probability"].as_f64().unwrap() >= 0.8, "{e}");
    let sum: f64 = e["prior"].as_f64().unwrap()
        + e["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["weight"].as_f64().unwrap())
            .sum::<f64>();
    assert!((sum - e["weight"].as_f64().unwrap()).abs() < 1e-6, "{e}");

    let (s, e) = json_call(
        &app,
        "GET",
        "/api/v1/matching/explain?a=desk-1&b=nobody",
        None,
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, e) = json_call(&app, "GET", "/api/v1/matching/explain?a=desk-1", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = json_call(
        &app,
        "POST",
        "/api/v1/matching/check",
        Some(json!({"members": []})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let long = "x".repeat(1_001);
    let (s, e) = json_call(
        &app,
        "POST",
        "/api/v1/matching/check",
        Some(json!({"members": [{"given_name": long}]})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
}

#[tokio::test]
async fn before_any_deduplication_the_desk_still_saves_and_is_told_why_there_are_no_candidates() {
    let app = app().await;
    let (s, saved) = json_call(&app, "POST", "/api/v1/households", Some(household())).await;
    assert_eq!(s, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["matching"], "no_model");
    assert_eq!(saved["possible_duplicates"][0]["candidates"], json!([]));
    let (s, e) = json_call(&app, "GET", "/api/v1/matching/explain?a=x&b=y", None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
    );
}

/// Every route in the access policy, for every role and for no one: each is allowed exactly
/// where the policy says, and refused everywhere else. Generated from the route table, so a
/// new route is walked too; and every route the API documents must have a rule.
#[tokio::test]
async fn every_route_for_every_role_follows_the_policy() {
    use peywand_access::{Permission, ROLES};
    use peywand_web::auth::RULES;
    let app = app().await;
    let mut tokens = Vec::new();
    for role in ROLES {
        let name = format!("user-{role}");
        let site = role.site_bound().then_some("torkham");
        let token = user_with_token(&*app.store, &name, role, site, "a passphrase for tests").await;
        let device = device_token(&*app.store, &name).await;
        tokens.push((role, format!("Bearer {token}"), device));
    }
    let some_id = "0190f0a0-0000-7000-8000-000000000000";
    let mut walked = 0;
    for rule in RULES {
        // Phones name their device token in the address and state the protocol's version.
        let phone = rule.path.starts_with("/openrosa/");
        let openrosa: &[(&str, &str)] = if phone {
            &[("x-openrosa-version", "1.0")]
        } else {
            &[]
        };
        let uri = rule
            .path
            .replace("{id}", some_id)
            .replace("{record_id}", "R-1")
            .replace("{form_id}", "peywand_household");
        let with_device = |device: &str| uri.replace("{token}", device);
        let uri = with_device("pd_unknown");
        let (body, content_type) = match (rule.method.as_str(), uri.starts_with("/api/")) {
            ("GET" | "DELETE", _) => (None, ""),
            (_, true) => (Some("{}"), "application/json"),
            (_, false) => (Some("site=torkham"), "application/x-www-form-urlencoded"),
        };
        let method = rule.method.as_str();
        let (status, _, headers) =
            call_with(&app, method, &uri, body, content_type, openrosa).await;
        if rule.permission == Permission::Public {
            assert!(
                status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                "{method} {uri} is public: {status}"
            );
        } else if uri.starts_with("/api/") || phone {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} without credentials"
            );
        } else {
            assert_eq!(
                status,
                StatusCode::SEE_OTHER,
                "{method} {uri} without credentials"
            );
            assert_eq!(headers["location"], "/login");
        }
        for (role, bearer, device) in &tokens {
            let (uri, credentials) = if phone {
                (with_device(device), openrosa.to_vec())
            } else {
                (uri.clone(), vec![("authorization", bearer.as_str())])
            };
            let (status, bytes, _) =
                call_with(&app, method, &uri, body, content_type, &credentials).await;
            let refused_by_role = status == StatusCode::FORBIDDEN
                && String::from_utf8_lossy(&bytes).contains("role does not give access");
            assert_eq!(
                refused_by_role,
                !role.can(rule.permission),
                "{method} {uri} as {role}: {status}"
            );
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {uri} as {role}");
            walked += 1;
        }
    }
    assert_eq!(walked, RULES.len() * ROLES.len());

    let (_, spec) = json_call(&app, "GET", "/api/v1/openapi.json", None).await;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let declared = RULES
                .iter()
                .any(|r| r.path == path && r.method.as_str().eq_ignore_ascii_case(method));
            assert!(declared, "{method} {path} has no access rule");
        }
    }
}

fn cookie_of(headers: &axum::http::HeaderMap) -> String {
    let set = headers["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn a_browser_session_needs_its_csrf_token_for_changes_and_ends_on_sign_out() {
    let app = app().await;
    let login =
        json!({"username": "imogen", "password": "information manager's passphrase"}).to_string();
    let (s, body, headers) = call_with(
        &app,
        "POST",
        "/api/v1/session",
        Some(&login),
        "application/json",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let info: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(info["role"], "information_manager");
    let csrf = info["csrf_token"].as_str().unwrap().to_string();
    let cookie = cookie_of(&headers);
    let household = household().to_string();

    let (s, _, _) = call_with(
        &app,
        "POST",
        "/api/v1/households",
        Some(&household),
        "application/json",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no CSRF token: refused");
    let (s, _, _) = call_with(
        &app,
        "POST",
        "/api/v1/households",
        Some(&household),
        "application/json",
        &[("cookie", &cookie), ("x-csrf-token", "forged")],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a wrong CSRF token: refused");
    let (s, _, _) = call_with(
        &app,
        "POST",
        "/api/v1/households",
        Some(&household),
        "application/json",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // A form carries the token as a field.
    let form =
        format!("csrf={csrf}&site=torkham&legal_basis=consent&given_name_0=Gul+Bibi&sex_0=F");
    let (s, _, _) = call_with(
        &app,
        "POST",
        "/households",
        Some(&form),
        "application/x-www-form-urlencoded",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, _) = call_with(
        &app,
        "POST",
        "/households",
        Some("site=torkham&given_name_0=Gul"),
        "application/x-www-form-urlencoded",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, _, headers) = call_with(
        &app,
        "DELETE",
        "/api/v1/session",
        None,
        "",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (s, _, _) = call_with(
        &app,
        "GET",
        "/api/v1/session",
        None,
        "",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the session ended on the server"
    );
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account_and_everything_is_audited() {
    let app = app().await;
    let auditor = user_with_token(
        &*app.store,
        "aziz",
        peywand_access::Role::Auditor,
        None,
        "the auditor's passphrase",
    )
    .await;
    let attempt = |password: &str| json!({"username": "imogen", "password": password}).to_string();
    for _ in 0..peywand_access::MAX_FAILED_LOGINS {
        let (s, body, _) = call_with(
            &app,
            "POST",
            "/api/v1/session",
            Some(&attempt("guess")),
            "application/json",
            &[],
        )
        .await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    let (s, body, _) = call_with(
        &app,
        "POST",
        "/api/v1/session",
        Some(&attempt("information manager's passphrase")),
        "application/json",
        &[],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "locked from this address even with the right password"
    );
    assert!(String::from_utf8_lossy(&body).contains("locked"));
    let (s, body, _) = call_with(
        &app,
        "POST",
        "/api/v1/session",
        Some(&json!({"username": "nobody", "password": "x"}).to_string()),
        "application/json",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        String::from_utf8_lossy(&body).contains("wrong username or password"),
        "the same words for an unknown user"
    );

    let (s, _) = json_call(&app, "POST", "/api/v1/households", Some(household())).await;
    assert_eq!(s, StatusCode::CREATED);
    let bearer = format!("Bearer {auditor}");
    let (s, body, _) = call_with(
        &app,
        "GET",
        "/api/v1/audit?actor=imogen&limit=100",
        None,
        "",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let log: Value = serde_json::from_slice(&body).unwrap();
    let actions: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    // Newest first: what the answer showed, then the request itself.
    assert_eq!(
        actions[..2],
        [
            ("register_household", "answered"),
            ("register_household", "requested")
        ],
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.1 == "denied: wrong password")
            .count(),
        5,
        "{actions:?}"
    );
    assert!(
        actions.contains(&("login", "denied: throttled")),
        "{actions:?}"
    );
    // The information manager cannot read the log; the attempt is itself logged.
    let (s, _) = json_call(&app, "GET", "/api/v1/audit", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_registrar_sees_and_changes_only_their_own_site() {
    let app = app().await;
    let (s, other) = json_call(&app, "POST", "/api/v1/households", Some(household())).await;
    assert_eq!(s, StatusCode::CREATED);
    let at_torkham = user_with_token(
        &*app.store,
        "rahim",
        peywand_access::Role::Registrar,
        Some("spin-boldak"),
        "a registrar's passphrase",
    )
    .await;
    let bearer = format!("Bearer {at_torkham}");
    let id = other["household"]["id"].as_str().unwrap();
    let (s, _, _) = call_with(
        &app,
        "GET",
        &format!("/api/v1/households/{id}"),
        None,
        "",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a household of another site");
    let (s, body, _) = call_with(
        &app,
        "GET",
        "/api/v1/persons",
        None,
        "",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["total"], 0);
    // What they register is registered at their site, whatever the form says.
    let (s, body, _) = call_with(
        &app,
        "POST",
        "/api/v1/households",
        Some(&household().to_string()),
        "application/json",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the draft names another site: {}",
        String::from_utf8_lossy(&body)
    );
    let mut elsewhere = household();
    elsewhere["site_code"] = json!("spin-boldak");
    elsewhere["members"][0]["raw"]["site"] = json!("Torkham");
    let (s, _, _) = call_with(
        &app,
        "POST",
        "/api/v1/households",
        Some(&elsewhere.to_string()),
        "application/json",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a member registered at another site"
    );
    let mut own = household();
    own["site_code"] = json!("spin-boldak");
    let (s, body, _) = call_with(
        &app,
        "POST",
        "/api/v1/households",
        Some(&own.to_string()),
        "application/json",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let (_, body, _) = call_with(
        &app,
        "GET",
        "/api/v1/persons",
        None,
        "",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["total"], 2);
}

#[tokio::test]
async fn a_tracing_request_meets_the_registration_of_the_person_sought() {
    let (app, rows) = deduplicated_registry(1_500).await;
    let bearer = karima(&*app.store).await;
    let as_caseworker = |method: &'static str, uri: String, body: Option<Value>| {
        let (app, bearer) = (&app, bearer.clone());
        async move { json_with_bearer(app, &bearer, method, &uri, body).await }
    };
    let sought = rows
        .iter()
        .find(|r| {
            !r.given_name.is_empty() && !r.father_name.is_empty() && !r.grandfather_name.is_empty()
        })
        .unwrap();
    let request = json!({
        "requester_name": "Bibi Hawa",
        "requester_relationship": "mother",
        "requester_contact": "+93 70 000 0000",
        "sought": {"given_name": sought.given_name, "father_name": sought.father_name,
                   "grandfather_name": sought.grandfather_name, "sex": sought.sex},
        "last_seen_place": "Torkham",
        "circumstances": "put on another truck",
        "distinguishing_details": "",
        "separated_child": true
    });
    let (s, case) = as_caseworker("POST", "/api/v1/tracing/requests".into(), Some(request)).await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    assert_eq!(case["request"]["priority"], "urgent");
    assert_eq!(case["request"]["status"], "candidates_found", "{case}");
    let id = case["request"]["id"].as_str().unwrap().to_string();
    let candidates: Vec<String> = case["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["record_id"].as_str().unwrap().to_string())
        .collect();
    assert!(candidates.contains(&sought.record_id), "{candidates:?}");

    // A candidate that is not the person is rejected and never comes back.
    if let Some(other) = candidates.iter().find(|c| **c != sought.record_id) {
        let (s, _) = as_caseworker(
            "POST",
            format!("/api/v1/tracing/requests/{id}/candidates/{other}"),
            Some(json!({"status": "not_the_person", "reason": "different father"})),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    // The person registers again at another desk: the new registration reaches the case.
    let mut again = sought.clone();
    again.record_id = "desk-again".into();
    again.household_id = String::new();
    let (s, _) = json_call(
        &app,
        "POST",
        "/api/v1/households",
        Some(json!({"members": [{"raw": again}]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // The issue's promise to caseworkers: a new candidate is in the queue within 2 s of the
    // registration being saved. Matching runs in the background; the figure at scale is in
    // docs/benchmarks.md.
    let saved = std::time::Instant::now();
    let mut found = None;
    let mut last = Value::Null;
    while saved.elapsed() < std::time::Duration::from_secs(2) {
        let (_, case) = as_caseworker("GET", format!("/api/v1/tracing/requests/{id}"), None).await;
        if case["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["record_id"] == "desk-again")
        {
            found = Some(saved.elapsed());
            break;
        }
        last = case;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        found.is_some(),
        "a new registration reaches the open request's queue within 2 s: {last}"
    );

    let (s, case) = as_caseworker(
        "POST",
        format!(
            "/api/v1/tracing/requests/{id}/candidates/{}",
            sought.record_id
        ),
        Some(json!({"status": "confirmed", "reason": "the mother recognised him"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(case["request"]["status"], "match_confirmed");
    let (s, e) = as_caseworker(
        "POST",
        format!("/api/v1/tracing/requests/{id}/status"),
        Some(json!({"status": "open", "reason": "undo"})),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (s, e) = as_caseworker(
        "POST",
        format!(
            "/api/v1/tracing/requests/{id}/candidates/{}",
            sought.record_id
        ),
        Some(json!({"status": "reunited", "reason": ""})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a decision needs its reason: {e}"
    );
    let (s, queue) = as_caseworker(
        "GET",
        "/api/v1/tracing/requests?status=match_confirmed".into(),
        None,
    )
    .await;
    assert_eq!((s, queue["total"].as_u64()), (StatusCode::OK, Some(1)));
    // Registrars do not see tracing cases.
    let (s, _) = json_call(&app, "GET", &format!("/api/v1/tracing/requests/{id}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// The information manager sets how likely a person sought is to have registered at all; a
/// candidate's probability follows it, and only an information manager sets it.
#[tokio::test]
async fn the_share_of_people_sought_who_registered_moves_a_candidates_probability() {
    let (app, rows) = deduplicated_registry(1_500).await;
    let bearer = karima(&*app.store).await;
    let uri = "/api/v1/tracing/registered-share";
    let (s, first) = json_with_bearer(&app, &bearer, "GET", uri, None).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(
        (first["set"].as_f64(), first["in_use"].as_f64()),
        (Some(0.5), Some(0.5))
    );
    let (s, _) = json_with_bearer(&app, &bearer, "PUT", uri, Some(json!({"share": 0.9}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a caseworker does not set it");
    for refused in [
        json!({"share": 1.0}),
        json!({"share": 0}),
        json!({"share": "half"}),
    ] {
        let (s, e) = json_call(&app, "PUT", uri, Some(refused.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}: {e}");
    }

    let sought = rows
        .iter()
        .find(|r| !r.given_name.is_empty() && !r.father_name.is_empty())
        .unwrap();
    let request = json!({
        "requester_name": "Bibi Hawa",
        "requester_relationship": "mother",
        "requester_contact": "",
        "sought": {"given_name": sought.given_name, "father_name": sought.father_name,
                   "sex": sought.sex},
        "last_seen_place": "Torkham",
        "circumstances": "",
        "distinguishing_details": "",
        "separated_child": false
    });
    let mut best = Vec::new();
    for share in [0.9, 0.1] {
        let (s, set) = json_call(&app, "PUT", uri, Some(json!({"share": share}))).await;
        assert_eq!(s, StatusCode::OK, "{set}");
        assert_eq!(
            (set["set"].as_f64(), set["set_by"].as_str()),
            (Some(share), Some("imogen"))
        );
        let (s, case) = json_with_bearer(
            &app,
            &bearer,
            "POST",
            "/api/v1/tracing/requests",
            Some(request.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{case}");
        let score = case["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["record_id"] == sought.record_id.as_str())
            .and_then(|c| c["score"].as_f64())
            .unwrap_or(0.0);
        best.push(score);
    }
    assert!(best[0] > 0.0 && best[1] < best[0], "{best:?}");
}

/// After erasures the index is rebuilt in the background; the desk keeps its duplicate warnings
/// meanwhile, and what it saves meanwhile is in the new index.
#[tokio::test]
async fn rebuilding_the_index_keeps_answering_and_keeps_what_was_saved_meanwhile() {
    let (app, rows) = deduplicated_registry(1_500).await;
    let earlier = rows
        .iter()
        .find(|r| !r.given_name.is_empty() && !r.father_name.is_empty())
        .unwrap();
    let mut again = earlier.clone();
    again.household_id = String::new();
    again.record_id = String::new();
    let check = json!({"members": [again.clone()]});
    let store: Arc<dyn peywand_store::Store> = app.store.clone();
    app.state.matching.reload(store);
    assert_eq!(app.state.matching.status(), peywand_web::IndexStatus::Ready);
    let (s, report) = json_call(&app, "POST", "/api/v1/matching/check", Some(check.clone())).await;
    assert_eq!(
        (s, report["matching"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
    assert!(
        !report["members"][0]["candidates"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    again.record_id = "saved-during-reload".into();
    let (s, _) = json_call(
        &app,
        "POST",
        "/api/v1/households",
        Some(json!({"members": [{"raw": again}]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut seen = false;
    for _ in 0..200 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let (_, report) =
            json_call(&app, "POST", "/api/v1/matching/check", Some(check.clone())).await;
        assert_eq!(report["matching"], "ready", "never emptied");
        seen = report["members"][0]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["record_id"] == "saved-during-reload");
        if !seen {
            break;
        }
    }
    assert!(
        seen,
        "the record saved during the rebuild is in the rebuilt index"
    );
}

/// Two brothers separated at the crossing each ask for the other: the two requests are linked
/// both ways; a third request for the same name by someone else is not.
#[tokio::test]
async fn two_relatives_looking_for_each_other_are_linked() {
    let app = app().await;
    let bearer = karima(&*app.store).await;
    let open = |requester: &str, sought: Value| {
        let body = json!({
            "requester_name": requester, "requester_relationship": "brother",
            "requester_contact": "", "sought": sought, "last_seen_place": "Torkham",
            "circumstances": "", "distinguishing_details": ""
        })
        .to_string();
        let app = &app;
        let bearer = bearer.clone();
        async move {
            let (s, bytes, _) = call_with(
                app,
                "POST",
                "/api/v1/tracing/requests",
                Some(&body),
                "application/json",
                &[("authorization", &bearer)],
            )
            .await;
            assert_eq!(s, StatusCode::CREATED);
            serde_json::from_slice::<Value>(&bytes).unwrap()
        }
    };
    let first = open(
        "Karim Nabi",
        json!({"given_name": "احمد", "father_name": "نبی", "sex": "M"}),
    )
    .await;
    let stranger = open(
        "Zarmina",
        json!({"given_name": "Ahmad", "father_name": "Nabi", "sex": "M"}),
    )
    .await;
    let second = open(
        "Ahmad son of Nabi",
        json!({"given_name": "Kareem", "father_name": "Nabi", "sex": "M"}),
    )
    .await;
    let linked = |case: &Value| -> Vec<String> {
        case["counterparts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["request_id"].as_str().unwrap().to_string())
            .collect()
    };
    let id = |case: &Value| case["request"]["id"].as_str().unwrap().to_string();
    assert_eq!(linked(&second), vec![id(&first)], "{second}");
    let (_, bytes, _) = call_with(
        &app,
        "GET",
        &format!("/api/v1/tracing/requests/{}", id(&first)),
        None,
        "",
        &[("authorization", &bearer)],
    )
    .await;
    let first_now: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(linked(&first_now), vec![id(&second)], "linked both ways");
    assert!(linked(&stranger).is_empty());
    assert!(first_now["events"].as_array().unwrap().iter().any(|e| {
        e["event"]["kind"] == "counterpart_found" && e["event"]["request_id"] == id(&second)
    }));
}

/// A caseworker records the reunification step by step; PFIF documents come in through the
/// API as tracing requests and go out to an information manager who states why.
#[tokio::test]
async fn reunification_steps_and_pfif_through_the_api() {
    let (app, rows) = deduplicated_registry(1_500).await;
    let caseworker = user_with_token(
        &*app.store,
        "karima",
        peywand_access::Role::Caseworker,
        Some("torkham"),
        "a caseworker's passphrase",
    )
    .await;
    let manager = user_with_token(
        &*app.store,
        "farid",
        peywand_access::Role::InformationManager,
        None,
        "a manager's passphrase",
    )
    .await;
    for username in ["karima"] {
        app.store
            .set_pfif_partner(
                &format!("token-of-{username}"),
                &peywand_domain::PfifPartner {
                    domains: vec!["finder.example.org".into()],
                    may_report_death: false,
                },
            )
            .await
            .unwrap();
    }
    let send = |method: &'static str, uri: String, body: Option<String>, token: &str| {
        let app = &app;
        let bearer = format!("Bearer {token}");
        async move {
            let ct = if uri.ends_with("/pfif") {
                "application/xml"
            } else {
                "application/json"
            };
            let (s, bytes, _) = call_with(
                app,
                method,
                &uri,
                body.as_deref(),
                ct,
                &[("authorization", &bearer)],
            )
            .await;
            (s, bytes)
        }
    };
    let as_json = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap_or(Value::Null);

    // A person sought, written by another tracing tool, with the names of a registered person.
    let sought = rows
        .iter()
        .find(|r| {
            !r.given_name.is_empty()
                && !r.father_name.is_empty()
                && !r.family_name.is_empty()
                && !r.sex.is_empty()
        })
        .unwrap();
    let sex = if peywand_domain::parse_sex(&sought.sex) == Some(peywand_domain::Sex::Female) {
        "female"
    } else {
        "male"
    };
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<pfif:pfif xmlns:pfif=\"http://zesty.ca/pfif/1.4\">\
         <pfif:person><pfif:person_record_id>finder.example.org/person.1</pfif:person_record_id>\
         <pfif:source_date>2025-10-01T08:00:00Z</pfif:source_date>\
         <pfif:author_name>Bibi Hawa</pfif:author_name>\
         <pfif:full_name>{g} son of {father}</pfif:full_name><pfif:given_name>{g}</pfif:given_name>\
         <pfif:family_name>{f}</pfif:family_name><pfif:sex>{sex}</pfif:sex>\
         <pfif:note><pfif:note_record_id>finder.example.org/note.1</pfif:note_record_id>\
         <pfif:source_date>2025-10-02T08:00:00Z</pfif:source_date><pfif:status>believed_missing</pfif:status>\
         <pfif:text>last seen at the crossing</pfif:text></pfif:note></pfif:person></pfif:pfif>",
        g = sought.given_name,
        f = sought.family_name,
        father = sought.father_name
    );
    let (s, body) = send(
        "POST",
        "/api/v1/pfif".into(),
        Some("<not pfif/>".into()),
        &caseworker,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(
        as_json(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a PFIF document")
    );
    let (s, body) = send(
        "POST",
        "/api/v1/pfif".into(),
        Some(document.clone()),
        &manager,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "importing requests is a caseworker's work: {}",
        String::from_utf8_lossy(&body)
    );
    let (s, body) = send(
        "POST",
        "/api/v1/pfif".into(),
        Some(document.clone()),
        &caseworker,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let imported = as_json(&body);
    assert_eq!(imported["new_notes"], 1);
    let id = imported["new_requests"][0].as_str().unwrap().to_string();
    let (_, body) = send(
        "GET",
        format!("/api/v1/tracing/requests/{id}"),
        None,
        &caseworker,
    )
    .await;
    let case = as_json(&body);
    assert_eq!(
        case["request"]["site_code"], "torkham",
        "imported at the caseworker's site"
    );
    assert!(
        case["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["record_id"] == sought.record_id.as_str()),
        "an imported request is matched at once: {case}"
    );

    // Steps wait for a confirmed match.
    let step = |kind: &str| {
        Some(
            json!({"step": kind, "place": "Jalalabad", "on": "2025-11-03", "note": "by phone"})
                .to_string(),
        )
    };
    let (s, _) = send(
        "POST",
        format!("/api/v1/tracing/requests/{id}/steps"),
        step("family_contacted"),
        &caseworker,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = send(
        "POST",
        format!(
            "/api/v1/tracing/requests/{id}/candidates/{}",
            sought.record_id
        ),
        Some(json!({"status": "confirmed", "reason": "the mother recognised her"}).to_string()),
        &caseworker,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for kind in ["family_contacted", "verified", "reunified"] {
        let (s, body) = send(
            "POST",
            format!("/api/v1/tracing/requests/{id}/steps"),
            step(kind),
            &caseworker,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    }
    let (_, body) = send(
        "GET",
        format!("/api/v1/tracing/requests/{id}"),
        None,
        &caseworker,
    )
    .await;
    let case = as_json(&body);
    assert_eq!(case["request"]["status"], "reunified");
    assert_eq!(case["steps"].as_array().unwrap().len(), 3);
    let (s, _) = send(
        "POST",
        format!("/api/v1/tracing/requests/{id}/steps"),
        Some(json!({"step": "verified", "place": " ", "on": "2025-11-03"}).to_string()),
        &caseworker,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a step says where");

    // Out again, to an information manager with a reason; the caseworker may not export.
    let (s, _) = send(
        "GET",
        "/api/v1/pfif?reason=partner%20exchange".into(),
        None,
        &caseworker,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = send("GET", "/api/v1/pfif?reason=".into(), None, &manager).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = send(
        "GET",
        "/api/v1/pfif?reason=partner%20exchange".into(),
        None,
        &manager,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let back = peywand_interchange::pfif::read(&body).unwrap();
    let person = &back.persons[0];
    assert_eq!(person.record_id(), "finder.example.org/person.1");
    let statuses: Vec<&str> = person.notes.iter().map(|n| n.field("status")).collect();
    assert_eq!(
        statuses,
        ["believed_missing", "believed_alive", "believed_alive"],
        "received, found, reunified"
    );
}

/// A caseworker works on the cases of their own site: another site's cases are not listed,
/// cannot be read, decided or closed, whatever the id.
#[tokio::test]
async fn a_caseworker_sees_only_the_cases_of_their_site() {
    let app = app().await;
    let torkham = user_with_token(
        &*app.store,
        "karima",
        peywand_access::Role::Caseworker,
        Some("torkham"),
        "a caseworker's passphrase",
    )
    .await;
    let elsewhere = user_with_token(
        &*app.store,
        "zmarai",
        peywand_access::Role::Caseworker,
        Some("spin_boldak"),
        "another caseworker's passphrase",
    )
    .await;
    let send = |method: &'static str, uri: String, body: Option<Value>, token: &str| {
        let (app, bearer) = (&app, format!("Bearer {token}"));
        async move { json_with_bearer(app, &bearer, method, &uri, body).await }
    };
    let request = json!({
        "requester_name": "Bibi Hawa", "requester_relationship": "mother",
        "requester_contact": "", "sought": {"given_name": "Zarghuna", "sex": "female"},
        "last_seen_place": "Torkham", "circumstances": "", "distinguishing_details": ""
    });
    let (s, case) = send(
        "POST",
        "/api/v1/tracing/requests".into(),
        Some(request),
        &torkham,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let id = case["request"]["id"].as_str().unwrap().to_string();
    let (_, mine) = send("GET", "/api/v1/tracing/requests".into(), None, &torkham).await;
    assert_eq!(mine["total"], 1);
    let (_, theirs) = send("GET", "/api/v1/tracing/requests".into(), None, &elsewhere).await;
    assert_eq!(theirs["total"], 0, "{theirs}");
    let (s, _) = send(
        "GET",
        format!("/api/v1/tracing/requests/{id}"),
        None,
        &elsewhere,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = send(
        "POST",
        format!("/api/v1/tracing/requests/{id}/status"),
        Some(json!({"status": "closed_without_result", "reason": "not ours"})),
        &elsewhere,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, case) = send(
        "GET",
        format!("/api/v1/tracing/requests/{id}"),
        None,
        &torkham,
    )
    .await;
    assert_eq!(
        (s, case["request"]["status"].as_str()),
        (StatusCode::OK, Some("open"))
    );

    // The case is assigned to one caseworker of its site, and given back.
    user_with_token(
        &*app.store,
        "nasrin",
        peywand_access::Role::Registrar,
        Some("torkham"),
        "a registrar's passphrase",
    )
    .await;
    let assign = |who: Value| {
        send(
            "POST",
            format!("/api/v1/tracing/requests/{id}/assignee"),
            Some(json!({ "caseworker": who })),
            &torkham,
        )
    };
    let (s, case) = assign(json!("karima")).await;
    assert_eq!(
        (s, case["request"]["assigned_to"].as_str()),
        (StatusCode::OK, Some("karima")),
        "{case}"
    );
    let (_, queue) = send("GET", "/api/v1/tracing/requests".into(), None, &torkham).await;
    assert_eq!(queue["items"][0]["assigned_to"], "karima", "{queue}");
    for (who, total) in [("karima", 1), ("someone-else", 0)] {
        let (_, queue) = send(
            "GET",
            format!("/api/v1/tracing/requests?assigned_to={who}"),
            None,
            &torkham,
        )
        .await;
        assert_eq!(queue["total"], total, "{who}: {queue}");
    }
    let (s, _) = send(
        "GET",
        format!("/api/v1/tracing/requests?assigned_to={}", "x".repeat(201)),
        None,
        &torkham,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an overlong username is refused"
    );
    for not_a_caseworker_here in ["nasrin", "zmarai", "nobody"] {
        let (s, body) = assign(json!(not_a_caseworker_here)).await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{not_a_caseworker_here}: {body}"
        );
    }
    let (s, _) = send(
        "POST",
        format!("/api/v1/tracing/requests/{id}/assignee"),
        Some(json!({ "caseworker": "zmarai" })),
        &elsewhere,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "another site's case cannot be taken"
    );
    let (s, case) = assign(Value::Null).await;
    assert_eq!(s, StatusCode::OK);
    assert!(case["request"]["assigned_to"].is_null(), "{case}");
}

/// A registrar's duplicate check that finds someone registered at another site says only
/// that, where and when, and why in words: no record id, no probability, no field that agreed,
/// so a guess typed into the check cannot be confirmed one field at a time. Past the hourly
/// limit, other sites are left out. Each check is audited with what was typed and who was
/// shown, and an auditor finds it from the person.
#[tokio::test]
async fn a_check_tells_a_registrar_only_that_someone_elsewhere_resembles_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let rows = deduplicate_into(&*store, 1_500, &dir).await;
    let mut app = app_on(store, dir).await;
    app.state = app.state.clone().limit_checks_naming_other_sites(2);
    app.router = peywand_web::router(app.state.clone());
    let earlier = rows
        .iter()
        .find(|r| {
            !r.given_name.is_empty()
                && !r.father_name.is_empty()
                && !r.grandfather_name.is_empty()
                && !r.birth_date.is_empty()
                && !r.document_number.is_empty()
                && r.derive().0.site_code.is_some()
        })
        .expect("a fully named registration with a document");
    let their_site = earlier.derive().0.site_code.unwrap();
    let own_site = if their_site == "torkham" {
        "spin-boldak"
    } else {
        "torkham"
    };
    let registrar = user_with_token(
        &*app.store,
        "rahim",
        peywand_access::Role::Registrar,
        Some(own_site),
        "a registrar's passphrase",
    )
    .await;
    let bearer = format!("Bearer {registrar}");
    let mut guess = earlier.clone();
    guess.record_id = String::new();
    guess.household_id = String::new();
    let check = json!({"members": [guess]});
    let (s, report) = json_with_bearer(
        &app,
        &bearer,
        "POST",
        "/api/v1/matching/check",
        Some(check.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let found = &report["members"][0]["candidates"][0];
    assert_eq!(
        found["elsewhere"]["site_code"],
        json!(their_site),
        "{report}"
    );
    assert_eq!(found["elsewhere"]["resemblance"], "person");
    for hidden in ["record_id", "probability", "explanation"] {
        assert!(found[hidden].is_null(), "{hidden} shown: {found}");
    }
    let text = report.to_string();
    assert!(!text.contains(&earlier.record_id), "{text}");
    assert!(
        !text.contains("document"),
        "a field's agreement is told: {text}"
    );

    // Comparing field by field is an information manager's work.
    let uri = format!(
        "/api/v1/matching/explain?a={}&b={}",
        earlier.record_id, earlier.record_id
    );
    let (s, _) = json_with_bearer(&app, &bearer, "GET", &uri, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The information manager sees the registration itself.
    let (_, whole) = json_call(&app, "POST", "/api/v1/matching/check", Some(check.clone())).await;
    assert_eq!(
        whole["members"][0]["candidates"][0]["record_id"],
        json!(earlier.record_id)
    );

    // The hour's checks naming other sites are spent after two.
    let (_, second) = json_with_bearer(
        &app,
        &bearer,
        "POST",
        "/api/v1/matching/check",
        Some(check.clone()),
    )
    .await;
    assert_eq!(second["members"][0]["other_sites_withheld"], false);
    let (_, third) =
        json_with_bearer(&app, &bearer, "POST", "/api/v1/matching/check", Some(check)).await;
    assert_eq!(third["members"][0]["other_sites_withheld"], true, "{third}");
    assert_eq!(third["members"][0]["candidates"], json!([]), "{third}");

    // The auditor finds, from the person, who was shown them and what was typed.
    let auditor = user_with_token(
        &*app.store,
        "aziza",
        peywand_access::Role::Auditor,
        None,
        "an auditor's passphrase",
    )
    .await;
    let uri = format!("/api/v1/audit?record={}", earlier.record_id);
    let (s, log) = json_with_bearer(&app, &format!("Bearer {auditor}"), "GET", &uri, None).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let by_registrar: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "rahim")
        .collect();
    assert_eq!(by_registrar.len(), 2, "two checks showed the person: {log}");
    assert!(
        by_registrar[0]["query"]
            .as_str()
            .unwrap()
            .contains(&earlier.given_name),
        "{log}"
    );
    let (_, limited) = json_with_bearer(
        &app,
        &format!("Bearer {auditor}"),
        "GET",
        "/api/v1/audit?action=cross_site_checks_limited",
        None,
    )
    .await;
    assert_eq!(limited["total"], 1, "{limited}");
}

/// A person erased while the server runs (by `peywand purge` in another process, say) is
/// never offered again, and personal answers are never kept in a browser's cache.
#[tokio::test]
async fn an_erased_person_leaves_the_running_servers_answers_at_once() {
    let (app, rows) = deduplicated_registry(1_500).await;
    let earlier = rows
        .iter()
        .find(|r| !r.given_name.is_empty() && !r.father_name.is_empty() && !r.birth_date.is_empty())
        .unwrap();
    let mut probe = earlier.clone();
    probe.record_id = String::new();
    probe.household_id = String::new();
    let check = json!({"members": [probe]});
    let ids = |report: &Value| -> Vec<String> {
        report["members"][0]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["record_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, before) = json_call(&app, "POST", "/api/v1/matching/check", Some(check.clone())).await;
    assert!(ids(&before).contains(&earlier.record_id), "{before}");
    let record = peywand_domain::RecordId::parse(&earlier.record_id).unwrap();
    assert!(app.store.purge_person(&record).await.unwrap());
    let (_, after) = json_call(&app, "POST", "/api/v1/matching/check", Some(check)).await;
    assert!(!ids(&after).contains(&earlier.record_id), "{after}");
    let uri = format!("/api/v1/matching/explain?a={0}&b={0}", earlier.record_id);
    let (s, _) = json_call(&app, "GET", &uri, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, _, headers) = call(&app, "GET", "/api/v1/persons", None, "").await;
    assert_eq!(headers["cache-control"], "no-store");
    let (_, _, headers) = call(&app, "GET", "/static/app.css", None, "").await;
    assert_ne!(
        headers["cache-control"], "no-store",
        "the stylesheet may be cached"
    );
}

/// A PFIF document around `records`.
fn pfif_document(records: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <pfif:pfif xmlns:pfif=\"http://zesty.ca/pfif/1.4\">{records}</pfif:pfif>"
    )
}

fn pfif_note(id: &str, about: Option<&str>, status: &str) -> String {
    let about = about
        .map(|p| format!("<pfif:person_record_id>{p}</pfif:person_record_id>"))
        .unwrap_or_default();
    format!(
        "<pfif:note><pfif:note_record_id>{id}</pfif:note_record_id>{about}\
         <pfif:source_date>2025-10-02T08:00:00Z</pfif:source_date>\
         <pfif:status>{status}</pfif:status><pfif:text>seen near the crossing</pfif:text></pfif:note>"
    )
}

fn pfif_person(id: &str, notes: &str) -> String {
    format!(
        "<pfif:person><pfif:person_record_id>{id}</pfif:person_record_id>\
         <pfif:source_date>2025-10-01T08:00:00Z</pfif:source_date>\
         <pfif:full_name>Gul Bibi</pfif:full_name>{notes}</pfif:person>"
    )
}

/// Posts a PFIF document with a bearer token.
async fn post_pfif(app: &App, token: &str, document: &str) -> (StatusCode, Value) {
    let bearer = format!("Bearer {token}");
    let (s, body, _) = call_with(
        app,
        "POST",
        "/api/v1/pfif",
        Some(document),
        "application/xml",
        &[("authorization", &bearer)],
    )
    .await;
    (
        s,
        serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body))),
    )
}

/// The notes of one person in the PFIF export an information manager makes.
async fn exported_notes(app: &App, person: &str) -> Vec<String> {
    let (s, body, _) = call(
        app,
        "GET",
        "/api/v1/pfif?reason=partner%20exchange",
        None,
        "application/xml",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let back = peywand_interchange::pfif::read(&body).unwrap();
    back.persons
        .iter()
        .filter(|p| p.record_id() == person)
        .flat_map(|p| &p.notes)
        .map(|n| n.record_id().to_string())
        .collect()
}

/// PFIF through the API writes only into the importer's own site's cases and the shared ones
/// (no site): a note about another site's person is refused exactly as one about nobody, and
/// posting that site's records again writes nothing and tells nothing of their notes.
#[tokio::test]
async fn pfif_writes_stay_within_the_importers_site() {
    let app = app().await;
    let torkham = user_with_token(
        &*app.store,
        "karima",
        peywand_access::Role::Caseworker,
        Some("torkham"),
        "a caseworker's passphrase",
    )
    .await;
    let spin = user_with_token(
        &*app.store,
        "wahid",
        peywand_access::Role::Caseworker,
        Some("spin-boldak"),
        "another caseworker's passphrase",
    )
    .await;
    for username in ["karima", "wahid"] {
        app.store
            .set_pfif_partner(
                &format!("token-of-{username}"),
                &peywand_domain::PfifPartner {
                    domains: vec!["finder.example.org".into()],
                    may_report_death: false,
                },
            )
            .await
            .unwrap();
    }
    let theirs = "finder.example.org/person.7";
    let (s, answer) = post_pfif(
        &app,
        &spin,
        &pfif_document(&pfif_person(
            theirs,
            &pfif_note("finder.example.org/note.7a", None, "believed_missing"),
        )),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{answer}");

    // A separate note about Spin Boldak's person, and one about nobody: the same refusal.
    let about =
        |note: &str, person: &str| pfif_document(&pfif_note(note, Some(person), "believed_alive"));
    let (s, other_site) =
        post_pfif(&app, &torkham, &about("finder.example.org/note.7b", theirs)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{other_site}");
    let (s, nobody) = post_pfif(
        &app,
        &torkham,
        &about("finder.example.org/note.7b", "finder.example.org/person.8"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{nobody}");
    assert_eq!(
        other_site["error"]["message"]
            .as_str()
            .unwrap()
            .replace("person.7", "person.8"),
        nobody["error"]["message"].as_str().unwrap(),
        "another site's person is answered as nobody"
    );

    // The person posted again with its note and a new one: nothing is written to it, and
    // whether the note was held already is not said.
    let (s, again) = post_pfif(
        &app,
        &torkham,
        &pfif_document(&pfif_person(
            theirs,
            &format!(
                "{}{}",
                pfif_note("finder.example.org/note.7a", None, "believed_missing"),
                pfif_note("finder.example.org/note.7c", None, "believed_alive")
            ),
        )),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    assert_eq!(again["new_requests"], json!([]));
    assert_eq!(again["new_notes"], 0);
    assert_eq!(again["notes_already_present"], 0);
    assert_eq!(again["notes_out_of_scope"], 2);
    assert_eq!(
        exported_notes(&app, theirs).await,
        ["finder.example.org/note.7a"],
        "partners receive nothing Torkham wrote about Spin Boldak's person"
    );

    // Spin Boldak's own caseworker annotates it.
    let (s, own) = post_pfif(&app, &spin, &about("finder.example.org/note.7d", theirs)).await;
    assert_eq!(s, StatusCode::CREATED, "{own}");
    assert_eq!(own["new_notes"], 1);
}

/// A token for a partner feeding Torkham, allowed to write PFIF records of `domains`.
async fn pfif_partner(
    app: &App,
    username: &str,
    domains: &[&str],
    may_report_death: bool,
) -> String {
    let token = user_with_token(
        &*app.store,
        username,
        peywand_access::Role::Caseworker,
        Some("torkham"),
        "a partner's passphrase",
    )
    .await;
    app.store
        .set_pfif_partner(
            &format!("token-of-{username}"),
            &peywand_domain::PfifPartner {
                domains: domains.iter().map(|d| d.to_string()).collect(),
                may_report_death,
            },
        )
        .await
        .unwrap();
    token
}

/// One of Person Finder's own test documents.
fn person_finder(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../testdata/pfif/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// PFIF 1.1 and 1.2 as Person Finder's tests write them: every person and note kept, the
/// old names read as given and family names.
#[tokio::test]
async fn person_finder_pfif_1_1_and_1_2_are_imported_whole() {
    let app = app().await;
    let feed = pfif_partner(&app, "feed", &["test.google.com"], false).await;
    let (s, old) = post_pfif(&app, &feed, &person_finder("person-finder-pfif-1.1.xml")).await;
    assert_eq!(s, StatusCode::CREATED, "{old}");
    assert_eq!(
        (
            old["new_requests"].as_array().unwrap().len(),
            &old["new_notes"]
        ),
        (1, &json!(2))
    );
    let id = old["new_requests"][0].as_str().unwrap();
    let (_, case) = json_with_bearer(
        &app,
        &format!("Bearer {feed}"),
        "GET",
        &format!("/api/v1/tracing/requests/{id}"),
        None,
    )
    .await;
    assert_eq!(
        case["request"]["sought"]["given_name"], "_test_first_name",
        "{case}"
    );
    assert_eq!(case["request"]["sought"]["family_name"], "_test_last_name");

    let app = self::app().await;
    let feed = pfif_partner(&app, "feed", &["test.google.com"], false).await;
    let (s, current) = post_pfif(&app, &feed, &person_finder("person-finder-pfif-1.2.xml")).await;
    assert_eq!(s, StatusCode::CREATED, "{current}");
    assert_eq!(current["new_notes"], 4, "the backdated note too");
    assert_eq!(
        exported_notes(&app, "test.google.com/person.21009")
            .await
            .len(),
        4
    );
}

/// Notes without their persons (Person Finder's note and notification documents) attach to
/// the persons stored first.
#[tokio::test]
async fn person_finder_notes_attach_to_the_persons_stored_first() {
    let app = app().await;
    let feed = pfif_partner(&app, "feed", &["test.google.com"], false).await;
    let (s, first) = post_pfif(
        &app,
        &feed,
        &pfif_document(&format!(
            "{}{}",
            pfif_person("test.google.com/person.21009", ""),
            pfif_person("test.google.com/person.21010", "")
        )),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, notified) = post_pfif(
        &app,
        &feed,
        &person_finder("person-finder-pfif-1.2-notification.xml"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{notified}");
    assert_eq!(notified["new_notes"], 1);
    let (s, notes) = post_pfif(
        &app,
        &feed,
        &person_finder("person-finder-pfif-1.2-note.xml"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{notes}");
    assert_eq!(
        (&notes["new_notes"], &notes["notes_already_present"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        exported_notes(&app, "test.google.com/person.21009").await,
        ["test.google.com/note.27009"]
    );
    assert_eq!(
        exported_notes(&app, "test.google.com/person.21010").await,
        ["test.google.com/note.31095"]
    );
}

/// A partner writes only for the domains it is allowed: other records are skipped and
/// counted, the rest of the document kept (Person Finder's bad-record and source documents).
#[tokio::test]
async fn a_pfif_partner_writes_only_for_its_domains() {
    let app = app().await;
    let feed = pfif_partner(
        &app,
        "feed",
        &["test.google.com", "mytestdomain.com"],
        false,
    )
    .await;
    let (s, bad) = post_pfif(
        &app,
        &feed,
        &person_finder("person-finder-pfif-1.2-badrecord.xml"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{bad}");
    assert_eq!(bad["new_requests"].as_array().unwrap().len(), 1, "{bad}");
    assert_eq!(bad["persons_outside_domains"], 1);
    assert_eq!(bad["new_notes"], 4);

    let (s, source) = post_pfif(
        &app,
        &feed,
        &person_finder("person-finder-pfif-1.2-source.xml"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{source}");
    assert_eq!(source["new_requests"].as_array().unwrap().len(), 1);
    let (s, global) = post_pfif(
        &app,
        &feed,
        &person_finder("person-finder-global-1.2-source.xml"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{global}");
    assert_eq!(global["new_requests"], json!([]));
    assert_eq!(global["persons_outside_domains"], 1);

    let (_, body, _) = call(
        &app,
        "GET",
        "/api/v1/pfif?reason=partner%20exchange",
        None,
        "application/xml",
    )
    .await;
    let back = peywand_interchange::pfif::read(&body).unwrap();
    let ids: Vec<&str> = back.persons.iter().map(|p| p.record_id()).collect();
    assert_eq!(
        ids,
        [
            "test.google.com/person.21009",
            "mytestdomain.com/person.21009"
        ]
    );
    assert_eq!(back.persons[1].field("source_name"), "_test_source_name");
    assert_eq!(back.persons[1].field("source_url"), "_test_source_url");

    // A token given to no partner writes no PFIF record.
    let plain = user_with_token(
        &*app.store,
        "plain",
        peywand_access::Role::Caseworker,
        Some("torkham"),
        "a caseworker's passphrase",
    )
    .await;
    let (s, none) = post_pfif(
        &app,
        &plain,
        &person_finder("person-finder-global-1.2-source.xml"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{none}");
    assert_eq!(
        (&none["new_requests"], &none["persons_outside_domains"]),
        (&json!([]), &json!(1))
    );
}

/// A `believed_dead` note is kept only from a partner allowed to report a death, and leaves
/// in no export before a caseworker has verified it.
#[tokio::test]
async fn a_death_report_is_kept_only_from_a_partner_allowed_and_shown_once_verified() {
    let app = app().await;
    let feed = pfif_partner(&app, "feed", &["test.google.com"], false).await;
    let (_, first) = post_pfif(
        &app,
        &feed,
        &pfif_document(&pfif_person("test.google.com/person.21009", "")),
    )
    .await;
    let id = first["new_requests"][0].as_str().unwrap().to_string();
    let dead = person_finder("person-finder-pfif-1.2-believed-dead.xml");
    let (s, refused) = post_pfif(&app, &feed, &dead).await;
    assert_eq!(s, StatusCode::CREATED, "{refused}");
    assert_eq!(
        (&refused["new_notes"], &refused["death_reports_refused"]),
        (&json!(0), &json!(1))
    );

    let coroner = pfif_partner(&app, "coroner", &["test.google.com"], true).await;
    let (s, kept) = post_pfif(&app, &coroner, &dead).await;
    assert_eq!(s, StatusCode::CREATED, "{kept}");
    assert_eq!(kept["new_notes"], 1);
    assert!(
        exported_notes(&app, "test.google.com/person.21009")
            .await
            .is_empty(),
        "not before a caseworker has verified it"
    );

    let caseworker = user_with_token(
        &*app.store,
        "karima",
        peywand_access::Role::Caseworker,
        Some("torkham"),
        "a caseworker's passphrase",
    )
    .await;
    let reports = format!("/api/v1/tracing/requests/{id}/death-reports");
    let (s, listed) =
        json_with_bearer(&app, &format!("Bearer {caseworker}"), "GET", &reports, None).await;
    assert_eq!(s, StatusCode::OK, "{listed}");
    assert_eq!(
        listed[0]["note"]["fields"]["note_record_id"],
        "test.google.com/note.218"
    );
    assert_eq!(listed[0]["verified_by"], Value::Null);
    let (s, verified) = json_with_bearer(
        &app,
        &format!("Bearer {caseworker}"),
        "POST",
        &reports,
        Some(json!({"note_record_id": "test.google.com/note.218"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{verified}");
    assert_eq!(verified["verified_by"], "karima");
    assert_eq!(
        exported_notes(&app, "test.google.com/person.21009").await,
        ["test.google.com/note.218"]
    );
}

/// A sign-in posted from another site (a forged form on a page the user visits) is refused,
/// whichever way the browser says where it comes from; the same origin and programs that send
/// neither header sign in.
#[tokio::test]
async fn sign_in_from_another_site_is_refused() {
    let app = app().await;
    let form = "username=imogen&password=information+manager%27s+passphrase";
    let json =
        json!({"username": "imogen", "password": "information manager's passphrase"}).to_string();
    let forms = "application/x-www-form-urlencoded";
    for (uri, body, content_type) in [
        ("/login", form, forms),
        ("/api/v1/session", json.as_str(), "application/json"),
    ] {
        for headers in [
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "same-site")][..],
            &[
                ("host", "peywand.example"),
                ("origin", "https://evil.example"),
            ][..],
            &[("host", "peywand.example"), ("origin", "null")][..],
        ] {
            let (s, _, h) = call_with(&app, "POST", uri, Some(body), content_type, headers).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{uri} {headers:?}");
            assert!(h.get("set-cookie").is_none(), "{uri} {headers:?}");
        }
        for headers in [
            &[][..],
            &[("sec-fetch-site", "same-origin")][..],
            &[("sec-fetch-site", "none")][..],
            &[
                ("host", "peywand.example"),
                ("origin", "https://peywand.example"),
            ][..],
        ] {
            let (s, _, h) = call_with(&app, "POST", uri, Some(body), content_type, headers).await;
            assert!(
                s.is_success() || s.is_redirection(),
                "{uri} {headers:?}: {s}"
            );
            assert!(h.get("set-cookie").is_some(), "{uri} {headers:?}");
        }
    }
}

/// Sign-in bodies are small: 900 KiB of form or JSON is refused before anything is checked.
#[tokio::test]
async fn large_sign_in_bodies_are_refused() {
    let app = app().await;
    let padding = "a".repeat(900 * 1024);
    let form = format!("username=imogen&password={padding}");
    let (s, _, _) = call_with(
        &app,
        "POST",
        "/login",
        Some(&form),
        "application/x-www-form-urlencoded",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "the sign-in page");
    let json = json!({"username": "imogen", "password": padding}).to_string();
    let (s, _, _) = call_with(
        &app,
        "POST",
        "/api/v1/session",
        Some(&json),
        "application/json",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "the API");
}

/// A sign-in from a given address, as the server sees it behind its listener.
async fn sign_in_from(app: &App, address: &str, username: &str, password: &str) -> StatusCode {
    let body = json!({"username": username, "password": password}).to_string();
    let addr: std::net::SocketAddr = format!("{address}:40000").parse().unwrap();
    let mut req = Request::builder()
        .method("POST")
        .uri("/api/v1/session")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    app.router.clone().oneshot(req).await.unwrap().status()
}

/// Someone guessing a user's password from their own address is slowed down there, and
/// only there: the user, at their desk, still signs in. The burst is in the audit log.
#[tokio::test]
async fn an_attacker_elsewhere_cannot_lock_the_owner_out() {
    let app = app().await;
    let auditor = user_with_token(
        &*app.store,
        "aziz",
        peywand_access::Role::Auditor,
        None,
        "the auditor's passphrase",
    )
    .await;
    let mut refused = 0;
    for _ in 0..25 {
        let s = sign_in_from(&app, "203.0.113.9", "imogen", "a guess").await;
        assert!(
            s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS,
            "{s}"
        );
        refused += usize::from(s == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(refused >= 20, "the attacker is throttled: {refused}");
    let right = "information manager's passphrase";
    assert_eq!(
        sign_in_from(&app, "203.0.113.9", "imogen", right).await,
        StatusCode::TOO_MANY_REQUESTS,
        "not even the right password from the attacker's address"
    );
    assert_eq!(
        sign_in_from(&app, "10.0.0.5", "imogen", right).await,
        StatusCode::OK,
        "the owner, from their desk"
    );
    // One address trying many usernames is stopped across all of them.
    for i in 0..peywand_web::throttle::MAX_FAILURES_PER_ADDRESS {
        sign_in_from(&app, "198.51.100.7", &format!("user{i}"), "a guess").await;
    }
    assert_eq!(
        sign_in_from(&app, "198.51.100.7", "someone-else", "a guess").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let (s, log) = json_with_bearer(
        &app,
        &format!("Bearer {auditor}"),
        "GET",
        "/api/v1/audit?action=login_alert&limit=100",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let alerts: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["target"].as_str().unwrap(), e["origin"].as_str().unwrap()))
        .collect();
    assert!(alerts.contains(&("imogen", "203.0.113.9")), "{alerts:?}");
    assert!(alerts.contains(&("", "198.51.100.7")), "{alerts:?}");
}

/// Signs in through the API; the session cookie and CSRF token.
async fn session_of(app: &App, username: &str, password: &str) -> (String, String) {
    let login = json!({"username": username, "password": password}).to_string();
    let (s, body, headers) = call_with(
        app,
        "POST",
        "/api/v1/session",
        Some(&login),
        "application/json",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let info: Value = serde_json::from_slice(&body).unwrap();
    (
        cookie_of(&headers),
        info["csrf_token"].as_str().unwrap().to_string(),
    )
}

/// An administrator disables, enables, resets and cuts off an account from the users page;
/// each takes effect at once on the user's sessions and tokens, and each is audited. A user
/// whose password was reset can do nothing but choose a new one.
#[tokio::test]
async fn an_administrator_manages_accounts_and_each_change_takes_effect_at_once() {
    let app = app().await;
    let imogen = format!("Bearer {}", app.token);
    user_with_token(
        &*app.store,
        "ali",
        peywand_access::Role::Administrator,
        None,
        "the administrator's passphrase",
    )
    .await;
    let auditor = user_with_token(
        &*app.store,
        "aziz",
        peywand_access::Role::Auditor,
        None,
        "the auditor's passphrase",
    )
    .await;
    let (admin, csrf) = session_of(&app, "ali", "the administrator's passphrase").await;
    let (imogen_session, _) = session_of(&app, "imogen", "information manager's passphrase").await;
    let page = |path: &'static str| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let (s, body, _) = call_with(app, "GET", path, None, "", &[("cookie", &admin)]).await;
            (s, String::from_utf8_lossy(&body).to_string())
        }
    };
    let (s, list) = page("/admin/users").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        list.contains("imogen") && list.contains("information_manager"),
        "{list}"
    );
    let post = |path: String| {
        let (admin, csrf) = (admin.clone(), csrf.clone());
        let app = &app;
        async move {
            let form = format!("csrf={csrf}");
            let (s, body, _) = call_with(
                app,
                "POST",
                &path,
                Some(&form),
                "application/x-www-form-urlencoded",
                &[("cookie", &admin)],
            )
            .await;
            (s, String::from_utf8_lossy(&body).to_string())
        }
    };
    let whoami = |bearer: String| {
        let app = &app;
        async move { json_with_bearer(app, &bearer, "GET", "/api/v1/persons", None).await }
    };
    assert_eq!(whoami(imogen.clone()).await.0, StatusCode::OK);

    // Disabled: the token and the session stop at once, and signing in is refused.
    assert_eq!(
        post("/admin/users/imogen/disable".into()).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(whoami(imogen.clone()).await.0, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call_with(
        &app,
        "GET",
        "/api/v1/session",
        None,
        "",
        &[("cookie", &imogen_session)],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let login =
        json!({"username": "imogen", "password": "information manager's passphrase"}).to_string();
    let (s, _, _) = call_with(
        &app,
        "POST",
        "/api/v1/session",
        Some(&login),
        "application/json",
        &[],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a disabled account cannot sign in"
    );
    assert!(page("/admin/users").await.1.contains("disabled"));
    assert_eq!(
        post("/admin/users/imogen/enable".into()).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(whoami(imogen.clone()).await.0, StatusCode::OK);

    // Reset: a temporary password shown once; the token does nothing until it is changed.
    let (s, shown) = post("/admin/users/imogen/reset-password".into()).await;
    assert_eq!(s, StatusCode::OK);
    let temporary = shown
        .split("<code id=\"temporary-password\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_string();
    assert_eq!(temporary.len(), 24, "{temporary}");
    let (s, body) = whoami(imogen.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.to_string().contains("/password"), "{body}");
    let form = format!("username=imogen&password={temporary}");
    let (s, _, headers) = call_with(
        &app,
        "POST",
        "/login",
        Some(&form),
        "application/x-www-form-urlencoded",
        &[],
    )
    .await;
    assert_eq!(
        (s, &headers["location"]),
        (
            StatusCode::SEE_OTHER,
            &"/password".parse::<axum::http::HeaderValue>().unwrap()
        )
    );
    let (cookie, csrf_imogen) = session_of(&app, "imogen", &temporary).await;
    let (s, _, headers) = call_with(&app, "GET", "/", None, "", &[("cookie", &cookie)]).await;
    assert_eq!(
        (s, headers["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/password")
    );
    let change = format!(
        "csrf={csrf_imogen}&current={temporary}&new=a+new+passphrase+of+mine&again=a+new+passphrase+of+mine"
    );
    let (s, _, _) = call_with(
        &app,
        "POST",
        "/password",
        Some(&change),
        "application/x-www-form-urlencoded",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(whoami(imogen.clone()).await.0, StatusCode::OK);
    session_of(&app, "imogen", "a new passphrase of mine").await;

    // Ending sessions and tokens.
    assert_eq!(
        post("/admin/users/imogen/end-sessions".into()).await.0,
        StatusCode::SEE_OTHER
    );
    let (s, body) = whoami(imogen.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    let (s, _, _) = call_with(
        &app,
        "GET",
        "/api/v1/session",
        None,
        "",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        post("/admin/users/ali/disable".into())
            .await
            .0
            .is_client_error(),
        "not oneself"
    );

    let (_, log) = json_with_bearer(
        &app,
        &format!("Bearer {auditor}"),
        "GET",
        "/api/v1/audit?limit=500",
        None,
    )
    .await;
    let actions: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    for done in [
        ("disable_user", "/admin/users/imogen/disable"),
        ("enable_user", "/admin/users/imogen/enable"),
        ("reset_password", "/admin/users/imogen/reset-password"),
        ("end_sessions", "/admin/users/imogen/end-sessions"),
        ("change_password", "/password"),
    ] {
        assert!(actions.contains(&done), "{done:?} in {actions:?}");
    }
}

/// A token lasts until its expiry, then says it expired and how to have it renewed.
#[tokio::test]
async fn an_expired_token_is_refused_and_says_so() {
    let app = app().await;
    let token = peywand_access::Secret::generate("pt_");
    let long_ago = chrono::Utc::now() - chrono::Duration::days(100);
    app.store
        .create_token(&peywand_store::ApiToken {
            id: "old-token".into(),
            digest: token.digest.clone(),
            username: "imogen".into(),
            label: "sync".into(),
            created_at: long_ago,
            revoked_at: None,
            expires_at: long_ago + chrono::Duration::days(90),
        })
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token.text);
    let (s, body) = json_with_bearer(&app, &bearer, "GET", "/api/v1/persons", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("expired") && message.contains("token renew old-token"),
        "{message}"
    );
    app.store
        .renew_token("old-token", chrono::Utc::now() + chrono::Duration::days(90))
        .await
        .unwrap();
    let (s, _) = json_with_bearer(&app, &bearer, "GET", "/api/v1/persons", None).await;
    assert_eq!(s, StatusCode::OK);
}

/// Relatives looking for each other from two crossing points: each site's caseworker is told
/// only that another site has a request that may concern the same family, never that case's
/// id; the information manager sees the link and brings the two sites together.
#[tokio::test]
async fn a_request_matching_another_sites_request_reveals_nothing_of_that_case() {
    let app = app().await;
    let mut bearers = Vec::new();
    for (name, site) in [("karima", "torkham"), ("nasir", "spin-boldak")] {
        let token = user_with_token(
            &*app.store,
            name,
            peywand_access::Role::Caseworker,
            Some(site),
            "a caseworker's passphrase",
        )
        .await;
        bearers.push(format!("Bearer {token}"));
    }
    let open = |bearer: String, requester: &str, sought: Value| {
        let body = json!({
            "requester_name": requester, "requester_relationship": "brother",
            "requester_contact": "", "sought": sought, "last_seen_place": "Torkham",
            "circumstances": "", "distinguishing_details": ""
        });
        let app = &app;
        async move {
            json_with_bearer(app, &bearer, "POST", "/api/v1/tracing/requests", Some(body)).await
        }
    };
    let (s, at_torkham) = open(
        bearers[0].clone(),
        "Karim Nabi",
        json!({"given_name": "احمد", "father_name": "نبی", "sex": "M"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let torkham_id = at_torkham["request"]["id"].as_str().unwrap().to_string();
    let (s, at_spin_boldak) = open(
        bearers[1].clone(),
        "Ahmad son of Nabi",
        json!({"given_name": "Kareem", "father_name": "Nabi", "sex": "M"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let spin_boldak_id = at_spin_boldak["request"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let told_only = |case: &Value, other: &str| {
        let text = case.to_string();
        assert!(
            !text.contains(other),
            "another site's case id leaks: {text}"
        );
        assert_eq!(case["counterparts"], json!([]), "{text}");
        assert!(
            case["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["event"]["kind"] == "counterpart_at_another_site"),
            "{text}"
        );
    };
    told_only(&at_spin_boldak, &torkham_id);
    let uri = format!("/api/v1/tracing/requests/{torkham_id}");
    let (_, torkham_now) = json_with_bearer(&app, &bearers[0], "GET", &uri, None).await;
    told_only(&torkham_now, &spin_boldak_id);
    // The Dari page words it too, without the other case's id.
    let (_, page, _) = call_with(
        &app,
        "GET",
        &format!("/tracing/{torkham_id}"),
        None,
        "",
        &[
            ("authorization", &bearers[0]),
            ("cookie", "peywand_lang=fa"),
        ],
    )
    .await;
    let page = String::from_utf8(page).unwrap();
    assert!(!page.contains(&spin_boldak_id));

    // The information manager sees the two requests and their sites.
    let (s, links) = json_call(&app, "GET", "/api/v1/tracing/links-across-sites", None).await;
    assert_eq!(s, StatusCode::OK, "{links}");
    assert_eq!(links.as_array().unwrap().len(), 1, "{links}");
    let ids = [
        links[0]["request_id"].as_str().unwrap(),
        links[0]["other_id"].as_str().unwrap(),
    ];
    assert!(ids.contains(&torkham_id.as_str()) && ids.contains(&spin_boldak_id.as_str()));
    let (s, _) = json_with_bearer(
        &app,
        &bearers[0],
        "GET",
        "/api/v1/tracing/links-across-sites",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a caseworker does not list them");
}

/// The dashboard as an information manager loads it with a year of arrivals at ten sites:
/// charts rather than a row per day and site, and the page (HTML and stylesheet) under 150 KB.
/// docs/benchmarks.md quotes the figure this prints.
#[tokio::test]
async fn a_year_of_arrivals_at_ten_sites_makes_a_light_dashboard() {
    use peywand_store::ImportMessage;
    const SITES: [&str; 10] = [
        "torkham",
        "spin-boldak",
        "ghulam-khan",
        "angoor-adda",
        "dand-e-patan",
        "bahramcha",
        "torkham-reception",
        "samarkhel",
        "jalalabad-transit",
        "kandahar-transit",
    ];
    let app = app().await;
    let first = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let feeder = tokio::spawn(async move {
        let mut n = 0u64;
        for day in 0..365 {
            let on = first + chrono::Duration::days(day);
            for (s, site) in SITES.iter().enumerate() {
                // More people at the big crossings, and more as the year goes on.
                for _ in 0..(3 + (10 - s as u64) / 2 + day as u64 / 120) {
                    n += 1;
                    let raw = peywand_domain::RawRegistration {
                        record_id: format!("y-{n}"),
                        household_id: format!("yh-{}", n / 5),
                        site: (*site).into(),
                        registered_on: on.to_string(),
                        given_name: "Nabi".into(),
                        father_name: "Karim".into(),
                        sex: if n.is_multiple_of(2) { "F" } else { "M" }.into(),
                        age: (n % 70).to_string(),
                        ..Default::default()
                    };
                    let d = raw.derive().0;
                    tx.send(ImportMessage::Row(Box::new((raw, d))))
                        .await
                        .unwrap();
                }
            }
        }
    });
    let actor = peywand_store::Actor {
        username: "test".into(),
        at: chrono::Utc::now(),
    };
    app.store.import(rx, &actor).await.unwrap();
    feeder.await.unwrap();
    // Households of every destination, with every vulnerability, return type and need.
    let (s, _) = json_call(&app, "POST", "/api/v1/households", Some(household())).await;
    assert_eq!(s, StatusCode::CREATED);
    for province in
        peywand_names::place::Gazetteer::get().all(peywand_names::place::PlaceKind::Province)
    {
        let mut h = household();
        h["destination_province"] = json!(province.code);
        h["needs"] = json!([
            "shelter",
            "food",
            "cash",
            "health",
            "transport",
            "documentation"
        ]);
        h["members"][0]["vulnerabilities"] = json!(peywand_domain::Vulnerability::ALL);
        let (s, body) = json_call(&app, "POST", "/api/v1/households", Some(h)).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let css = include_bytes!("../static/app.css").len();
    for language in ["en", "fa"] {
        let bearer = format!("Bearer {}", app.token);
        let (s, page, _) = call_with(
            &app,
            "GET",
            "/dashboard",
            None,
            "",
            &[("authorization", &bearer), ("accept-language", language)],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let html = String::from_utf8_lossy(&page);
        assert_eq!(
            html.matches("<polygon class=\"area").count(),
            6,
            "six bands"
        );
        assert!(html.contains("id=\"figure-pyramid\""));
        let total = page.len() + css;
        println!(
            "dashboard, a year at ten sites ({language}): {} bytes of HTML + {css} of CSS = {total} bytes",
            page.len()
        );
        assert!(total < 150 * 1024, "{total} bytes");
    }
}

/// Without its script the desk still fits the family: "add a member" brings the form back
/// with what was typed and one more block, as many times as the family needs.
#[tokio::test]
async fn the_desk_adds_members_without_script_and_saves_any_household_size() {
    let app = app().await;
    let (_, page, _) = call(&app, "GET", "/households/new", None, "").await;
    let page = String::from_utf8_lossy(&page);
    assert!(
        page.contains("given_name_1") && !page.contains("given_name_2"),
        "the head and one member"
    );
    let mut form = String::from(
        "site=torkham&legal_basis=consent&purposes=registration&given_name_0=Gul+Bibi&sex_0=F&relationship_0=head&vulnerability_0=female_headed_household",
    );
    for i in 1..11 {
        let (s, page, _) = call(
            &app,
            "POST",
            "/households",
            // A browser sends the empty block too.
            Some(&format!("{form}&given_name_{i}=&sex_{i}=&add_member=1")),
            "application/x-www-form-urlencoded",
        )
        .await;
        let page = String::from_utf8_lossy(&page);
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains(&format!(r#"name="given_name_{}""#, i + 1)),
            "one more block"
        );
        assert!(
            page.contains(r#"value="Gul Bibi""#)
                && page.contains(r#"value="female_headed_household" checked"#),
            "what was typed is kept"
        );
        form.push_str(&format!(
            "&given_name_{i}=Child+{i}&sex_{i}=M&age_{i}={i}&relationship_{i}=son"
        ));
    }
    let (s, _, headers) = call(
        &app,
        "POST",
        "/households",
        Some(&form),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap();
    let id = location
        .trim_start_matches("/households/")
        .split('?')
        .next()
        .unwrap();
    let (_, body) = json_call(&app, "GET", &format!("/api/v1/households/{id}"), None).await;
    assert_eq!(body["members"].as_array().unwrap().len(), 11, "{body}");
}

/// A registrar cannot give a member a record id of their choosing (it could be one a later
/// import of another site's file needs): new members get theirs from the server, and an edit
/// names only the household's own members.
#[tokio::test]
async fn a_registrar_cannot_choose_record_ids() {
    let app = app().await;
    let registrar = user_with_token(
        &*app.store,
        "rahim",
        peywand_access::Role::Registrar,
        Some("torkham"),
        "a registrar's passphrase",
    )
    .await;
    let bearer = format!("Bearer {registrar}");
    let mut claimed = household();
    claimed["members"][0]["raw"]["record_id"] = json!("SPB-2026-0001");
    let (s, body) =
        json_with_bearer(&app, &bearer, "POST", "/api/v1/households", Some(claimed)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, saved) = json_with_bearer(
        &app,
        &bearer,
        "POST",
        "/api/v1/households",
        Some(household()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{saved}");
    let given = saved["members"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!given.is_empty());
    let id = saved["household"]["id"].as_str().unwrap();
    // An edit keeps the household's own ids, and cannot bring in another.
    let mut edit = household();
    edit["members"][0]["raw"]["record_id"] = json!(given);
    let uri = format!("/api/v1/households/{id}");
    let (s, body) = json_with_bearer(&app, &bearer, "PUT", &uri, Some(edit.clone())).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    edit["members"][0]["raw"]["record_id"] = json!("SPB-2026-0001");
    let (s, body) = json_with_bearer(&app, &bearer, "PUT", &uri, Some(edit)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    // An information manager migrating another system's data keeps its ids.
    let mut imported = household();
    imported["members"][0]["raw"]["record_id"] = json!("SPB-2026-0001");
    let (s, body) = json_call(&app, "POST", "/api/v1/households", Some(imported)).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

// ---- Field phones: OpenRosa as ODK Collect speaks it ----

/// A submission's XML as Collect writes it for the household form.
fn household_xml(instance: &str, deprecated: Option<&str>, members: &[(&str, &str)]) -> String {
    let members: String = members
        .iter()
        .map(|(id, given)| {
            format!(
                "<member><member_id>uuid:{id}</member_id><given_name>{given}</given_name>\
                 <father_name>عبدالغنی</father_name><grandfather_name/><family_name/>\
                 <relationship>son</relationship><sex>male</sex><birth_date>1385</birth_date><age/>\
                 <province_of_origin>AF06</province_of_origin><district_of_origin/>\
                 <last_residence>Peshawar</last_residence><document_type/><document_number/>\
                 <phone/><vulnerabilities>separated_child</vulnerabilities></member>"
            )
        })
        .collect();
    let deprecated = deprecated
        .map(|d| format!("<deprecatedID>{d}</deprecatedID>"))
        .unwrap_or_default();
    format!(
        "<?xml version='1.0' ?><data id=\"peywand_household\" version=\"{}\" \
         xmlns:jr=\"http://openrosa.org/javarosa\" xmlns:orx=\"http://openrosa.org/xforms\">\
         <destination_province>AF06</destination_province><destination_district/>\
         <return_type>deported</return_type><needs>food</needs>\
         <legal_basis>vital_interest</legal_basis><purposes>registration family_tracing</purposes>\
         {members}<meta><instanceID>{instance}</instanceID>{deprecated}</meta></data>",
        peywand_web::openrosa::form::HOUSEHOLD_FORM.version
    )
}

/// A multipart body as Collect sends it: the XML part, then attachments.
fn multipart(xml: &str, attachments: &[(&str, &[u8])]) -> (Vec<u8>, String) {
    let boundary = "----OkHttpBoundary8f2c";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; \
             filename=\"household.xml\"\r\nContent-Type: text/xml; charset=utf-8\r\n\r\n{xml}\r\n"
        )
        .as_bytes(),
    );
    for (name, data) in attachments {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{name}\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// A POST to a phone's submission address, its body sent in small chunks (chunked transfer,
/// as Collect sends large forms): the status and the `OpenRosaResponse` message.
async fn submit(
    app: &App,
    device: &str,
    body: Vec<u8>,
    content_type: &str,
) -> (StatusCode, String) {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(700).map(|c| Ok(c.to_vec())).collect();
    let req = Request::builder()
        .method("POST")
        .uri(format!("/openrosa/key/{device}/submission"))
        .header("x-openrosa-version", "1.0")
        .header("content-type", content_type)
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    assert_eq!(resp.headers()["x-openrosa-version"], "1.0");
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(text.starts_with("<OpenRosaResponse"), "{text}");
    (status, text)
}

async fn phone_of_registrar_at_torkham(app: &App) -> String {
    user_with_token(
        &*app.store,
        "enumerator",
        peywand_access::Role::Registrar,
        Some("torkham"),
        "an enumerator's passphrase",
    )
    .await;
    device_token(&*app.store, "enumerator").await
}

/// The registrations the phone's enumerator sent.
async fn persons_at_torkham(app: &App) -> Vec<peywand_domain::Person> {
    let page = app
        .store
        .persons(
            &peywand_store::PersonFilter::default(),
            peywand_store::Page::new(0, 500),
        )
        .await
        .unwrap();
    assert!(page.total < 500);
    page.items
        .into_iter()
        .filter(|p| p.registered_by.as_deref() == Some("enumerator"))
        .collect()
}

#[tokio::test]
async fn phones_list_download_and_probe_the_form_as_collect_does() {
    let app = app().await;
    let device = phone_of_registrar_at_torkham(&app).await;
    let or = [("x-openrosa-version", "1.0"), ("host", "site.example")];
    let (status, list, headers) = call_with(
        &app,
        "GET",
        &format!("/openrosa/key/{device}/formList"),
        None,
        "",
        &or,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-openrosa-version"], "1.0");
    assert!(headers.contains_key("date"));
    let list = String::from_utf8(list).unwrap();
    let form = &peywand_web::openrosa::form::HOUSEHOLD_FORM;
    assert!(
        list.contains("<formID>peywand_household</formID>"),
        "{list}"
    );
    assert!(list.contains(&format!("<hash>{}</hash>", form.hash)));
    let download = format!("http://site.example/openrosa/key/{device}/forms/peywand_household");
    assert!(list.contains(&format!("<downloadUrl>{download}</downloadUrl>")));
    assert!(list.contains(&format!("<manifestUrl>{download}/manifest</manifestUrl>")));

    let (status, xml, _) = call_with(
        &app,
        "GET",
        &format!("/openrosa/key/{device}/forms/peywand_household"),
        None,
        "",
        &or,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    use md5::Digest as _;
    let hash: String = md5::Md5::digest(&xml)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        form.hash,
        format!("md5:{hash}"),
        "the list's hash is the form's"
    );
    let (status, manifest, _) = call_with(
        &app,
        "GET",
        &format!("/openrosa/key/{device}/forms/peywand_household/manifest"),
        None,
        "",
        &or,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        String::from_utf8(manifest)
            .unwrap()
            .contains("xformsManifest")
    );

    let submission = format!("/openrosa/key/{device}/submission");
    let (status, body, headers) = call_with(&app, "HEAD", &submission, None, "", &or).await;
    assert_eq!((status, body.len()), (StatusCode::NO_CONTENT, 0));
    assert!(headers.contains_key("x-openrosa-accept-content-length"));
    let (status, _, _) = call_with(&app, "HEAD", &submission, None, "", &[]).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the version header is required"
    );

    // A device token opens the phones' routes only; other tokens do not open them.
    let bearer = format!("Bearer {device}");
    let (status, _, _) = call_with(
        &app,
        "GET",
        "/api/v1/persons",
        None,
        "",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call_with(
        &app,
        "GET",
        &format!("/openrosa/key/{}/formList", app.token),
        None,
        "",
        &or,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Revoked, the phone is refused.
    app.store
        .revoke_token("device-of-enumerator", chrono::Utc::now())
        .await
        .unwrap();
    let (status, _, _) = call_with(
        &app,
        "GET",
        &format!("/openrosa/key/{device}/formList"),
        None,
        "",
        &or,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_phone_submission_registers_a_household_once_and_edits_it() {
    // A registry with a matching model, so that the index takes what phones send.
    let (app, _) = deduplicated_registry(120).await;
    let device = phone_of_registrar_at_torkham(&app).await;
    let xml = household_xml(
        "uuid:first",
        None,
        &[("11111111-0000-4000-8000-000000000001", "Zabiullah")],
    );
    let (body, ct) = multipart(&xml, &[("photo-1.jpg", &[0xff, 0xd8, 0x01])]);
    let (status, message) = submit(&app, &device, body, &ct).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert!(message.contains("registered"), "{message}");
    let persons = persons_at_torkham(&app).await;
    assert_eq!(persons.len(), 1);
    let p = &persons[0];
    assert_eq!(p.raw.site, "torkham", "confined to the device's site");
    assert_eq!(p.registered_by.as_deref(), Some("enumerator"));
    assert_eq!(
        p.record_id.to_string(),
        "11111111-0000-4000-8000-000000000001"
    );
    assert_eq!(p.derived.province_code.as_deref(), Some("AF06"));
    let household = p.household_id;

    // The connection was cut before the answer: the phone sends it again. Then the rest of
    // a large submission's attachments, in a second POST repeating the XML.
    for attachments in [
        &[("photo-1.jpg", &[0xff, 0xd8, 0x01][..])][..],
        &[("photo-2.jpg", &[0x02][..])],
    ] {
        let (body, ct) = multipart(&xml, attachments);
        let (status, message) = submit(&app, &device, body, &ct).await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        assert!(message.contains("already received"), "{message}");
    }
    assert_eq!(persons_at_torkham(&app).await.len(), 1, "registered once");

    // Other content under the same instanceID is refused.
    let changed = xml.replace("Zabiullah", "Zabihullah");
    let (body, ct) = multipart(&changed, &[]);
    let (status, _) = submit(&app, &device, body, &ct).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // An edit names the version it replaces: the same household, its members by their ids.
    let edit = household_xml(
        "uuid:second",
        Some("uuid:first"),
        &[
            ("11111111-0000-4000-8000-000000000001", "Zabihullah"),
            ("11111111-0000-4000-8000-000000000002", "Gul Ahmad"),
        ],
    );
    let (body, ct) = multipart(&edit, &[]);
    let (status, message) = submit(&app, &device, body, &ct).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let persons = persons_at_torkham(&app).await;
    assert_eq!(persons.len(), 2);
    assert!(persons.iter().all(|p| p.household_id == household));
    assert!(persons.iter().any(|p| p.raw.given_name == "Zabihullah"
        && p.id == persons_id(&persons, "11111111-0000-4000-8000-000000000001")));
    // The first version is no longer current; an unknown one was never received.
    let again = household_xml(
        "uuid:third",
        Some("uuid:first"),
        &[("11111111-0000-4000-8000-000000000003", "Nabi")],
    );
    let (body, ct) = multipart(&again, &[]);
    assert_eq!(
        submit(&app, &device, body, &ct).await.0,
        StatusCode::CONFLICT
    );
    let unknown = household_xml(
        "uuid:fourth",
        Some("uuid:never"),
        &[("11111111-0000-4000-8000-000000000004", "Nabi")],
    );
    let (body, ct) = multipart(&unknown, &[]);
    assert_eq!(
        submit(&app, &device, body, &ct).await.0,
        StatusCode::NOT_FOUND
    );
    // Refused edits leave their ids free: the phone can send them again once mended.
    assert!(app.store.submission("uuid:third").await.unwrap().is_none());

    // The new registrations are in the matching index at once.
    assert!(app.state.matching.not_held(persons).is_empty());

    // Every submission is audited, the device named by its token's id, never by the token.
    let entries = app
        .store
        .audit_entries(
            &peywand_store::AuditFilter {
                actor: Some("enumerator".into()),
                ..Default::default()
            },
            peywand_store::Page::new(0, 100),
        )
        .await
        .unwrap()
        .items;
    assert!(
        entries
            .iter()
            .filter(|e| e.event.action == "register_household")
            .count()
            >= 8,
        "{entries:?}"
    );
    for e in &entries {
        assert!(
            e.event.target.contains("device:device-of-enumerator"),
            "{e:?}"
        );
        assert!(!e.event.target.contains(&device));
    }
}

fn persons_id(persons: &[peywand_domain::Person], record_id: &str) -> peywand_domain::PersonId {
    persons
        .iter()
        .find(|p| p.record_id.as_str() == record_id)
        .unwrap()
        .id
}

#[tokio::test]
async fn refused_submissions_tell_the_enumerator_why() {
    let app = app().await;
    let device = phone_of_registrar_at_torkham(&app).await;
    let xml = household_xml(
        "uuid:r1",
        None,
        &[("11111111-0000-4000-8000-000000000009", "Zabiullah")],
    );
    // No XML part; a body cut short; not multipart at all.
    let (body, ct) = multipart(&xml, &[]);
    let no_xml = String::from_utf8(body.clone())
        .unwrap()
        .replace("xml_submission_file", "other");
    assert_eq!(
        submit(&app, &device, no_xml.into_bytes(), &ct).await.0,
        StatusCode::BAD_REQUEST
    );
    let cut = body[..body.len() / 2].to_vec();
    assert_eq!(
        submit(&app, &device, cut, &ct).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        submit(&app, &device, xml.clone().into_bytes(), "text/xml")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    // A member without any name, as the desk refuses it, in the phone's language.
    let nameless = xml
        .replace("<given_name>Zabiullah</given_name>", "<given_name/>")
        .replace("<father_name>عبدالغنی</father_name>", "<father_name/>");
    let (body, ct) = multipart(&nameless, &[]);
    let req = Request::builder()
        .method("POST")
        .uri(format!("/openrosa/key/{device}/submission"))
        .header("x-openrosa-version", "1.0")
        .header("accept-language", "fa-AF")
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains("nature=\"error\"") && text.contains("نام"),
        "{text}"
    );
    // A value the form does not offer.
    let (body, ct) = multipart(&xml.replace("<sex>male</sex>", "<sex>x</sex>"), &[]);
    assert_eq!(
        submit(&app, &device, body, &ct).await.0,
        StatusCode::BAD_REQUEST
    );
    // Mended, it is registered at the phone's site.
    let (body, ct) = multipart(&xml, &[]);
    assert_eq!(
        submit(&app, &device, body, &ct).await.0,
        StatusCode::CREATED
    );
    assert!(
        persons_at_torkham(&app)
            .await
            .iter()
            .all(|p| p.raw.site == "torkham")
    );
    // Nothing refused was registered.
    assert_eq!(persons_at_torkham(&app).await.len(), 1);
}

/// Two offline edits that crossed are shown on the household's page with both values, who
/// made them and where, for a person to settle; a synced site's desk says when it last
/// reached the hub and how much waits to go.
#[tokio::test]
async fn crossed_edits_and_the_sync_state_are_shown_where_people_work() {
    let app = app().await;
    app.store.set_origin("hub").await.unwrap();
    let (s, created) = json_call(&app, "POST", "/api/v1/households", Some(household())).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id: peywand_domain::HouseholdId = created["household"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let record = app.store.household(id).await.unwrap().unwrap();
    let first = app
        .store
        .changes_after("hub", 0, 1)
        .await
        .unwrap()
        .remove(0);
    let mut edit = household();
    edit["members"][0]["raw"]["record_id"] = created["members"][0]["record_id"].clone();
    edit["destination_province"] = json!("AF01");
    let uri = format!("/api/v1/households/{id}");
    let (s, _) = json_call(&app, "PUT", &uri, Some(edit)).await;
    assert_eq!(s, StatusCode::OK);
    let mut offline = peywand_store::SavedHousehold::of(
        &record,
        &peywand_store::Actor {
            username: "rahim".into(),
            at: chrono::Utc::now(),
        },
    );
    offline.draft.destination_province = Some("AF02".into());
    let at = peywand_sync::Hlc::new(peywand_store::sync::physical_ms(), 0).unwrap();
    let crossing = peywand_store::sync::new_change("torkham", 1, &at, Some(first.id), &offline);
    app.store.receive(&[crossing]).await.unwrap();
    assert_eq!(app.store.crossed_fields(id).await.unwrap().len(), 1);
    let (_, page, _) = call(&app, "GET", &format!("/households/{id}"), None, "").await;
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("Edited here and elsewhere while offline"),
        "{page}"
    );
    assert!(page.contains("AF02") && page.contains("rahim") && page.contains("torkham"));

    // A site enrolled with a hub says on its desk when it last synced.
    let dir = tempfile::tempdir().unwrap();
    let site = app_on(fresh_store(&dir).await, dir).await;
    site.store.set_origin("torkham").await.unwrap();
    site.store
        .set_hub_link("https://hub.example.org", "ps_secret")
        .await
        .unwrap();
    let (s, _) = json_call(&site, "POST", "/api/v1/households", Some(household())).await;
    assert_eq!(s, StatusCode::CREATED);
    // The household, and the site's audit entries, which go to the hub with it.
    let own = site.store.heads().await.unwrap().get("torkham");
    assert!(own >= 2, "{own}");
    let (_, desk, _) = call(&site, "GET", "/households/new", None, "").await;
    let desk = String::from_utf8(desk).unwrap();
    let waiting = site.store.heads().await.unwrap().get("torkham");
    assert!(
        desk.contains(&format!(
            "Not yet synced with the hub; {waiting} changes wait to go."
        )) || desk.contains(&format!(
            "Not yet synced with the hub; {own} changes wait to go."
        )),
        "{desk}"
    );
}

/// A family registered twice, at Torkham and at Spin Boldak under another spelling, whose
/// members deduplication found to be the same people: a winter kit is given once. The second
/// is refused with where, when and by whom the first was given; the information manager's
/// override succeeds and is audited with its reason; a distribution officer's is refused.
#[tokio::test]
async fn a_family_registered_at_two_sites_gets_one_winter_kit_unless_a_supervisor_overrides() {
    use peywand_access::Role;
    let app = app().await;
    let season = json!({
        "name": "Winter kits 2026-27",
        "kind": "winter_kit",
        "entitlement": "once_per_household",
        "season_from": "2025-11-01",
        "season_to": "2099-02-28",
    });
    let (s, programme) =
        json_call(&app, "POST", "/api/v1/assistance/programmes", Some(season)).await;
    assert_eq!(s, StatusCode::CREATED, "{programme}");
    let (s, _) = json_call(
        &app,
        "POST",
        "/api/v1/assistance/programmes",
        Some(
            json!({"name": "Cash", "kind": "cash", "entitlement": "once_per_household",
            "season_from": "2026-11-01", "season_to": "2027-02-28"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "cash needs an amount");

    let (s, torkham) = json_call(&app, "POST", "/api/v1/households", Some(household())).await;
    assert_eq!(s, StatusCode::CREATED);
    let mut elsewhere = household();
    elsewhere["site_code"] = json!("spin-boldak");
    elsewhere["members"][0]["raw"]["given_name"] = json!("Abdulghani");
    elsewhere["members"][1]["raw"]["given_name"] = json!("Zabihullah");
    let (s, spin_boldak) = json_call(&app, "POST", "/api/v1/households", Some(elsewhere)).await;
    assert_eq!(s, StatusCode::CREATED);
    let records = |h: &Value| -> Vec<String> {
        h["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["record_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (here, there) = (records(&torkham), records(&spin_boldak));
    // Deduplication found each member of one household to be a member of the other.
    let identities = here
        .iter()
        .zip(&there)
        .flat_map(|(a, b)| [(a.clone(), a.clone()), (b.clone(), a.clone())])
        .collect();
    app.store
        .save_linkage(&peywand_store::LinkageRun {
            identities,
            finished_at: chrono::Utc::now(),
            ..Default::default()
        })
        .await
        .unwrap();

    let nadia = user_with_token(
        &*app.store,
        "nadia",
        Role::DistributionOfficer,
        Some("torkham"),
        "a distribution officer's passphrase",
    )
    .await;
    let nadia = format!("Bearer {nadia}");
    let zarmina = user_with_token(
        &*app.store,
        "zarmina",
        Role::DistributionOfficer,
        Some("spin-boldak"),
        "another officer's passphrase",
    )
    .await;
    let zarmina = format!("Bearer {zarmina}");
    let torkham_id = torkham["household"]["id"].as_str().unwrap();
    let spin_boldak_id = spin_boldak["household"]["id"].as_str().unwrap();
    let kit =
        |household: &str| json!({"household_id": household, "kind": "winter_kit", "quantity": 1});

    // Bad input writes nothing.
    let refused = [
        (
            json!({"household_id": "0190f0a0-0000-7000-8000-000000000000", "kind": "winter_kit", "quantity": 1}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"household_id": torkham_id, "kind": "winter_kit", "quantity": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"household_id": torkham_id, "kind": "winter_kit", "quantity": 1, "given_on": "2999-01-01"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"household_id": torkham_id, "kind": "blankets", "quantity": 1}),
            StatusCode::CONFLICT,
        ),
    ];
    for (body, status) in refused {
        let (s, answer) = json_with_bearer(
            &app,
            &nadia,
            "POST",
            "/api/v1/assistance/distributions",
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, status, "{body} {answer}");
    }
    let (s, answer) = json_with_bearer(
        &app,
        &nadia,
        "POST",
        "/api/v1/assistance/distributions",
        Some(json!({"household_id": torkham_id, "kind": "blankets", "quantity": 1})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no programme gives blankets"),
        "{answer}"
    );

    let (s, first) = json_with_bearer(
        &app,
        &nadia,
        "POST",
        "/api/v1/assistance/distributions",
        Some(kit(torkham_id)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["site_code"], "torkham");
    let given_on = first["given_on"].as_str().unwrap().to_string();

    // At the other site, under the other spelling: refused, saying where, when and by whom.
    let (s, again) = json_with_bearer(
        &app,
        &zarmina,
        "POST",
        "/api/v1/assistance/distributions",
        Some(kit(spin_boldak_id)),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");
    assert_eq!(
        again["error"]["message"],
        format!(
            "winter_kit was already given to this household, at torkham on {given_on} by nadia"
        )
    );
    let (s, seen) = json_with_bearer(
        &app,
        &zarmina,
        "GET",
        &format!("/api/v1/households/{spin_boldak_id}/assistance"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{seen}");
    assert_eq!(seen["received"].as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen["entitlements"][0]["entitled"], false, "{seen}");

    // The officer cannot set the rule aside, neither by the override route nor by a reason.
    let mut with_reason = kit(spin_boldak_id);
    with_reason["reason"] = json!("the first kit was stolen");
    for uri in [
        "/api/v1/assistance/overrides",
        "/api/v1/assistance/distributions",
    ] {
        let (s, answer) =
            json_with_bearer(&app, &zarmina, "POST", uri, Some(with_reason.clone())).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{uri}: {answer}");
    }
    // The information manager can, with a reason, and it is audited.
    let (s, _) = json_call(
        &app,
        "POST",
        "/api/v1/assistance/overrides",
        Some(kit(spin_boldak_id)),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an override needs a reason"
    );
    let mut overriding = with_reason.clone();
    overriding["site_code"] = json!("spin-boldak");
    let (s, second) = json_call(
        &app,
        "POST",
        "/api/v1/assistance/overrides",
        Some(overriding),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    assert_eq!(second["override_reason"], "the first kit was stolen");
    let auditor = user_with_token(
        &*app.store,
        "aziz",
        Role::Auditor,
        None,
        "an auditor's passphrase",
    )
    .await;
    let (s, log) = json_with_bearer(
        &app,
        &format!("Bearer {auditor}"),
        "GET",
        "/api/v1/audit?action=override_distribution&limit=100",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let entries = log["items"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["purpose"] == "the first kit was stolen"
                && e["outcome"]
                    .as_str()
                    .unwrap()
                    .starts_with("given despite the rule")),
        "{log}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == "zarmina" && e["outcome"] == "denied"),
        "the officer's attempt is in the log too: {log}"
    );
}

/// An address the API does not have is answered in JSON like every other error: a program
/// (or a household id left empty) gets a reason, not an empty page.
#[tokio::test]
async fn an_address_the_api_does_not_have_is_answered_in_json() {
    let app = app().await;
    for (method, uri) in [
        ("PUT", "/api/v1/households/"),
        ("GET", "/api/v1/no-such-thing"),
    ] {
        let (s, body, headers) = call(&app, method, uri, Some("{}"), "application/json").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {uri}");
        assert_eq!(
            headers["content-type"], "application/json",
            "{method} {uri}"
        );
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
}

/// The households waiting at a site are ranked by the weights in force: an information
/// manager changes them and the list re-ranks at once; a list printed keeps its weights; a
/// distribution officer neither sets weights nor reads another site's list.
#[tokio::test]
async fn the_ranked_list_follows_changed_weights_and_keeps_them_when_printed() {
    use peywand_access::Role;
    let app = app().await;
    let (s, programme) = json_call(
        &app,
        "POST",
        "/api/v1/assistance/programmes",
        Some(json!({"name": "Winter kits", "kind": "winter_kit",
            "entitlement": "once_per_household", "season_from": "2025-11-01",
            "season_to": "2099-02-28"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{programme}");
    let programme = programme["id"].as_str().unwrap().to_string();
    // Six members, nothing else recorded; and an older person alone.
    let mut large = household();
    large["needs"] = json!([]);
    let plain = json!({"raw": {"given_name": "Nabi", "father_name": "Gul", "sex": "M", "age": "30"}, "relationship": "son", "vulnerabilities": []});
    large["members"] = json!([
        plain.clone(),
        plain.clone(),
        plain.clone(),
        plain.clone(),
        plain.clone(),
        plain
    ]);
    let (s, large) = json_call(&app, "POST", "/api/v1/households", Some(large)).await;
    assert_eq!(s, StatusCode::CREATED, "{large}");
    let mut alone = household();
    alone["needs"] = json!([]);
    alone["members"] = json!([{"raw": {"given_name": "Bibi", "father_name": "Khan", "sex": "F", "age": "71"}, "relationship": "other_relative", "vulnerabilities": ["older_person_alone"]}]);
    let (s, alone) = json_call(&app, "POST", "/api/v1/households", Some(alone)).await;
    assert_eq!(s, StatusCode::CREATED, "{alone}");
    let (large, alone) = (
        large["household"]["id"].as_str().unwrap().to_string(),
        alone["household"]["id"].as_str().unwrap().to_string(),
    );
    let ranking = format!("/api/v1/assistance/ranking?programme={programme}&site=torkham");
    let order = |r: &Value| -> Vec<String> {
        r["households"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["household"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, before) = json_call(&app, "GET", &ranking, None).await;
    assert_eq!(s, StatusCode::OK, "{before}");
    assert_eq!(order(&before), [alone.clone(), large.clone()], "{before}");
    assert_eq!(before["weights"]["set_by"], Value::Null);
    // Each score is explained: the older person alone's parts name the factor and its points.
    assert_eq!(
        before["households"][0]["score"]["parts"][0],
        json!({"factor": "older_person_alone", "count": 1, "points": 30})
    );

    let nadia = user_with_token(
        &*app.store,
        "nadia",
        Role::DistributionOfficer,
        Some("torkham"),
        "a distribution officer's passphrase",
    )
    .await;
    let nadia = format!("Bearer {nadia}");
    let mut heavier = before["weights"]["weights"].clone();
    heavier["per_member"] = json!(20);
    let (s, _) = json_with_bearer(
        &app,
        &nadia,
        "PUT",
        "/api/v1/assistance/weights",
        Some(heavier.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an officer does not set weights");
    let mut too_heavy = heavier.clone();
    too_heavy["no_shelter"] = json!(101);
    let (s, _) = json_call(&app, "PUT", "/api/v1/assistance/weights", Some(too_heavy)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, set) = json_call(
        &app,
        "PUT",
        "/api/v1/assistance/weights",
        Some(heavier.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{set}");
    assert_eq!(set["set_by"], "imogen");

    // Re-ranked at once, for the officer at the site too.
    let (s, after) = json_with_bearer(&app, &nadia, "GET", &ranking, None).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(order(&after), [large.clone(), alone.clone()], "{after}");
    assert_eq!(after["weights"]["weights"], heavier);
    let (s, _) = json_with_bearer(
        &app,
        &nadia,
        "GET",
        &format!("/api/v1/assistance/ranking?programme={programme}&site=spin-boldak"),
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "another site's list is that site's"
    );

    // Printed: kept with the weights in force, readable later as printed.
    let (s, list) = json_with_bearer(
        &app,
        &nadia,
        "POST",
        "/api/v1/assistance/lists",
        Some(json!({"programme": programme})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{list}");
    assert_eq!(list["weights"], heavier);
    assert_eq!(list["printed_by"], "nadia");
    assert_eq!(list["site_code"], "torkham");
    let id = list["id"].as_str().unwrap();
    // Weights changed after printing do not change the list printed.
    let (s, _) = json_call(
        &app,
        "PUT",
        "/api/v1/assistance/weights",
        Some(before["weights"]["weights"].clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, again) = json_call(&app, "GET", &format!("/api/v1/assistance/lists/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again, list);
    let zarmina = user_with_token(
        &*app.store,
        "zarmina",
        Role::DistributionOfficer,
        Some("spin-boldak"),
        "another officer's passphrase",
    )
    .await;
    let (s, _) = json_with_bearer(
        &app,
        &format!("Bearer {zarmina}"),
        "GET",
        &format!("/api/v1/assistance/lists/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = json_call(
        &app,
        "GET",
        &format!(
            "/api/v1/assistance/ranking?programme={}&site=torkham",
            uuid::Uuid::now_v7()
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an unknown programme");
}

/// At the distribution page an officer finds the household by the id a scanner types, records
/// a kit for a named member, and a second kit is refused in their language with where, when
/// and by whom the first was given; the information manager's override needs a reason.
#[tokio::test]
async fn the_distribution_page_records_once_and_says_who_gave_first() {
    use peywand_access::Role;
    let app = app().await;
    let (s, _) = json_call(
        &app,
        "POST",
        "/api/v1/assistance/programmes",
        Some(json!({"name": "Winter kits", "kind": "winter_kit",
            "entitlement": "once_per_household", "season_from": "2025-11-01",
            "season_to": "2099-02-28"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, h) = json_call(&app, "POST", "/api/v1/households", Some(household())).await;
    let id = h["household"]["id"].as_str().unwrap();
    let son = h["members"][1]["record_id"].as_str().unwrap();
    let nadia = user_with_token(
        &*app.store,
        "nadia",
        Role::DistributionOfficer,
        Some("torkham"),
        "a distribution officer's passphrase",
    )
    .await;
    let nadia = format!("Bearer {nadia}");
    let as_nadia = |lang: &'static str| {
        [
            ("authorization", nadia.clone()),
            ("accept-language", lang.to_string()),
        ]
    };
    let headers = |h: &[(&'static str, String); 2]| -> Vec<(&'static str, String)> { h.to_vec() };
    let send = |method: &'static str, uri: String, body: Option<String>, lang: &'static str| {
        let h = headers(&as_nadia(lang));
        let app = &app;
        async move {
            let borrowed: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (s, bytes, headers) = call_with(
                app,
                method,
                &uri,
                body.as_deref(),
                "application/x-www-form-urlencoded",
                &borrowed,
            )
            .await;
            (s, String::from_utf8_lossy(&bytes).to_string(), headers)
        }
    };
    // The scanner types the id into the field and presses Enter.
    let (s, _, headers) = send("GET", format!("/assistance?q={id}"), None, "en").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], format!("/assistance/households/{id}"));
    let (s, page, _) = send("GET", format!("/assistance/households/{id}"), None, "en").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("Winter kits") && page.contains("Entitled"),
        "{page}"
    );
    assert!(
        !page.contains("override-form"),
        "an officer is offered no override"
    );

    let form =
        |kind: &str, quantity: &str| format!("kind={kind}&quantity={quantity}&received_by={son}");
    let give = format!("/assistance/households/{id}/distributions");
    let (s, page, _) = send("POST", give.clone(), Some(form("winter_kit", "0")), "en").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Give a quantity of one or more."), "{page}");
    let (s, _, headers) = send("POST", give.clone(), Some(form("winter_kit", "1")), "en").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        headers["location"],
        format!("/assistance/households/{id}?given=1")
    );
    let (_, page, _) = send(
        "GET",
        format!("/assistance/households/{id}?given=1"),
        None,
        "en",
    )
    .await;
    assert!(page.contains("Recorded: handed over."), "{page}");
    assert!(
        page.contains("ذبیح‌الله"),
        "received by the son, by name: {page}"
    );

    // Again, in Dari: refused, saying where, when and by whom.
    let (s, page, _) = send("POST", give, Some(form("winter_kit", "1")), "fa").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("dir=\"rtl\""), "{page}");
    assert!(page.contains("قبلاً") && page.contains("nadia"), "{page}");
    let received = app
        .store
        .household_distributions(id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(received.len(), 1, "the refusal wrote nothing");

    // The information manager's override needs a reason.
    let bearer = format!("Bearer {}", app.token);
    let (s, bytes, _) = call_with(
        &app,
        "POST",
        &format!("/assistance/households/{id}/overrides"),
        Some("kind=winter_kit&quantity=1&received_by=head&reason="),
        "application/x-www-form-urlencoded",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let (s, _, _) = call_with(
        &app,
        "POST",
        &format!("/assistance/households/{id}/overrides"),
        Some("kind=winter_kit&quantity=1&received_by=head&reason=torn+in+the+rain"),
        "application/x-www-form-urlencoded",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let received = app
        .store
        .household_distributions(id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        received[1].override_reason.as_deref(),
        Some("torn in the rain")
    );
}

/// Plans and stock per site, a programme's criteria, and the report of what was given against
/// them: HXL-tagged, with a single household's distribution suppressed.
#[tokio::test]
async fn stock_and_distributions_are_reported_per_site_with_small_cells_suppressed() {
    use peywand_access::Role;
    let app = app().await;
    let (s, programme) = json_call(
        &app,
        "POST",
        "/api/v1/assistance/programmes",
        Some(
            json!({"name": "Blankets", "kind": "blankets", "entitlement": "per_person",
            "season_from": "2025-11-01", "season_to": "2099-02-28",
            "criteria": {"vulnerable": true}}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{programme}");
    assert_eq!(programme["criteria"]["vulnerable"], true);
    let id = programme["id"].as_str().unwrap().to_string();
    let (s, _) = json_call(
        &app,
        "PUT",
        "/api/v1/assistance/plans",
        Some(json!({"programme": id, "site_code": "torkham", "planned": 300})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let nadia = user_with_token(
        &*app.store,
        "nadia",
        Role::DistributionOfficer,
        Some("torkham"),
        "a distribution officer's passphrase",
    )
    .await;
    let nadia = format!("Bearer {nadia}");
    let today = chrono::Utc::now().date_naive();
    let receipt = |site: &str, quantity: i64, on: chrono::NaiveDate| json!({"programme": id, "site_code": site, "quantity": quantity, "received_on": on});
    for (body, status) in [
        (receipt("torkham", 200, today), StatusCode::NO_CONTENT),
        (receipt("spin-boldak", 200, today), StatusCode::FORBIDDEN),
        (
            receipt("torkham", 0, today),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            receipt("torkham", 5, today + chrono::Duration::days(2)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (s, answer) = json_with_bearer(
            &app,
            &nadia,
            "POST",
            "/api/v1/assistance/stock",
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, status, "{body}: {answer}");
    }
    let (s, _) = json_with_bearer(
        &app,
        &nadia,
        "PUT",
        "/api/v1/assistance/plans",
        Some(json!({"programme": id, "site_code": "torkham", "planned": 1})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "plans are the information manager's"
    );

    // A household with no vulnerability is not among those the programme is for.
    let mut plain = household();
    plain["members"][1]["vulnerabilities"] = json!([]);
    let (_, plain) = json_call(&app, "POST", "/api/v1/households", Some(plain)).await;
    let (s, answer) = json_with_bearer(
        &app,
        &nadia,
        "POST",
        "/api/v1/assistance/distributions",
        Some(json!({"household_id": plain["household"]["id"], "kind": "blankets", "quantity": 2})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("criterion vulnerable"),
        "{answer}"
    );
    let (_, separated) = json_call(&app, "POST", "/api/v1/households", Some(household())).await;
    let (s, answer) = json_with_bearer(
        &app,
        &nadia,
        "POST",
        "/api/v1/assistance/distributions",
        Some(
            json!({"household_id": separated["household"]["id"], "kind": "blankets", "quantity": 2}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{answer}");

    // Readable by role: the officer their own site's, the information manager any site's.
    let (s, listed) = json_with_bearer(
        &app,
        &nadia,
        "GET",
        "/api/v1/assistance/distributions",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (s, _) = json_with_bearer(
        &app,
        &nadia,
        "GET",
        "/api/v1/assistance/distributions?site=spin-boldak",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, elsewhere) = json_call(
        &app,
        "GET",
        "/api/v1/assistance/distributions?site=spin-boldak",
        None,
    )
    .await;
    assert_eq!((s, elsewhere), (StatusCode::OK, json!([])));

    let (s, stock) = json_with_bearer(&app, &nadia, "GET", "/api/v1/assistance/stock", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            &stock[0]["planned"],
            &stock[0]["received"],
            &stock[0]["distributed"]
        ),
        (&json!(300), &json!(200), &json!(2)),
        "{stock}"
    );

    let (s, bytes, _) = call(&app, "GET", "/dashboard/distributions.csv", None, "").await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "week,site_code,site,kind,households,units");
    assert!(lines[1].starts_with("#date+week_start,#loc+code"), "{text}");
    assert!(
        lines[2].ends_with(",torkham,Torkham,blankets,<5,*"),
        "one household's blankets are not shown as a number: {text}"
    );
    let (s, bytes, _) = call(&app, "GET", "/dashboard/stock.csv", None, "").await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.lines()
            .nth(2)
            .unwrap()
            .ends_with(",blankets,torkham,Torkham,300,200,<5,*"),
        "{text}"
    );
    let (s, bytes, _) = call(&app, "GET", "/dashboard", None, "").await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(bytes).unwrap();
    assert!(
        page.contains("figure-distributions") && page.contains("&lt;5"),
        "{page}"
    );
}

/// A thin request (a name, a sex, an age, a province) that three registered girls fit: the
/// case says how many fit and asks for the father's name, naming no registration.
#[tokio::test]
async fn a_thin_request_asks_for_the_detail_that_would_settle_it() {
    let (app, _) = deduplicated_registry(1_500).await;
    for (i, father) in ["Karim", "Jawad", "Sharifullah"].iter().enumerate() {
        let girl = json!({"record_id": format!("TKM-NASIMA-{i}"), "site": "torkham",
            "registered_on": "2025-01-10", "given_name": "Nasima", "father_name": father,
            "sex": "F", "birth_date": "2015", "province_of_origin": "Nangarhar"});
        let (s, body) = json_call(
            &app,
            "POST",
            "/api/v1/households",
            Some(json!({"members": [{"raw": girl}]})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let bearer = karima(&*app.store).await;
    let request = json!({
        "requester_name": "Bibi Hawa", "requester_relationship": "mother",
        "requester_contact": "", "last_seen_place": "Torkham", "circumstances": "",
        "distinguishing_details": "", "separated_child": true,
        "sought": {"given_name": "Nasima", "sex": "F", "birth_date": "2015",
                   "province_of_origin": "Nangarhar"},
    });
    let (s, case) = json_with_bearer(
        &app,
        &bearer,
        "POST",
        "/api/v1/tracing/requests",
        Some(request),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let id = case["request"]["id"].as_str().unwrap();
    let uri = format!("/api/v1/tracing/requests/{id}/what-would-settle");
    let (s, answer) = json_with_bearer(&app, &bearer, "GET", &uri, None).await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    assert_eq!(answer["settle"]["ask_for"], "father_name", "{answer}");
    assert!(
        answer["settle"]["fitting"].as_u64().unwrap() >= 3,
        "{answer}"
    );
    assert!(
        !answer.to_string().contains("NASIMA"),
        "no registration named: {answer}"
    );
    // The case page says the same in Dari.
    let (s, page, _) = call_with(
        &app,
        "GET",
        &format!("/tracing/{id}"),
        None,
        "text/html",
        &[("authorization", &bearer), ("cookie", "peywand_lang=fa")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("از خانواده بپرسید"), "{page}");
    assert!(page.contains("نام پدر"), "{page}");
}

/// A rebuild of the matching index that fails (here a stored model that cannot be read) leaves
/// the index in use answering: the desk's check and tracing go on, and the next count of ended
/// cases tries again.
#[tokio::test]
async fn a_failed_rebuild_keeps_the_index_in_use() {
    use peywand_store::LinkageRun;
    let (app, _) = deduplicated_registry(300).await;
    assert_eq!(app.state.matching.status(), peywand_web::IndexStatus::Ready);
    app.store
        .save_linkage(&LinkageRun {
            identities: Vec::new(),
            review: Vec::new(),
            model: "not a model".into(),
            stats: "{}".into(),
            finished_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let store: Arc<dyn peywand_store::Store> = app.store.clone();
    app.state.matching.reload(store);
    // Reading the model fails at once; a failed rebuild that replaced the index would show
    // within these two seconds.
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(app.state.matching.status(), peywand_web::IndexStatus::Ready);
    }
}

/// The tracing cases that ended teach the matching index, without a restart: the confirmed
/// ones how relatives' requests compare with the registrations found, and, once enough have
/// ended, how sure to be (here 45 found and 15 closed without finding the person). The
/// dashboard says whether the probabilities have been checked so. The index is rebuilt only
/// when cases ended since it learnt.
#[tokio::test]
async fn cases_that_ended_teach_the_index_without_a_restart() {
    use peywand_domain::{CandidateStatus, CaseStatus, RawRegistration, TracingRequestDraft};
    let (app, rows) = deduplicated_registry(1_500).await;
    let (s, bytes, _) = call(&app, "GET", "/dashboard", None, "").await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(bytes).unwrap();
    assert!(page.contains("Not enough cases have ended"), "{page}");

    let actor = peywand_store::Actor {
        username: "caseworker".into(),
        at: chrono::Utc::now(),
    };
    let sought: Vec<_> = rows
        .iter()
        .filter(|r| !r.given_name.is_empty() && !r.father_name.is_empty())
        .take(60)
        .collect();
    for (i, r) in sought.iter().enumerate() {
        let draft = TracingRequestDraft {
            requester_name: "Bibi Hawa".into(),
            sought: RawRegistration {
                given_name: r.given_name.clone(),
                father_name: r.father_name.clone(),
                sex: r.sex.clone(),
                age: r.age.clone(),
                ..RawRegistration::default()
            },
            ..TracingRequestDraft::default()
        };
        let id = app
            .store
            .create_tracing_request(&draft, &actor)
            .await
            .unwrap()
            .id;
        if i < 45 {
            let record: peywand_domain::RecordId = r.record_id.parse().unwrap();
            app.store
                .offer_candidates(id, &[(record.clone(), 0.9)], &actor)
                .await
                .unwrap();
            app.store
                .decide_candidate(id, &record, CandidateStatus::Confirmed, &actor, "seen")
                .await
                .unwrap();
        } else {
            app.store
                .move_case(id, CaseStatus::ClosedWithoutResult, &actor, "not found")
                .await
                .unwrap();
        }
    }
    let store: Arc<dyn peywand_store::Store> = app.store.clone();
    let learn = || {
        app.state
            .matching
            .learn_from_cases_ended_since(store.clone())
    };
    assert!(
        learn().await.unwrap(),
        "sixty cases ended since the index was built"
    );
    let mut learnt = None;
    for _ in 0..400 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        learnt = app.state.matching.learnt_from_cases();
        if learnt.is_some_and(|l| l.found + l.closed > 0) {
            break;
        }
    }
    let learnt = learnt.expect("the rebuilt index learnt");
    assert_eq!((learnt.found, learnt.closed), (45, 15), "{learnt:?}");
    assert!(
        learnt.calibrated,
        "sixty cases, ended both ways, are enough: {learnt:?}"
    );
    let (_, bytes, _) = call(&app, "GET", "/dashboard", None, "").await;
    let page = String::from_utf8(bytes).unwrap();
    assert!(
        page.contains("Checked against the 60 cases that ended"),
        "{page}"
    );
    assert!(!learn().await.unwrap(), "no case ended since it learnt");
    let id = app
        .store
        .create_tracing_request(
            &TracingRequestDraft {
                requester_name: "Bibi Hawa".into(),
                sought: RawRegistration {
                    given_name: "Zarmina".into(),
                    ..RawRegistration::default()
                },
                ..TracingRequestDraft::default()
            },
            &actor,
        )
        .await
        .unwrap()
        .id;
    app.store
        .move_case(id, CaseStatus::ClosedWithoutResult, &actor, "not found")
        .await
        .unwrap();
    assert!(learn().await.unwrap(), "one more case ended");
}
