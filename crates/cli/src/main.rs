//! `peywand`: the one binary for registration desks, information managers and administrators.

mod access;
mod commands;
mod context;
mod linkage;
mod sync;
mod tracing_exchange;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Peywand (پیوند): register returning families, recognise people across sites and spellings,
/// reunite relatives, and protect the people in the data.
#[derive(Parser)]
#[command(name = "peywand", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

use commands::Database as DbArg;

#[derive(Subcommand)]
enum Command {
    /// Import a registration CSV (UTF-8). The whole file is one transaction: if any row is
    /// invalid, nothing is written and every problem is listed with its line and column.
    Import {
        #[command(flatten)]
        db: DbArg,
        /// The CSV file to import; with --mapping, a Kobo or ODK export (XLSX or CSV).
        file: PathBuf,
        /// Also write onto the imported households what they said besides their names
        /// (destinations, return types, needs, vulnerabilities): the `households.jsonl` that
        /// `peywand synth` writes beside its registry.
        #[arg(long, value_name = "FILE")]
        household_details: Option<PathBuf>,
        /// How a Kobo or ODK export's columns become registration fields (TOML; see
        /// docs/formats.md and examples/kobo-returnee-mapping.toml).
        #[arg(long, value_name = "MAPPING.toml")]
        mapping: Option<PathBuf>,
        /// Report what would be imported and every problem by sheet, row and column; write
        /// nothing. Needs --mapping.
        #[arg(long, requires = "mapping")]
        dry_run: bool,
    },
    /// Export every registration, exactly as typed, as a registration CSV.
    Export {
        #[command(flatten)]
        db: DbArg,
        /// Where to write the CSV.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Why these personal data leave the registry (kept in the audit log).
        #[arg(long)]
        reason: String,
        /// Replace record and household ids with pseudonyms made with the secret in this
        /// file (owner-only, one secret per partner organisation): for sharing.
        #[arg(long, value_name = "FILE")]
        pseudonymise_with: Option<PathBuf>,
    },
    /// Export the distributions for a partner agency to reconcile against, as CSV: households
    /// are the partnership's pseudonyms (the same as `export --pseudonymise-with` gives the
    /// same secret), no names, no officers, no override reasons.
    ExportDistributions {
        #[command(flatten)]
        db: DbArg,
        /// Where to write the CSV.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Why the distributions leave the registry (kept in the audit log).
        #[arg(long)]
        reason: String,
        /// The partnership's secret (owner-only file, one secret per partner organisation).
        #[arg(long, value_name = "FILE")]
        pseudonymise_with: PathBuf,
        /// Only the distributions given at this site.
        #[arg(long)]
        site: Option<String>,
    },
    /// Generate realistic synthetic registrations with ground truth (for demos and tests):
    /// registry.csv, truth.csv and tracing.jsonl in the output folder.
    Synth {
        /// How many people to generate.
        #[arg(long, default_value_t = 1000)]
        people: u64,
        /// The same seed always gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The output folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Run the web server: pages for the registration desk and the API under /api/v1.
    Serve {
        #[command(flatten)]
        db: DbArg,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Erase registrations recorded, and tracing cases ended, more than this many days ago
        /// (checked every hour; open cases are kept).
        #[arg(long, value_name = "DAYS")]
        retention_days: Option<u32>,
        /// At an enrolled site: seconds between sync rounds with the hub (the wait doubles
        /// while the hub does not answer, up to ten minutes).
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        sync_every: u64,
    },
    /// Erase people's data: one registration on request (--record), everything recorded
    /// before a date (--registered-before, a retention period), or tracing cases that ended
    /// before a date (--cases-ended-before). Audited with the reason.
    Purge {
        #[command(flatten)]
        db: DbArg,
        /// The record id of the registration to erase.
        #[arg(
            long,
            conflicts_with_all = ["registered_before", "cases_ended_before"],
            required_unless_present_any = ["registered_before", "cases_ended_before"]
        )]
        record: Option<String>,
        /// Erase every registration recorded before this date (YYYY-MM-DD).
        #[arg(long, value_name = "DATE", conflicts_with = "cases_ended_before")]
        registered_before: Option<chrono::NaiveDate>,
        /// Erase every tracing case that ended (reunified, or closed without result) before
        /// this date (YYYY-MM-DD), with what the requester told. Open cases are kept.
        #[arg(long, value_name = "DATE")]
        cases_ended_before: Option<chrono::NaiveDate>,
        /// Why (the person's request, the retention period), kept in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Start a demonstration: builds (or reuses) a database of synthetic people across the
    /// crossing points and serves it. Open the printed address in a browser.
    Demo {
        /// Folder for the demo database and data.
        #[arg(long, default_value = "demo-data", value_name = "DIR")]
        dir: PathBuf,
        /// How many synthetic people.
        #[arg(long, default_value_t = 20_000)]
        people: u64,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
    },
    /// Resolve every registration into identities (records of one person), store them, and
    /// optionally write the clusters CSV (record_id,cluster_id). Reviewers' decisions are kept.
    Dedupe {
        #[command(flatten)]
        db: DbArg,
        /// Where to write the clusters CSV.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Where to write every pair scored 0.05 or more, linked or not, with its probability
        /// (CSV: record_a, record_b, probability), to measure calibration against a truth.
        #[arg(long, value_name = "FILE")]
        pairs_out: Option<PathBuf>,
    },
    /// Show why two registrations are or are not one person: each field's contribution to the
    /// match weight, then the probability.
    Explain {
        #[command(flatten)]
        db: DbArg,
        record_a: String,
        record_b: String,
    },
    /// Find the registrations most likely to be the people tracing requests look for.
    Search {
        #[command(flatten)]
        db: DbArg,
        /// Tracing requests, JSON Lines.
        #[arg(long, value_name = "FILE")]
        requests: PathBuf,
        /// Where to write the results, JSON Lines.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Candidates per request.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// The date the requests' ages refer to (YYYY-MM-DD); today by default.
        #[arg(long, value_name = "DATE")]
        on: Option<chrono::NaiveDate>,
        /// The share of the people sought who registered at all, from 0.01 to 0.99: the prior
        /// every candidate stands against. By default the registry's own, as its information
        /// manager set it and its ended cases taught it.
        #[arg(long, value_name = "SHARE")]
        registered_share: Option<f64>,
        /// Tracing cases that ended, JSON Lines: each a request as searched, with
        /// `found_record_id` the registration confirmed as the person sought (`null` where the
        /// case closed without finding them). They teach the share of people sought who
        /// registered, and how relatives' requests compare with the registrations found.
        #[arg(long, value_name = "FILE")]
        ended: Option<PathBuf>,
        /// Write each field's part in every candidate's score beside it: why a candidate came
        /// first, for an information manager checking the search. Slower: one request at a time.
        #[arg(long)]
        explain: bool,
    },
    /// Encrypt the database under a new key (or for the first time), or decrypt it with
    /// --decrypt. The current key comes from PEYWAND_DB_KEY or --key-file as for every command.
    Rekey {
        #[command(flatten)]
        db: DbArg,
        /// A file holding the new key (mode 0600), at least 16 characters.
        #[arg(long, value_name = "FILE", required_unless_present = "decrypt")]
        new_key_file: Option<PathBuf>,
        /// Write the database unencrypted instead.
        #[arg(long, conflicts_with = "new_key_file")]
        decrypt: bool,
    },
    /// Take a consistent copy of the registry while it is in use, encrypted with a backup
    /// key the administrator keeps apart from the registry's own (for a PostgreSQL hub this
    /// runs pg_dump). The backup is audited.
    Backup {
        #[command(flatten)]
        db: DbArg,
        /// The backup file to create (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// A file holding the backup key (mode 0600), at least 16 characters.
        #[arg(long, value_name = "FILE")]
        backup_key_file: PathBuf,
    },
    /// Bring a backup back into an empty registry: a new file (encrypted with --key-file or
    /// PEYWAND_DB_KEY) or an empty PostgreSQL database.
    Restore {
        #[command(flatten)]
        db: DbArg,
        /// The backup file.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// The file holding the key the backup was made with.
        #[arg(long, value_name = "FILE")]
        backup_key_file: PathBuf,
    },
    /// Accounts: who can sign in, with which role, at which site.
    /// Sites that sync with a hub: invite at the hub, enrol at the site, revoke a lost one.
    Site {
        #[command(subcommand)]
        command: SiteCommand,
    },
    /// One sync round with the hub this site enrolled with: sends this site's changes, brings
    /// everyone else's, and says what moved. `serve` does the same in the background. Where no
    /// link exists, `sync export` and `sync import` carry the same changes on a USB stick.
    #[command(args_conflicts_with_subcommands = true)]
    Sync {
        #[command(flatten)]
        db: Option<DbArg>,
        #[command(subcommand)]
        bundle: Option<BundleCommand>,
    },
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Bearer tokens for programs calling the API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Field phones (ODK Collect, KoboCollect) that send households to this server.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Exchange tracing cases with Person Finder-style tools in PFIF 1.4.
    Pfif {
        #[command(subcommand)]
        command: PfifCommand,
    },
    /// The registration sites (crossing points, reception centres, camps) and their codes,
    /// as `user add --site` takes them.
    Sites,
    /// Look inside the name matcher: how a name is read, and why two names match or not.
    Names {
        #[command(subcommand)]
        command: NamesCommand,
    },
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Writes a bundle of everything the other side has not acknowledged, encrypted and
    /// signed with the site's credential: at a site, for the hub; at the hub, for one site.
    Export {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// At the hub: the site the bundle is for.
        #[arg(long)]
        site: Option<String>,
    },
    /// Reads a bundle written by the hub (at a site) or by a site (at the hub). Imported twice,
    /// it changes nothing; cut short or altered, it is refused whole.
    Import {
        #[command(flatten)]
        db: DbArg,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum SiteCommand {
    /// At the hub: a one-time enrolment code for a site (valid 7 days), to give its
    /// administrator by hand or phone, never by the same channel as the laptop.
    Invite {
        #[command(flatten)]
        db: DbArg,
        /// The site's code (`peywand sites` lists them).
        #[arg(long)]
        site: String,
    },
    /// At a site: exchanges the hub's one-time code for this site's credential; from then
    /// on `sync` and `serve` sync with the hub.
    Enrol {
        #[command(flatten)]
        db: DbArg,
        /// The hub's address, e.g. https://hub.example.org
        #[arg(long)]
        hub: String,
        #[arg(long)]
        site: String,
        /// The code `peywand site invite` printed at the hub.
        #[arg(long)]
        code: String,
    },
    /// At the hub: refuses a site's credential from now on (a laptop lost or stolen).
    Revoke {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        site: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is read from standard input when it is not a terminal,
    /// prompted for otherwise.
    Add {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        username: String,
        /// registrar, caseworker, distribution_officer, information_manager, auditor or
        /// administrator.
        #[arg(long)]
        role: String,
        /// The site code a registrar, caseworker or distribution officer works at
        /// (`peywand sites` lists them).
        #[arg(long)]
        site: Option<String>,
    },
    /// List users with their role, site, last sign-in and state.
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Disable a user: they cannot sign in, and their sessions and tokens stop working at once.
    Disable {
        #[command(flatten)]
        db: DbArg,
        username: String,
    },
    /// Enable a disabled user again; their tokens not revoked meanwhile work again.
    Enable {
        #[command(flatten)]
        db: DbArg,
        username: String,
    },
    /// Set a temporary password, printed once; the user must choose a new one when they sign
    /// in, and their sessions end and tokens do nothing until they have.
    ResetPassword {
        #[command(flatten)]
        db: DbArg,
        username: String,
    },
    /// End every session of a user and revoke every token.
    EndSessions {
        #[command(flatten)]
        db: DbArg,
        username: String,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Give a phone its own credential: a device token of a registrar at a site, which
    /// opens the phones' routes only. Prints the server address to type into ODK Collect
    /// (token included) and, with --qr, writes the QR code Collect scans. Shown once: keep
    /// it like a password. `peywand token list` lists devices, `peywand token revoke` ends one.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// The registrar who carries the phone; the site is theirs.
        #[arg(long)]
        username: String,
        /// The address the phone reaches Peywand at, as typed in a browser there
        /// (https://peywand.example.org, or http://192.168.1.10:8080 on a site's network).
        #[arg(long)]
        url: String,
        /// What the phone is, to recognise it in the list ("Torkham phone 3").
        #[arg(long, default_value = "phone")]
        label: String,
        /// Days until the token expires.
        #[arg(long, default_value_t = peywand_access::TOKEN_DAYS)]
        days: i64,
        /// Write the QR code for ODK Collect's "scan QR code" here, as an SVG image.
        #[arg(long, value_name = "FILE")]
        qr: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for a user and print it, once.
    Create {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        username: String,
        /// What the token is for, to recognise it in the list.
        #[arg(long, default_value = "")]
        label: String,
        /// Days until the token expires.
        #[arg(long, default_value_t = peywand_access::TOKEN_DAYS)]
        days: i64,
    },
    /// Extend a token that has not been revoked: it expires that many days from now.
    Renew {
        #[command(flatten)]
        db: DbArg,
        id: String,
        #[arg(long, default_value_t = peywand_access::TOKEN_DAYS)]
        days: i64,
    },
    /// List tokens (of one user with --username).
    List {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        username: Option<String>,
    },
    /// Revoke a token by its id.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        id: String,
    },
}

#[derive(Subcommand)]
enum PfifCommand {
    /// Import a PFIF document: each person not held yet becomes a tracing request, matched
    /// against the registry when the server next starts. Refused whole if anything is invalid.
    Import {
        #[command(flatten)]
        db: DbArg,
        /// The PFIF file (UTF-8 XML).
        file: PathBuf,
        /// The site code the imported requests belong to.
        #[arg(long)]
        site: Option<String>,
        /// Keep notes saying `believed_dead` (they still leave in no export until a caseworker
        /// has verified them); without it they are skipped and counted.
        #[arg(long)]
        may_report_death: bool,
    },
    /// Let a token's holder import PFIF through the API as a partner: records of these
    /// domains only (`example.org` in `example.org/person.1234`). Replaces what it could.
    Partner {
        #[command(flatten)]
        db: DbArg,
        /// The token's id (`peywand token list`).
        token: String,
        /// A domain it may write for; repeat for several. None: it writes no PFIF record.
        #[arg(long = "pfif-domain", value_name = "DOMAIN")]
        domains: Vec<String>,
        /// It may report a death (a note saying `believed_dead`), which a caseworker verifies
        /// before it leaves in an export.
        #[arg(long)]
        may_report_death: bool,
    },
    /// Export every tracing case as PFIF 1.4, with notes for found, reunified and closed.
    Export {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Why these personal data leave the registry (kept in the audit log).
        #[arg(long, default_value = "PFIF exchange with a tracing partner")]
        reason: String,
        /// The domain naming this registry in PFIF record ids.
        #[arg(long, default_value = peywand_interchange::pfif::DEFAULT_DOMAIN)]
        domain: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the whole hash chain: any altered, inserted or deleted entry is reported.
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// At the hub: check the chain a site sent instead (its code), as far as it arrived.
        #[arg(long)]
        site: Option<String>,
    },
}

#[derive(Subcommand)]
enum NamesCommand {
    /// Print a name's normal form, its parts with their phonetic codes, and its blocking keys.
    Normalize {
        /// The name, in any script.
        name: String,
    },
    /// Compare two names: the reasons first, the score (0 to 1) on the last line.
    Compare { a: String, b: String },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PEYWAND_LOG")
                .unwrap_or_else(|_| "warn,sqlx=error,peywand=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Names {
            command: NamesCommand::Normalize { name },
        } => commands::names_normalize(&name),
        Command::Names {
            command: NamesCommand::Compare { a, b },
        } => commands::names_compare(&a, &b),
        Command::Synth { people, seed, out } => commands::synth(people, seed, &out),
        Command::Sites => {
            access::sites();
            Ok(())
        }
        other => run_async(other),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_async(command: Command) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let result = run_command(command).await;
        context::close_all().await;
        result
    })
}

async fn run_command(command: Command) -> anyhow::Result<()> {
    {
        match command {
            Command::Import {
                db,
                file,
                household_details,
                mapping: None,
                ..
            } => {
                commands::import(&db, &file).await?;
                match household_details {
                    Some(details) => commands::household_details(&db, &details).await,
                    None => Ok(()),
                }
            }
            Command::Import {
                db,
                file,
                mapping: Some(mapping),
                dry_run,
                ..
            } => commands::import_mapped(&db, &file, &mapping, dry_run).await,
            Command::Export {
                db,
                out,
                reason,
                pseudonymise_with,
            } => commands::export(&db, &out, &reason, pseudonymise_with.as_deref()).await,
            Command::ExportDistributions {
                db,
                out,
                reason,
                pseudonymise_with,
                site,
            } => commands::export_distributions(&db, &out, &reason, &pseudonymise_with, site).await,
            Command::Serve {
                db,
                addr,
                retention_days,
                sync_every,
            } => commands::serve(&db, addr, retention_days, sync_every).await,
            Command::Sync {
                db: Some(db),
                bundle: None,
            } => {
                let store = context::open_existing(&db).await?;
                sync::once(store).await
            }
            Command::Sync {
                bundle: Some(BundleCommand::Export { db, out, site }),
                ..
            } => {
                let store = context::open_existing(&db).await?;
                sync::export_bundle(&*store, &out, site.as_deref()).await
            }
            Command::Sync {
                bundle: Some(BundleCommand::Import { db, file }),
                ..
            } => {
                let store = context::open_existing(&db).await?;
                sync::import_bundle(&*store, &file).await
            }
            Command::Sync {
                db: None,
                bundle: None,
            } => anyhow::bail!("say which registry: peywand sync --db DB"),
            Command::Site {
                command: SiteCommand::Invite { db, site },
            } => {
                let store = context::open(&db).await?;
                let code = sync::invite(&*store, &site).await?;
                println!("enrolment code for {site} (valid 7 days, works once):\n{code}");
                Ok(())
            }
            Command::Site {
                command:
                    SiteCommand::Enrol {
                        db,
                        hub,
                        site,
                        code,
                    },
            } => {
                let store = context::open(&db).await?;
                sync::enrol(&*store, &hub, &site, &code).await?;
                println!("enrolled as {site}: `peywand sync` or `peywand serve` syncs with {hub}");
                Ok(())
            }
            Command::Site {
                command: SiteCommand::Revoke { db, site },
            } => {
                let store = context::open_existing(&db).await?;
                let n = peywand_web::sync_routes::revoke_site(&*store, &site)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("{n} credentials of {site} revoked: its changes are refused from now on");
                Ok(())
            }
            Command::Purge {
                db,
                record,
                registered_before,
                cases_ended_before,
                reason,
            } => {
                let what = match (record, registered_before, cases_ended_before) {
                    (Some(r), _, _) => access::Erase::Record(r),
                    (None, Some(d), _) => access::Erase::RegisteredBefore(d),
                    (None, None, Some(d)) => access::Erase::CasesEndedBefore(d),
                    (None, None, None) => anyhow::bail!(
                        "give --record ID, --registered-before DATE or --cases-ended-before DATE"
                    ),
                };
                access::purge(&db, what, &reason).await
            }
            Command::Demo { dir, people, addr } => commands::demo(&dir, people, addr).await,
            Command::Dedupe { db, out, pairs_out } => {
                linkage::dedupe(&db, out.as_deref(), pairs_out.as_deref()).await
            }
            Command::Explain {
                db,
                record_a,
                record_b,
            } => linkage::explain(&db, &record_a, &record_b).await,
            Command::Search {
                db,
                requests,
                out,
                limit,
                on,
                registered_share,
                ended,
                explain,
            } => {
                let options = linkage::SearchOptions {
                    limit: limit.clamp(1, 100),
                    on,
                    registered_share,
                    explain,
                };
                linkage::search(&db, &requests, &out, ended.as_deref(), options).await
            }
            Command::Pfif {
                command:
                    PfifCommand::Import {
                        db,
                        file,
                        site,
                        may_report_death,
                    },
            } => tracing_exchange::import(&db, &file, site.as_deref(), may_report_death).await,
            Command::Pfif {
                command:
                    PfifCommand::Partner {
                        db,
                        token,
                        domains,
                        may_report_death,
                    },
            } => tracing_exchange::partner(&db, &token, domains, may_report_death).await,
            Command::Pfif {
                command:
                    PfifCommand::Export {
                        db,
                        out,
                        reason,
                        domain,
                    },
            } => tracing_exchange::export(&db, &out, &reason, &domain).await,
            Command::Rekey {
                db,
                new_key_file,
                decrypt: _,
            } => context::rekey(&db, new_key_file.as_deref()).await,
            Command::Backup {
                db,
                out,
                backup_key_file,
            } => context::backup(&db, &out, &backup_key_file).await,
            Command::Restore {
                db,
                from,
                backup_key_file,
            } => context::restore(&db, &from, &backup_key_file).await,
            Command::User {
                command:
                    UserCommand::Add {
                        db,
                        username,
                        role,
                        site,
                    },
            } => access::user_add(&db, &username, &role, site.as_deref()).await,
            Command::User {
                command: UserCommand::List { db },
            } => access::user_list(&db).await,
            Command::User {
                command: UserCommand::Disable { db, username },
            } => access::user_disable(&db, &username, true).await,
            Command::User {
                command: UserCommand::Enable { db, username },
            } => access::user_disable(&db, &username, false).await,
            Command::User {
                command: UserCommand::ResetPassword { db, username },
            } => access::user_reset_password(&db, &username).await,
            Command::User {
                command: UserCommand::EndSessions { db, username },
            } => access::user_end_sessions(&db, &username).await,
            Command::Token {
                command: TokenCommand::Renew { db, id, days },
            } => access::token_renew(&db, &id, days).await,
            Command::Token {
                command:
                    TokenCommand::Create {
                        db,
                        username,
                        label,
                        days,
                    },
            } => access::token_create(&db, &username, &label, days).await,
            Command::Token {
                command: TokenCommand::List { db, username },
            } => access::token_list(&db, username.as_deref()).await,
            Command::Token {
                command: TokenCommand::Revoke { db, id },
            } => access::token_revoke(&db, &id).await,
            Command::Audit {
                command: AuditCommand::Verify { db, site },
            } => match site {
                Some(site) => access::site_audit_verify(&db, &site).await,
                None => access::audit_verify(&db).await,
            },
            Command::Device {
                command:
                    DeviceCommand::Add {
                        db,
                        username,
                        url,
                        label,
                        days,
                        qr,
                    },
            } => access::device_add(&db, &username, &url, &label, days, qr.as_deref()).await,
            Command::Names { .. } | Command::Synth { .. } | Command::Sites => Ok(()),
        }
    }
}
