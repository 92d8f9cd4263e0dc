//! Measures Peywand's matching against labelled data, so that every accuracy figure in
//! `docs/benchmarks.md` comes from one reproducible tool: ROC AUC of name similarity, and (for
//! the linkage engine) pairwise precision, recall and F1 and search recall.

pub mod auc;
pub mod linkage;
pub mod names;
