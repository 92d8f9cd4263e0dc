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

fn open(path: &PathBuf) -> anyhow::Result<File> {
    File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
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
