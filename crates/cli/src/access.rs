//! Accounts, tokens and the audit log from the command line: what an administrator and an
//! auditor do on the site's laptop.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use tokio::sync::mpsc;

use peywand_access::audit::{AuditEvent, ChainVerifier};
use peywand_access::{MIN_PASSWORD_CHARS, Role, Secret, hash_password, valid_username};
use peywand_store::{ApiToken, NewUser, Store};

use crate::context::{Database, open, open_existing};

/// The command line's name in the audit log: the operating-system account that ran it.
pub fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// Records something done from the command line.
pub async fn audit(
    store: &dyn Store,
    action: &str,
    target: &str,
    purpose: &str,
) -> anyhow::Result<()> {
    let event = AuditEvent::now(&cli_actor(), action, target)
        .purpose(purpose)
        .origin("cli");
    store
        .append_audit(&event)
        .await
        .context("the audit log cannot be written")?;
    Ok(())
}

/// The new user's password: prompted twice without echo at a terminal, else the first line
/// of standard input (for scripts).
fn read_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("password: ")?;
        let again = rpassword::prompt_password("password again: ")?;
        if first != again {
            bail!("the two passwords differ: nothing was created");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    if password.chars().count() < MIN_PASSWORD_CHARS {
        bail!(
            "a password must be at least {MIN_PASSWORD_CHARS} characters: a few words make a good one"
        );
    }
    Ok(password)
}

pub async fn user_add(
    db: &Database,
    username: &str,
    role: &str,
    site: Option<&str>,
) -> anyhow::Result<()> {
    valid_username(username).map_err(anyhow::Error::msg)?;
    let role = Role::from_code(role).with_context(|| {
        format!("unknown role {role}: one of registrar, caseworker, distribution_officer, information_manager, auditor, administrator")
    })?;
    let site = site.map(str::trim).filter(|s| !s.is_empty());
    if role.site_bound() && site.is_none() {
        bail!("a {role} works at one site: give it with --site");
    }
    if let Some(code) = site
        && !is_site(code)
    {
        bail!("there is no site {code}: `peywand sites` lists the site codes");
    }
    let password = read_password()?;
    let password_hash = hash_password(&password).map_err(anyhow::Error::msg)?;
    let store = open(db).await?;
    store
        .create_user(&NewUser {
            username: username.to_string(),
            role,
            site_code: site.map(str::to_string),
            password_hash,
        })
        .await?;
    audit(&*store, "user_add", username, role.code()).await?;
    store.close().await;
    println!("user {username} created as {role}");
    Ok(())
}

/// Every place a user can work at: the gazetteer's crossing points, reception centres and
/// camps, which the server also registers as its sites.
fn site_places() -> impl Iterator<Item = &'static peywand_names::place::Place> {
    use peywand_names::place::{Gazetteer, PlaceKind};
    let g = Gazetteer::get();
    [
        PlaceKind::CrossingPoint,
        PlaceKind::ReceptionCentre,
        PlaceKind::Camp,
    ]
    .into_iter()
    .flat_map(move |k| g.all(k))
}

/// Whether `code` is the code of a site (`peywand sites` lists them).
pub(crate) fn is_site(code: &str) -> bool {
    site_places().any(|p| p.code == code)
}

/// Prints the site codes with their names.
pub fn sites() {
    println!("{:<24} name", "code");
    for p in site_places() {
        println!("{:<24} {}", p.code, p.name_en);
    }
}

/// Every user, with what an administrator checks: role, site, last sign-in, state.
pub async fn user_list(db: &Database) -> anyhow::Result<()> {
    let store = open_existing(db).await?;
    let users = store.users().await?;
    store.close().await;
    println!(
        "{:<24} {:<22} {:<16} {:<22} state",
        "username", "role", "site", "last sign-in"
    );
    for u in users {
        let state = if u.disabled_at.is_some() {
            "disabled".to_string()
        } else if u.must_change_password {
            "must change password".to_string()
        } else {
            "active".to_string()
        };
        let failures = if u.failed_logins > 0 {
            format!(" ({} failed sign-ins since the last)", u.failed_logins)
        } else {
            String::new()
        };
        println!(
            "{:<24} {:<22} {:<16} {:<22} {state}{failures}",
            u.username,
            u.role.code(),
            u.site_code.as_deref().unwrap_or("-"),
            u.last_sign_in_at.map_or_else(
                || "never".into(),
                |t| t.format("%Y-%m-%d %H:%M UTC").to_string()
            ),
        );
    }
    Ok(())
}

/// Disables a user (ending their sessions; their tokens are refused while disabled) or
/// enables them again.
pub async fn user_disable(db: &Database, username: &str, disable: bool) -> anyhow::Result<()> {
    let store = open_existing(db).await?;
    let at = disable.then(chrono::Utc::now);
    store.set_disabled(username, at).await?;
    let action = if disable {
        "user_disable"
    } else {
        "user_enable"
    };
    audit(&*store, action, username, "").await?;
    if disable {
        store.end_sessions(username).await?;
    }
    store.close().await;
    if disable {
        println!("user {username} disabled: their sessions ended and their tokens are refused");
    } else {
        println!("user {username} enabled");
    }
    Ok(())
}

