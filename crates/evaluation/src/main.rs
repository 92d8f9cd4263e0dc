//! `peywand-evaluate`: accuracy figures from labelled data (a registry and its truth file).

use std::fs::File;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use peywand_evaluation::names::{self, NonMatches, PairScripts};

#[derive(Parser)]
#[command(
    name = "peywand-evaluate",
    about = "Measure Peywand's matching against labelled data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pairwise precision, recall and F1 of a clusters CSV against the truth.
    Clusters {
        #[arg(long)]
        clusters: PathBuf,
        #[arg(long)]
        truth: PathBuf,
    },
    /// Recall@1 and recall@k of search results, and false alarms for people never registered.
    Search {
        #[arg(long)]
        results: PathBuf,
        /// The tracing requests with their person_id (as synth writes them).
        #[arg(long)]
        requests: PathBuf,
        #[arg(long)]
        truth: PathBuf,
        #[arg(long, default_value_t = 10)]
        k: usize,
    },
    /// How well pair probabilities (`peywand dedupe --pairs-out`) are calibrated against the
    /// truth: a reliability table and the expected calibration error.
    Pairs {
        #[arg(long)]
        pairs: PathBuf,
        #[arg(long)]
        truth: PathBuf,
    },
    /// ROC AUC of name similarity on matching and non-matching typed names.
    Names {
        /// Registration CSV.
        #[arg(long)]
        registry: PathBuf,
        /// Truth CSV: record_id, person_id and the true names.
        #[arg(long)]
        truth: PathBuf,
        /// Pairs sampled of each kind, for each script pairing.
        #[arg(long, default_value_t = 20_000)]
        pairs: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also list the weakest matches and strongest non-matches.
        #[arg(long)]
        show_errors: bool,
    },
}

/// Prints a reliability table as Markdown, after its expected calibration error.
fn print_reliability(what: &str, unit: &str, r: &peywand_evaluation::linkage::Reliability) {
    println!(
        "calibration of {what}: expected calibration error {:.4}",
        r.expected_calibration_error()
    );
    println!("| probability | {unit} | mean probability | share right |");
    println!("| --- | --- | --- | --- |");
    for (band, &(n, sum, right)) in r.bands.iter().enumerate() {
        if n > 0 {
            println!(
                "| {:.1}–{:.1} | {n} | {:.3} | {:.3} |",
                band as f64 / 10.0,
                (band + 1) as f64 / 10.0,
                sum / n as f64,
                right as f64 / n as f64
            );
        }
    }
}

fn open(path: &PathBuf) -> anyhow::Result<File> {
    File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Clusters { clusters, truth } => {
            let s = peywand_evaluation::linkage::pairwise(open(&clusters)?, open(&truth)?)?;
            println!(
                "true pairs {}, predicted pairs {}, correct {}",
                s.true_pairs, s.predicted_pairs, s.correct_pairs
            );
            println!(
                "precision {:.4}, recall {:.4}, F1 {:.4}",
                s.precision, s.recall, s.f1
            );
        }
        Command::Search {
            results,
            requests,
            truth,
            k,
        } => {
            let buffered = |p: &PathBuf| open(p).map(std::io::BufReader::new);
            let s = peywand_evaluation::linkage::search(
                buffered(&results)?,
                buffered(&requests)?,
                open(&truth)?,
                k,
            )?;
            let share = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            println!(
                "registered: {} requests, recall@1 {:.4}, recall@{k} {:.4}",
                s.requests_for_registered,
                share(s.found_at_1, s.requests_for_registered),
                share(s.found_at_k, s.requests_for_registered),
            );
            println!(
                "never registered: {} requests, {} ({:.2}%) with a likely match shown",
                s.requests_for_unregistered,
                s.false_alarms,
                100.0 * share(s.false_alarms, s.requests_for_unregistered),
            );
            for (what, r) in [
                ("first candidates", &s.first),
                ("every candidate", &s.every),
            ] {
                print_reliability(what, "candidates", r);
            }
        }
        Command::Pairs { pairs, truth } => {
            let buffered = |p: &PathBuf| open(p).map(std::io::BufReader::new);
            let r = peywand_evaluation::linkage::pair_calibration(
                buffered(&pairs)?,
                buffered(&truth)?,
            )?;
            print_reliability("pairs", "pairs", &r);
        }
        Command::Names {
            registry,
            truth,
            pairs,
            seed,
            show_errors,
        } => {
            let report = names::evaluate(open(&registry)?, open(&truth)?, pairs, seed)?;
            println!("typed names: {}", report.observations);
            println!(
                "| pairs | matches | non-matches | ROC AUC (random non-matches) | ROC AUC (same-block non-matches) |"
            );
            println!("| --- | --- | --- | --- | --- |");
            for (label, scripts) in [
                ("same script", PairScripts::Same),
                ("cross script", PairScripts::Cross),
            ] {
                let s = report.scores(scripts);
                let auc = |against| {
                    s.auc(against)
                        .map_or_else(|| "n/a".to_string(), |a| format!("{a:.4}"))
                };
                println!(
                    "| {label} | {} | {} + {} | {} | {} |",
                    s.matches.len(),
                    s.random_non_matches.len(),
                    s.same_block_non_matches.len(),
                    auc(NonMatches::Random),
                    auc(NonMatches::SameBlock),
                );
            }
            if show_errors {
                for (label, scripts) in [
                    ("same script", PairScripts::Same),
                    ("cross script", PairScripts::Cross),
                ] {
                    let s = report.scores(scripts);
                    println!("\nweakest {label} matches:");
                    for (score, a, b) in &s.weakest_matches {
                        println!("  {score:.3}  {a}  |  {b}");
                    }
                    println!("strongest {label} same-block non-matches:");
                    for (score, a, b) in &s.strongest_non_matches {
                        println!("  {score:.3}  {a}  |  {b}");
                    }
                }
            }
        }
    }
    Ok(())
}
