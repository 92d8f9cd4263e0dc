//! A site's side of sync: enrolling with the hub once, then rounds that push the site's own
//! changes and pull everyone else's, page by page. Every page is safe to repeat, so a round
//! cut anywhere is simply run again.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;

use peywand_domain::HouseholdId;
use peywand_store::sync::HubLink;
use peywand_store::{Received, Store};
use peywand_sync::{Change, Heads};
use peywand_web::sync_routes::{Changes, Directory, Enrolled, HubIdentities, HubModel, PAGE};

/// What one round moved.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Round {
    /// This site's changes the hub took.
    pub pushed: u64,
    /// Changes pulled from the hub (other sites' and the hub's own).
    pub pulled: u64,
    pub received: Received,
    /// Households that arrived or changed here.
    pub households: Vec<HouseholdId>,
    /// Tracing requests opened elsewhere that arrived here.
    pub requests: Vec<peywand_domain::TracingRequestId>,
    /// The hub's matching model replaced this site's.
    pub model_updated: bool,
    /// Accounts of this site's people made or changed here from the hub's.
    pub accounts: u64,
}

impl std::fmt::Display for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} changes sent, {} received ({} new, {} already here, {} crossed an edit made here, {} about what was erased here)",
            self.pushed,
            self.pulled,
            self.received.stored,
            self.received.already_held,
            self.received.crossed,
            self.received.erased
        )
    }
}

fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .context("cannot start the HTTP client")
}

fn endpoint(hub: &str, path: &str) -> String {
    format!("{}/api/v1/sync/{path}", hub.trim_end_matches('/'))
}

/// Why the hub said no, in its own words.
async fn refused(response: reqwest::Response, what: &str) -> anyhow::Error {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = body
        .pointer("/error/message")
        .and_then(|m| m.as_str())
        .unwrap_or("no reason given");
    anyhow::anyhow!("the hub refused {what} ({status}): {message}")
}

/// Exchanges a one-time code for the site's credential, and makes this registry the site's:
/// its changes so far take the site's code.
pub async fn enrol(store: &dyn Store, hub: &str, site: &str, code: &str) -> anyhow::Result<()> {
    let origin = store.origin().await?;
    if origin != peywand_store::sync::NOT_ENROLLED && origin != site {
        bail!("this registry already syncs as {origin}");
    }
    let response = client()?
        .post(endpoint(hub, "enrol"))
        .json(&serde_json::json!({"site_code": site, "code": code}))
        .send()
        .await
        .with_context(|| format!("cannot reach the hub at {hub}"))?;
    if !response.status().is_success() {
        return Err(refused(response, "the enrolment").await);
    }
    let enrolled: Enrolled = response
        .json()
        .await
        .context("the hub's answer to the enrolment cannot be read")?;
    store.set_origin(site).await?;
    store.set_hub_link(hub, &enrolled.credential).await?;
    Ok(())
}