/// Sets a temporary password and prints it once.
pub async fn user_reset_password(db: &Database, username: &str) -> anyhow::Result<()> {
    let store = open_existing(db).await?;
    let temporary = peywand_access::temporary_password();
    let hash = hash_password(&temporary).map_err(anyhow::Error::msg)?;
    store.set_password(username, &hash, true).await?;
    audit(&*store, "user_reset_password", username, "").await?;
    store.end_sessions(username).await?;
    store.close().await;
    eprintln!(
        "temporary password for {username}, shown once; they must choose a new one when they sign in:"
    );
    println!("{temporary}");
    Ok(())
}

/// Ends every session of a user and revokes every token.
pub async fn user_end_sessions(db: &Database, username: &str) -> anyhow::Result<()> {
    let store = open_existing(db).await?;
    if store.user(username).await?.is_none() {
        bail!("no user {username}");
    }
    audit(&*store, "user_end_sessions", username, "").await?;
    let sessions = store.end_sessions(username).await?;
    let tokens = store.revoke_tokens_of(username, chrono::Utc::now()).await?;
    store.close().await;
    println!("{username}: {sessions} sessions ended, {tokens} tokens revoked");
    Ok(())
}

fn token_expiry(days: i64) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if !(1..=3650).contains(&days) {
        bail!("--days must be 1 to 3650");
    }
    Ok(chrono::Utc::now() + chrono::Duration::days(days))
}

pub async fn token_renew(db: &Database, id: &str, days: i64) -> anyhow::Result<()> {
    let until = token_expiry(days)?;
    let store = open_existing(db).await?;
    store.renew_token(id, until).await?;
    audit(&*store, "token_renew", id, &format!("{days} days")).await?;
    store.close().await;
    println!("token {id} renewed until {}", until.format("%Y-%m-%d"));
    Ok(())
}

pub async fn token_create(
    db: &Database,
    username: &str,
    label: &str,
    days: i64,
) -> anyhow::Result<()> {
    let expires_at = token_expiry(days)?;
    let store = open_existing(db).await?;
    if store.user(username).await?.is_none() {
        bail!("no user {username}");
    }
    let token = Secret::generate("pt_");
    let id = uuid::Uuid::now_v7().to_string();
    store
        .create_token(&ApiToken {
            id: id.clone(),
            digest: token.digest.clone(),
            username: username.to_string(),
            label: label.to_string(),
            created_at: chrono::Utc::now(),
            revoked_at: None,
            expires_at,
        })
        .await?;
    audit(&*store, "token_create", &id, username).await?;
    store.close().await;
    eprintln!(
        "token {id} for {username}, until {}; it is shown once, keep it secret:",
        expires_at.format("%Y-%m-%d")
    );
    println!("{}", token.text);
    Ok(())
}

