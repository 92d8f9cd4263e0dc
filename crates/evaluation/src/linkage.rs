//! Pairwise accuracy of a clustering, and recall of search results, against the truth.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Read};

use anyhow::{Context, bail};

/// Pairwise precision, recall and F1: over all pairs of records, whether "same cluster" agrees
/// with "same person".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairwiseScores {
    pub true_pairs: u64,
    pub predicted_pairs: u64,
    pub correct_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Reads `record_id` → value of `column` from a CSV with a header.
fn column(input: impl Read, column: &str, what: &str) -> anyhow::Result<HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(input);
    let headers = r
        .headers()
        .with_context(|| format!("reading the {what}"))?
        .clone();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("the {what} has no {name} column"))
    };
    let (id, value) = (find("record_id")?, find(column)?);
    let mut out = HashMap::new();
    for row in r.records() {
        let row = row.with_context(|| format!("reading the {what}"))?;
        out.insert(
            row.get(id).unwrap_or("").to_string(),
            row.get(value).unwrap_or("").to_string(),
        );
    }
    Ok(out)
}

/// Scores a clusters CSV (`record_id,cluster_id`) against a truth CSV (`record_id,person_id`).
/// Records missing from either side are an error: the clustering must cover the registry.
pub fn pairwise(clusters: impl Read, truth: impl Read) -> anyhow::Result<PairwiseScores> {
    let clusters = column(clusters, "cluster_id", "clusters file")?;
    let truth = column(truth, "person_id", "truth file")?;
    if clusters.len() != truth.len() {
        bail!(
            "the clusters cover {} records, the truth {}",
            clusters.len(),
            truth.len()
        );
    }
    let mut cells: HashMap<(&str, &str), u64> = HashMap::new();
    let mut by_cluster: HashMap<&str, u64> = HashMap::new();
    let mut by_person: HashMap<&str, u64> = HashMap::new();
    for (record, cluster) in &clusters {
        let person = truth
            .get(record)
            .with_context(|| format!("record {record} is not in the truth file"))?;
        *cells.entry((cluster, person)).or_default() += 1;
        *by_cluster.entry(cluster).or_default() += 1;
        *by_person.entry(person).or_default() += 1;
    }
    let correct: u64 = cells.values().map(|&n| pairs(n)).sum();
    let predicted: u64 = by_cluster.values().map(|&n| pairs(n)).sum();
    let true_pairs: u64 = by_person.values().map(|&n| pairs(n)).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(correct, predicted), ratio(correct, true_pairs));
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Ok(PairwiseScores {
        true_pairs,
        predicted_pairs: predicted,
        correct_pairs: correct,
        precision,
        recall,
        f1,
    })
}

/// Search quality over requests whose person is registered, and false alarms over the others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchScores {
    pub requests_for_registered: u64,
    pub found_at_1: u64,
    pub found_at_k: u64,
    pub requests_for_unregistered: u64,
    /// Requests for unregistered people with a candidate at or above the likely-match score.
    pub false_alarms: u64,
    /// How well the first candidate's probability tells whether it is the person sought,
    /// over every request (a request for someone never registered has no right candidate).
    pub first: Reliability,
    /// The same over every candidate shown.
    pub every: Reliability,
}

/// A reliability table: probabilities in ten bands, and in each how many were right.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reliability {
    /// Per band of width 0.1: (how many, sum of their probabilities, how many were right).
    pub bands: [(u64, f64, u64); 10],
}

impl Reliability {
    pub fn add(&mut self, probability: f64, right: bool) {
        let band = ((probability * 10.0) as usize).min(9);
        let b = &mut self.bands[band];
        b.0 += 1;
        b.1 += probability;
        b.2 += u64::from(right);
    }

    /// The expected calibration error: over the bands, each weighed by its share of all, how
    /// far the mean probability is from the share that were right.
    pub fn expected_calibration_error(&self) -> f64 {
        let total: u64 = self.bands.iter().map(|b| b.0).sum();
        if total == 0 {
            return 0.0;
        }
        self.bands
            .iter()
            .map(|&(_, sum, right)| (sum - right as f64).abs())
            .sum::<f64>()
            / total as f64
    }
}

/// How well pair probabilities (a CSV `record_a,record_b,probability`, as `peywand dedupe
/// --pairs-out` writes it) tell whether the two records are one person (`truth`:
/// `record_id,person_id`).
pub fn pair_calibration(pairs: impl Read, truth: impl Read) -> anyhow::Result<Reliability> {
    let truth = column(truth, "person_id", "truth file")?;
    let mut r = csv::Reader::from_reader(pairs);
    let mut table = Reliability::default();
    for row in r.records() {
        let row = row.context("reading the pairs file")?;
        let person = |i: usize| {
            let id = row.get(i).unwrap_or("");
            truth
                .get(id)
                .with_context(|| format!("record {id} is not in the truth file"))
        };
        let probability: f64 = row
            .get(2)
            .unwrap_or("")
            .parse()
            .with_context(|| format!("the probability in {row:?} is not a number"))?;
        table.add(probability, person(0)? == person(1)?);
    }
    Ok(table)
}

/// The score from which a candidate is shown to caseworkers as a likely match.
pub const LIKELY_MATCH: f64 = 0.5;