/// One round: pushes this site's changes the hub lacks, then pulls what this site lacks.
pub async fn round(store: &dyn Store) -> anyhow::Result<Round> {
    let Some(link) = store.hub_link().await? else {
        bail!("this registry is not enrolled with a hub: run `peywand site enrol` first");
    };
    let http = client()?;
    let own = store.origin().await?;
    let mut done = Round::default();
    let hub_heads: Heads = get(&http, &link, "heads", &[]).await?;
    // Up: this site's changes after the hub's head for it.
    let mut sent = hub_heads.get(&own);
    loop {
        let page = store.changes_after(&own, sent, PAGE).await?;
        let Some(last) = page.last().map(|c| c.seq) else {
            break;
        };
        let response = http
            .post(endpoint(&link.url, "changes"))
            .bearer_auth(&link.credential)
            .json(&Changes {
                changes: page.clone(),
                up_to: None,
            })
            .send()
            .await
            .with_context(|| format!("the link to {} dropped", link.url))?;
        if !response.status().is_success() {
            return Err(refused(response, "this site's changes").await);
        }
        done.pushed += page.len() as u64;
        sent = last;
    }
    store.note_synced(sent, chrono::Utc::now()).await?;
    // Down: every other origin's changes after what this site has seen. The hub's own come
    // last: they may name what other sites made (a candidate registered elsewhere, a case
    // opened elsewhere), which the hub held when it made them and which this round brings.
    let held = store.heads().await?;
    let mut origins: Vec<(&String, &i64)> =
        hub_heads.0.iter().filter(|(o, _)| **o != own).collect();
    origins.sort_by_key(|(o, _)| o.as_str() == peywand_store::sync::HUB);
    for (origin, hub_head) in origins {
        let mut after = held.get(origin);
        while after < *hub_head {
            let page: Changes = get(
                &http,
                &link,
                "changes",
                &[("origin", origin.clone()), ("after", after.to_string())],
            )
            .await?;
            let last = page.changes.last().map(|c: &Change| c.seq);
            let Some(last) = page.up_to.max(last) else {
                break;
            };
            done.pulled += page.changes.len() as u64;
            let (received, households) = store.receive(&page.changes).await?;
            done.requests
                .extend(peywand_web::sync_routes::opened_requests(&page.changes));
            done.received.stored += received.stored;
            done.received.already_held += received.already_held;
            done.received.crossed += received.crossed;
            done.received.erased += received.erased;
            done.households.extend(households);
            store.note_pulled(origin, last).await?;
            after = last;
        }
    }
    // The site's people's accounts and the sites list, as the hub holds them.
    let directory: Directory = get(&http, &link, "directory", &[]).await?;
    done.accounts = take_directory(store, &own, directory).await?;
    // The hub's model, learnt from every site's registrations, scores this site's checks.
    let hub_model: HubModel = get(&http, &link, "model", &[]).await?;
    if let Some(model) = hub_model.model
        && store.linkage_model().await?.as_deref() != Some(model.as_str())
    {
        // A new model comes from a new deduplication at the hub: its identities with it.
        let hub: HubIdentities = get(&http, &link, "identities", &[]).await?;
        store
            .save_linkage(&peywand_store::LinkageRun {
                identities: hub.identities,
                review: Vec::new(),
                model,
                stats: r#"{"from":"hub"}"#.into(),
                finished_at: chrono::Utc::now(),
            })
            .await?;
        done.model_updated = true;
    }
    store.note_synced(sent, chrono::Utc::now()).await?;
    Ok(done)
}

/// Takes the hub's accounts of this site's people: one made at the hub is made here, with its
/// password's hash (and a reset password still to be changed); one the hub disabled or
/// enabled is disabled or enabled here, its sessions ended. Passwords of accounts held here
/// are not replaced: a person who chose a new one here keeps it, since the hub never learns
/// it and would otherwise put the old one back at every round. Accounts made here stay here.
/// Returns how many accounts it made or changed.
async fn take_directory(store: &dyn Store, own: &str, directory: Directory) -> anyhow::Result<u64> {
    let mut changed = 0;
    for a in directory.accounts {
        if a.site_code != own {
            bail!("the hub sent an account of {}, not of {own}", a.site_code);
        }
        let Some(role) = peywand_access::Role::from_code(&a.role) else {
            continue;
        };
        let held = match store.user(&a.username).await? {
            Some(held) => held,
            None => {
                store
                    .create_user(&peywand_store::NewUser {
                        username: a.username.clone(),
                        role,
                        site_code: Some(a.site_code.clone()),
                        password_hash: a.password_hash.clone(),
                    })
                    .await?;
                if a.must_change_password {
                    store
                        .set_password(&a.username, &a.password_hash, true)
                        .await?;
                }
                changed += 1;
                let Some(made) = store.user(&a.username).await? else {
                    continue;
                };
                made
            }
        };
        if held.site_code.as_deref() != Some(own) {
            // An account of that name made here for another purpose is left alone.
            continue;
        }
        if held.disabled_at.is_some() != a.disabled_at.is_some() {
            store.set_disabled(&a.username, a.disabled_at).await?;
            if a.disabled_at.is_some() {
                store.end_sessions(&a.username).await?;
            }
            changed += 1;
        }
    }
    for site in directory.sites {
        store.upsert_site(&site).await?;
    }
    Ok(changed)
}

async fn get<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    link: &HubLink,
    path: &str,
    query: &[(&str, String)],
) -> anyhow::Result<T> {
    let response = http
        .get(endpoint(&link.url, path))
        .bearer_auth(&link.credential)
        .query(query)
        .send()
        .await
        .with_context(|| format!("cannot reach the hub at {}", link.url))?;
    if !response.status().is_success() {
        return Err(refused(response, "the request").await);
    }
    response
        .json()
        .await
        .with_context(|| format!("the hub's answer to {path} cannot be read"))
}

