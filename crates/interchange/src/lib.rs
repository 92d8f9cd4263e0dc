//! The interchange formats other tools read and write (see docs/formats.md): the registration
//! CSV today; tracing requests, search results, clusters, PFIF and HXL as they land.
//!
//! Parsing happens here, at the edge: what leaves this crate is typed and validated.

pub mod registration_csv;