pub async fn token_list(db: &Database, username: Option<&str>) -> anyhow::Result<()> {
    let store = open_existing(db).await?;
    let tokens = store.tokens(username).await?;
    store.close().await;
    println!(
        "{:<38} {:<20} {:<20} {:<22} {:<12} revoked",
        "id", "user", "label", "created", "expires"
    );
    for t in tokens {
        println!(
            "{:<38} {:<20} {:<20} {:<22} {:<12} {}",
            t.id,
            t.username,
            t.label,
            t.created_at.format("%Y-%m-%d %H:%M UTC"),
            t.expires_at.format("%Y-%m-%d"),
            t.revoked_at
                .map(|r| r.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn token_revoke(db: &Database, id: &str) -> anyhow::Result<()> {
    let store = open_existing(db).await?;
    store.revoke_token(id, chrono::Utc::now()).await?;
    audit(&*store, "token_revoke", id, "").await?;
    store.close().await;
    println!("token {id} revoked");
    Ok(())
}

/// Walks the whole audit chain; fails at the first altered, missing or inserted entry.
pub async fn audit_verify(db: &Database) -> anyhow::Result<()> {
    let store = open_existing(db).await?;
    let (tx, mut rx) = mpsc::channel(4096);
    let checker = tokio::spawn(async move {
        let mut v = ChainVerifier::default();
        while let Some(e) = rx.recv().await {
            v.check(&e)?;
        }
        let (n, head) = v.head();
        Ok::<_, peywand_access::audit::ChainBreak>((n, head.to_string()))
    });
    store.audit_chain(tx).await?;
    store.close().await;
    let (n, head) = checker.await??;
    println!("the audit log is intact: {n} entries");
    println!("head {head}");
    Ok(())
}

/// At the hub: walks the audit chain a site sent with its changes, from its first entry; a
/// gap, an altered or an inserted entry fails it. The entries still on their way are not
/// there yet: the report says how far the chain reached.
pub async fn site_audit_verify(db: &Database, site: &str) -> anyhow::Result<()> {
    let store = open_existing(db).await?;
    let entries = store.site_audit(site).await;
    store.close().await;
    let entries = entries?;
    if entries.is_empty() {
        bail!("no audit entries from {site} have reached this registry");
    }
    let mut v = ChainVerifier::default();
    for e in &entries {
        v.check(e)?;
    }
    let (n, head) = v.head();
    println!("the audit log of {site} is intact: {n} entries");
    println!("head {head}");
    Ok(())
}

/// Erases one registration, or every registration recorded before a date; the reason goes
/// to the audit log first.
/// What `peywand purge` erases.
pub enum Erase {
    /// One registration, on the person's request.
    Record(String),
    /// Every registration recorded before a date: a retention period.
    RegisteredBefore(chrono::NaiveDate),
    /// Every tracing case that ended before a date: a retention period.
    CasesEndedBefore(chrono::NaiveDate),
}

pub async fn purge(db: &Database, what: Erase, reason: &str) -> anyhow::Result<()> {
    if reason.trim().chars().count() < 5 {
        bail!("say why these data are erased, with --reason (it is kept in the audit log)");
    }
    let store = open_existing(db).await?;
    let midnight = |date: chrono::NaiveDate| {
        date.and_hms_opt(0, 0, 0)
            .context("not a date")
            .map(|d| d.and_utc())
    };
    match what {
        Erase::Record(record) => {
            let id = peywand_domain::RecordId::parse(&record)
                .with_context(|| format!("{record:?} cannot be a record id"))?;
            audit(&*store, "purge_person", &record, reason.trim()).await?;
            let found = store.purge_person(&id).await?;
            store.close().await;
            if !found {
                bail!("no registration {record}: nothing was erased");
            }
            println!("registration {record} erased");
        }
        Erase::RegisteredBefore(date) => {
            audit(&*store, "purge_expired", &date.to_string(), reason.trim()).await?;
            let n = store.purge_registered_before(midnight(date)?).await?;
            store.close().await;
            println!("{n} registrations recorded before {date} erased");
        }
        Erase::CasesEndedBefore(date) => {
            audit(&*store, "purge_cases", &date.to_string(), reason.trim()).await?;
            let n = store.purge_cases_ended_before(midnight(date)?).await?;
            store.close().await;
            println!("{n} tracing cases that ended before {date} erased; open cases are kept");
            return Ok(());
        }
    }
    println!("a running server keeps them in its matching index until it restarts");
    Ok(())
}

/// Creates a device token for a registrar's phone and prints the address Collect takes.
pub async fn device_add(
    db: &Database,
    username: &str,
    url: &str,
    label: &str,
    days: i64,
    qr: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let expires_at = token_expiry(days)?;
    let base = url.trim().trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        bail!("--url must start with https:// (or http:// on a site's own network)");
    }
    let store = open_existing(db).await?;
    let Some(user) = store.user(username).await? else {
        bail!("no user {username}");
    };
    if !user.role.can(peywand_access::Permission::Register) {
        bail!(
            "{username} is a {}: a phone registers households, give it to a registrar",
            user.role
        );
    }
    let Some(site) = user.site_code.clone() else {
        bail!("{username} works at no site: a phone registers at its registrar's site");
    };
    let token = Secret::generate(peywand_web::openrosa::DEVICE_TOKEN_PREFIX);
    let id = uuid::Uuid::now_v7().to_string();
    store
        .create_token(&ApiToken {
            id: id.clone(),
            digest: token.digest.clone(),
            username: username.to_string(),
            label: format!("device: {label}"),
            created_at: chrono::Utc::now(),
            revoked_at: None,
            expires_at,
        })
        .await?;
    audit(&*store, "device_add", &id, username).await?;
    store.close().await;
    let server = format!("{base}/openrosa/key/{}", token.text);
    if let Some(path) = qr {
        let project = format!("Peywand {site}");
        let svg = peywand_web::openrosa::collect::qr_svg(&server, &project)
            .ok_or_else(|| anyhow::anyhow!("the address is too long for a QR code"))?;
        // The code holds the token: owner-only, like a key.
        std::io::Write::write_all(&mut crate::context::private_file(path)?, svg.as_bytes())?;
        eprintln!("QR code for ODK Collect written to {}", path.display());
    }
    if base.starts_with("http://") {
        eprintln!(
            "warning: over http:// anyone on the network can read the token; use it only on a \
             site's own network, and https:// everywhere else"
        );
    }
    eprintln!(
        "device {id} for {username} at {site}, until {}; in ODK Collect: Settings > Project \
         management > Reconfigure with QR code, or enter this server address (shown once, \
         keep it secret):",
        expires_at.format("%Y-%m-%d")
    );
    println!("{server}");
    Ok(())
}