/// Syncs in the background while the server runs: a round every `every`, sooner after a
/// save is not needed (rounds are cheap when nothing moved); after a failure the wait doubles,
/// up to ten minutes, and starts again at `every` once the hub answers.
pub fn keep_in_sync(state: peywand_web::AppState, every: Duration) {
    tokio::spawn(async move {
        let mut wait = every;
        loop {
            tokio::time::sleep(wait).await;
            match round(state.store.as_ref()).await {
                Ok(done) => {
                    if done.pushed + done.pulled > 0 {
                        tracing::info!(
                            pushed = done.pushed,
                            pulled = done.pulled,
                            "synced with the hub"
                        );
                    }
                    if done.model_updated {
                        // The new model scores everything: the registry is read again, and
                        // every open tracing request meets it once it is ready.
                        state.matching.reload(state.store.clone());
                        state.match_waiting_requests();
                    } else {
                        state.take_in(&done.households).await;
                        state.match_arrived_requests(&done.requests).await;
                    }
                    wait = every;
                }
                Err(e) => {
                    wait = (wait * 2).min(Duration::from_secs(600));
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "sync with the hub failed");
                }
            }
        }
    });
}

/// `peywand sync`: one round, reported.
pub async fn once(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let done = round(store.as_ref()).await?;
    println!("{done}");
    if done.received.crossed > 0 {
        println!(
            "some households were edited here and elsewhere while offline: the hub settles them and flags what needs a person"
        );
    }
    Ok(())
}

/// `peywand site invite`, at the hub: the site's account (made once) and a one-time code, valid
/// seven days, that the site exchanges for its credential.
pub async fn invite(store: &dyn Store, site: &str) -> anyhow::Result<String> {
    use peywand_access::{Role, Secret};
    use peywand_web::sync_routes::{ENROLMENT_LABEL, site_account};
    if !crate::access::is_site(site) {
        bail!("there is no site {site}: `peywand sites` lists the site codes");
    }
    if store.origin().await? == peywand_store::sync::NOT_ENROLLED {
        store.set_origin(peywand_store::sync::HUB).await?;
    }
    let username = site_account(site);
    if store.user(&username).await?.is_none() {
        store
            .create_user(&peywand_store::NewUser {
                username: username.clone(),
                role: Role::SiteServer,
                site_code: Some(site.to_string()),
                // No one signs in as a site: a password no one knows.
                password_hash: peywand_access::hash_password(&Secret::generate("").text)
                    .map_err(anyhow::Error::msg)?,
            })
            .await?;
    }
    let code = Secret::generate("pe_");
    let now = chrono::Utc::now();
    store
        .create_token(&peywand_store::ApiToken {
            id: format!("{username}-enrol-{}", &code.digest[..8]),
            digest: code.digest.clone(),
            username,
            label: ENROLMENT_LABEL.into(),
            created_at: now,
            revoked_at: None,
            expires_at: now + chrono::Duration::days(7),
        })
        .await?;
    Ok(code.text)
}

/// The key a site's bundles are sealed with: the digest of its credential, which the site
/// computes from the credential it holds and the hub keeps as the token's digest (the hub
/// never stores the credential itself).
fn bundle_key(credential_digest: &str) -> Vec<u8> {
    credential_digest.as_bytes().to_vec()
}

/// The digests of a site's credentials that are still good, at the hub.
async fn site_keys(store: &dyn Store, site: &str) -> anyhow::Result<Vec<String>> {
    let now = chrono::Utc::now();
    let account = peywand_web::sync_routes::site_account(site);
    Ok(store
        .tokens(Some(&account))
        .await?
        .into_iter()
        .filter(|t| {
            t.label == peywand_web::sync_routes::CREDENTIAL_LABEL
                && t.revoked_at.is_none()
                && t.expires_at > now
        })
        .map(|t| t.digest)
        .collect())
}

