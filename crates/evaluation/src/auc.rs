//! Area under the ROC curve.

/// The probability that a randomly chosen positive scores above a randomly chosen negative (ties
/// count half): the area under the ROC curve, computed exactly from ranks (Mann–Whitney U).
/// `None` when either side is empty.
pub fn roc_auc(positives: &[f32], negatives: &[f32]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    let mut all: Vec<(f32, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the (tie-averaged, 1-based) ranks of the positives.
    let mut rank_sum = 0.0f64;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let average_rank = (i + 1 + j) as f64 / 2.0;
        let positives_here = all[i..j].iter().filter(|(_, p)| *p).count();
        rank_sum += average_rank * positives_here as f64;
        i = j;
    }
    let p = positives.len() as f64;
    let n = negatives.len() as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

#[cfg(test)]
mod tests {
    use super::roc_auc;

    #[test]
    fn perfect_separation_is_one_and_reversed_is_zero() {
        assert_eq!(roc_auc(&[0.9, 0.8], &[0.1, 0.2, 0.3]), Some(1.0));
        assert_eq!(roc_auc(&[0.1], &[0.9, 0.8]), Some(0.0));
    }

    #[test]
    fn ties_count_half() {
        assert_eq!(roc_auc(&[0.5, 0.5], &[0.5]), Some(0.5));
        // One positive above both negatives, one tied with one of them: (2 + 1.5) / 4.
        assert_eq!(roc_auc(&[0.9, 0.4], &[0.4, 0.1]), Some(0.875));
    }

    #[test]
    fn empty_side_has_no_auc() {
        assert_eq!(roc_auc(&[], &[0.1]), None);
        assert_eq!(roc_auc(&[0.1], &[]), None);
    }
}
