//! The interchange formats other tools read and write (see docs/formats.md): the registration
//! CSV and PFIF; tracing requests, search results, clusters and HXL as they land.
//!
//! Parsing happens here, at the edge: what leaves this crate is typed and validated.

pub mod mapped;
pub mod pfif;
pub mod registration_csv;
pub mod spreadsheet;