/// `peywand sync export`: at a site, this site's changes the hub has not acknowledged; at the
/// hub (`--site`), every change the site did not make, which it takes once each.
pub async fn export_bundle(
    store: &dyn Store,
    out: &std::path::Path,
    site: Option<&str>,
) -> anyhow::Result<()> {
    use peywand_store::sync::HUB;
    let own = store.origin().await?;
    let heads = store.heads().await?;
    let (to, key, changes) = if own == HUB {
        let Some(site) = site else {
            bail!("at the hub, say which site the bundle is for: --site CODE");
        };
        let Some(key) = site_keys(store, site).await?.into_iter().next() else {
            bail!("{site} has no valid credential: invite and enrol it first (or it was revoked)");
        };
        // What flows down to a site, as a pull brings it (the hub's own last).
        let mut origins: Vec<&String> = heads.0.keys().filter(|o| o.as_str() != site).collect();
        origins.sort_by_key(|o| o.as_str() == HUB);
        let mut changes = Vec::new();
        for origin in origins {
            changes.extend(
                all_after(store, origin, 0)
                    .await?
                    .into_iter()
                    .filter(|c| c.kind.flows_down()),
            );
        }
        (site.to_string(), key, changes)
    } else {
        let Some(link) = store.hub_link().await? else {
            bail!("this registry is not enrolled with a hub: run `peywand site enrol` first");
        };
        let key = peywand_access::Secret::digest_of(&link.credential);
        (
            HUB.to_string(),
            key,
            all_after(store, &own, link.acknowledged).await?,
        )
    };
    let bundle = peywand_sync::Bundle {
        from: own.clone(),
        to: to.clone(),
        heads: heads.0,
        changes,
    };
    let sealed = peywand_sync::bundle::seal(&bundle, &bundle_key(&key))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let partial = out.with_extension("partial");
    std::io::Write::write_all(&mut crate::context::private_file(&partial)?, &sealed)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, out).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{} changes for {to} written to {} ({} bytes): carry it there and run `peywand sync import`",
        bundle.changes.len(),
        out.display(),
        sealed.len()
    );
    Ok(())
}

async fn all_after(store: &dyn Store, origin: &str, after: i64) -> anyhow::Result<Vec<Change>> {
    let mut all = Vec::new();
    let mut after = after;
    loop {
        let page = store.changes_after(origin, after, 1000).await?;
        let Some(last) = page.last().map(|c| c.seq) else {
            return Ok(all);
        };
        after = last;
        all.extend(page);
    }
}

/// `peywand sync import`: a bundle from the hub (at a site) or from a site (at the hub),
/// opened with the site's credential and taken whole, or refused whole.
pub async fn import_bundle(store: &dyn Store, file: &std::path::Path) -> anyhow::Result<()> {
    use peywand_store::sync::HUB;
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    peywand_sync::bundle::check_size(size).map_err(|e| anyhow::anyhow!("{e}"))?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let own = store.origin().await?;
    let keys = if own == HUB {
        let sender = peywand_sync::bundle::sender(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        let keys = site_keys(store, &sender).await?;
        if keys.is_empty() {
            bail!(
                "{sender} has no valid credential here (never enrolled, or revoked): bundle refused"
            );
        }
        keys
    } else {
        let Some(link) = store.hub_link().await? else {
            bail!("this registry is not enrolled with a hub: run `peywand site enrol` first");
        };
        vec![peywand_access::Secret::digest_of(&link.credential)]
    };
    let mut opened = Err(anyhow::anyhow!("no key"));
    for key in &keys {
        opened = peywand_sync::bundle::open(&bytes, &bundle_key(key))
            .map_err(|e| anyhow::anyhow!("{e}"));
        if opened.is_ok() {
            break;
        }
    }
    let bundle = opened?;
    if bundle.to != own {
        bail!("this bundle is for {}, not for {own}", bundle.to);
    }
    if own == HUB
        && let Some(foreign) = bundle.changes.iter().find(|c| c.origin != bundle.from)
    {
        bail!(
            "{} sent changes of {}: a site sends only its own; bundle refused",
            bundle.from,
            foreign.origin
        );
    }
    let (received, _) = store.receive(&bundle.changes).await?;
    if own != HUB {
        // What the hub held of this site's changes when it wrote the bundle.
        let acknowledged = bundle.heads.get(&own).copied().unwrap_or_default();
        let link = store.hub_link().await?;
        if link.is_some_and(|l| acknowledged > l.acknowledged) {
            store.note_synced(acknowledged, chrono::Utc::now()).await?;
        }
    }
    println!(
        "{} changes from {}: {} new, {} already here, {} crossed an edit made here",
        bundle.changes.len(),
        bundle.from,
        received.stored,
        received.already_held,
        received.crossed
    );
    Ok(())
}
