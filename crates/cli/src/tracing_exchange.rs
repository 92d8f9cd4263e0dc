//! `peywand pfif`: tracing cases exchanged with Person Finder-style tools in PFIF 1.4.

use std::path::Path;

use anyhow::{Context, bail};

use peywand_interchange::pfif;

use crate::commands::actor;
use crate::context::{Database, open, open_existing, private_file};

/// Imports a PFIF document: each person not held yet becomes a tracing request (at `site`),
/// notes are added to the persons they are about. All or nothing.
pub async fn import(
    db: &Database,
    file: &Path,
    site: Option<&str>,
    may_report_death: bool,
) -> anyhow::Result<()> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot open {}", file.display()))?
        .len();
    if size > pfif::MAX_DOCUMENT_BYTES as u64 {
        bail!(
            "{} is {} MiB; a PFIF file may be at most {} MiB: split it into smaller files",
            file.display(),
            size.div_ceil(1024 * 1024),
            pfif::MAX_DOCUMENT_BYTES / (1024 * 1024)
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let document = match pfif::read(&bytes) {
        Ok(d) => d,
        Err(invalid) => {
            for p in &invalid.problems {
                eprintln!("{}: {p}", file.display());
            }
            bail!("{} was refused: {invalid}", file.display());
        }
    };
    let store = open(db).await?;
    // Audited first, as every change to personal data is: a failed import leaves its attempt.
    crate::access::audit(
        &*store,
        "import_pfif",
        &file.display().to_string(),
        &format!(
            "{} persons, {} separate notes",
            document.persons.len(),
            document.notes.len()
        ),
    )
    .await?;
    let (document, refused) = document.admitted(pfif::Sender::Staff { may_report_death });
    let who = actor();
    let document = document.received(who.at);
    let persons: Vec<_> = document
        .persons
        .iter()
        .map(|p| {
            (
                p.clone(),
                pfif::tracing_request(p, site.map(str::to_string)),
            )
        })
        .collect();
    // The administrator at the server imports for every site.
    let imported = match store
        .import_pfif(&persons, &document.notes, None, &who)
        .await
    {
        Ok(i) => i,
        Err(peywand_store::StoreError::NotFound(what)) => {
            bail!(
                "{} was refused: {what}; nothing was imported",
                file.display()
            )
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "{} new tracing requests ({} persons already held), {} new notes ({} already held)",
        imported.new_requests.len(),
        imported.persons_already_present,
        imported.new_notes,
        imported.notes_already_present
    );
    if refused.death_reports > 0 {
        println!(
            "{} notes saying believed_dead were skipped: import with --may-report-death to keep them \
             for a caseworker to verify",
            refused.death_reports
        );
    }
    if !imported.new_requests.is_empty() {
        println!("they are matched against the registry when the server next starts");
        if site.is_none() {
            println!("with no --site, they are shared by the caseworkers of every site");
        }
    }
    Ok(())
}

/// Writes every tracing case as PFIF 1.4, the reason kept in the audit log first.
pub async fn export(db: &Database, out: &Path, reason: &str, domain: &str) -> anyhow::Result<()> {
    if reason.trim().chars().count() < 5 {
        bail!(
            "say why these personal data are exported, with --reason (it is kept in the audit log)"
        );
    }
    if !pfif::is_domain(domain) {
        bail!("--domain must be a domain name such as tracing.example.org");
    }
    let store = open_existing(db).await?;
    crate::access::audit(
        &*store,
        "export_pfif",
        &out.display().to_string(),
        reason.trim(),
    )
    .await?;
    let cases = store.pfif_cases().await?;
    let persons: Vec<_> = cases
        .iter()
        .map(|(case, imported)| {
            pfif::case_record(&case.request, &case.events, imported.as_ref(), domain)
        })
        .collect();
    let text = pfif::write(&persons);
    // Written beside the target, then renamed: a failed export leaves no half file.
    let partial = out.with_extension("partial");
    std::io::Write::write_all(&mut private_file(&partial)?, text.as_bytes())
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, out).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{} tracing cases written to {} as PFIF 1.4",
        persons.len(),
        out.display()
    );
    Ok(())
}

/// Sets what the holder of a token may write as a PFIF partner, audited.
pub async fn partner(
    db: &Database,
    token: &str,
    domains: Vec<String>,
    may_report_death: bool,
) -> anyhow::Result<()> {
    let domains: Vec<String> = domains
        .iter()
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    if let Some(bad) = domains.iter().find(|d| !pfif::is_domain(d)) {
        bail!("--pfif-domain {bad:?} is not a domain name such as tracing.example.org");
    }
    let store = open_existing(db).await?;
    let partner = peywand_domain::PfifPartner {
        domains,
        may_report_death,
    };
    let what = format!(
        "domains: {}; may report a death: {}",
        partner.domains.join(", "),
        if may_report_death { "yes" } else { "no" }
    );
    match store.set_pfif_partner(token, &partner).await {
        Err(peywand_store::StoreError::NotFound(_)) => {
            bail!("there is no token {token}: see `peywand token list`")
        }
        other => other?,
    }
    crate::access::audit(&*store, "pfif_partner", token, &what).await?;
    println!("token {token} writes PFIF as a partner: {what}");
    Ok(())
}