/// Scores search results (JSON Lines) against the requests (JSON Lines with `person_id`) and the
/// truth CSV. `k` is the cut-off for recall@k.
pub fn search(
    results: impl BufRead,
    requests: impl BufRead,
    truth: impl Read,
    k: usize,
) -> anyhow::Result<SearchScores> {
    let truth = column(truth, "person_id", "truth file")?;
    let mut sought: HashMap<String, Option<String>> = HashMap::new();
    for line in requests.lines() {
        let line = line.context("reading the requests")?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).context("a request line")?;
        let id = v["request_id"]
            .as_str()
            .context("a request without request_id")?;
        sought.insert(id.to_string(), v["person_id"].as_str().map(str::to_string));
    }
    let mut s = SearchScores {
        requests_for_registered: 0,
        found_at_1: 0,
        found_at_k: 0,
        requests_for_unregistered: 0,
        false_alarms: 0,
        first: Reliability::default(),
        every: Reliability::default(),
    };
    let mut seen = HashSet::new();
    for line in results.lines() {
        let line = line.context("reading the results")?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).context("a result line")?;
        let id = v["request_id"]
            .as_str()
            .context("a result without request_id")?;
        if !seen.insert(id.to_string()) {
            bail!("request {id} has two result lines");
        }
        let person = sought
            .get(id)
            .with_context(|| format!("result for unknown request {id}"))?;
        let candidates = v["candidates"].as_array().cloned().unwrap_or_default();
        for (i, c) in candidates.iter().enumerate() {
            let right = person.as_ref().is_some_and(|person| {
                c["record_id"]
                    .as_str()
                    .and_then(|r| truth.get(r))
                    .is_some_and(|p| p == person)
            });
            let probability = c["score"].as_f64().unwrap_or(0.0);
            if i == 0 {
                s.first.add(probability, right);
            }
            s.every.add(probability, right);
        }
        match person {
            Some(person) => {
                s.requests_for_registered += 1;
                let hit = |c: &serde_json::Value| {
                    c["record_id"]
                        .as_str()
                        .and_then(|r| truth.get(r))
                        .is_some_and(|p| p == person)
                };
                if candidates.first().is_some_and(hit) {
                    s.found_at_1 += 1;
                }
                if candidates.iter().take(k).any(hit) {
                    s.found_at_k += 1;
                }
            }
            None => {
                s.requests_for_unregistered += 1;
                if candidates
                    .iter()
                    .any(|c| c["score"].as_f64().unwrap_or(0.0) >= LIKELY_MATCH)
                {
                    s.false_alarms += 1;
                }
            }
        }
    }
    if seen.len() != sought.len() {
        bail!("{} requests but {} result lines", sought.len(), seen.len());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_calibration_counts_each_pair_in_its_band() {
        let truth = "record_id,person_id\na,P1\nb,P1\nc,P2\n";
        let pairs = "record_a,record_b,probability\na,b,0.95\na,c,0.91\nb,c,0.12\n";
        let r = pair_calibration(pairs.as_bytes(), truth.as_bytes()).unwrap();
        assert_eq!(r.bands[9].0, 2);
        assert_eq!(r.bands[9].2, 1);
        assert_eq!(r.bands[1], (1, 0.12, 0));
        let unknown = "record_a,record_b,probability\na,z,0.5\n";
        assert!(pair_calibration(unknown.as_bytes(), truth.as_bytes()).is_err());
    }

    #[test]
    fn calibration_error_is_the_weighed_gap_between_probability_and_share_right() {
        let mut r = Reliability::default();
        // Four at 0.25 of which one right: calibrated. Four at 0.95 of which two right: 0.45 off.
        for right in [true, false, false, false] {
            r.add(0.25, right);
        }
        for right in [true, true, false, false] {
            r.add(0.95, right);
        }
        assert!((r.expected_calibration_error() - 0.5 * 0.45).abs() < 1e-12);
        assert_eq!(r.bands[2].0, 4);
        assert_eq!(r.bands[9].2, 2);
    }

    #[test]
    fn pairwise_counts_pairs_not_records() {
        // Person A has records 1, 2, 3; B has 4. The clustering puts 1, 2 together and 3 with 4.
        let truth = "record_id,person_id\n1,A\n2,A\n3,A\n4,B\n";
        let clusters = "record_id,cluster_id\n1,x\n2,x\n3,y\n4,y\n";
        let s = pairwise(clusters.as_bytes(), truth.as_bytes()).unwrap();
        assert_eq!(
            (s.true_pairs, s.predicted_pairs, s.correct_pairs),
            (3, 2, 1)
        );
        assert!((s.precision - 0.5).abs() < 1e-12);
        assert!((s.recall - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.f1 - 0.4).abs() < 1e-12);
    }

    #[test]
    fn a_clustering_missing_records_is_refused() {
        let truth = "record_id,person_id\n1,A\n2,A\n";
        let clusters = "record_id,cluster_id\n1,x\n";
        assert!(pairwise(clusters.as_bytes(), truth.as_bytes()).is_err());
    }

    #[test]
    fn search_recall_and_false_alarms() {
        let truth = "record_id,person_id\nr1,P1\nr2,P2\n";
        let requests = "{\"request_id\":\"t1\",\"person_id\":\"P1\"}\n{\"request_id\":\"t2\",\"person_id\":null}\n";
        let results = "{\"request_id\":\"t1\",\"candidates\":[{\"record_id\":\"r2\",\"score\":0.9},{\"record_id\":\"r1\",\"score\":0.8}]}\n{\"request_id\":\"t2\",\"candidates\":[{\"record_id\":\"r2\",\"score\":0.6}]}\n";
        let s = search(
            results.as_bytes(),
            requests.as_bytes(),
            truth.as_bytes(),
            10,
        )
        .unwrap();
        assert_eq!(
            (s.requests_for_registered, s.found_at_1, s.found_at_k),
            (1, 0, 1)
        );
        assert_eq!((s.requests_for_unregistered, s.false_alarms), (1, 1));
    }
}
