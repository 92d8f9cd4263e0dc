//! Peywand's domain: the words of a registration desk as types.
//!
//! Sites, households, person registrations with their raw values as typed and the values derived
//! from them, vulnerabilities, needs, the legal basis for holding the data, roles. No I/O here:
//! storage, import and the web layer all speak these types.

#[macro_use]
mod codes;
mod ids;
mod matching;
mod registration;
mod tracing;

pub use codes::*;
pub use ids::*;
pub use matching::*;
pub use registration::*;
pub use tracing::*;
