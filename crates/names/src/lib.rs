//! Peywand's name intelligence: the same Afghan name across scripts and spellings.
//!
//! Everything here is pure computation on strings — no I/O, no database — so that the linkage
//! engine, the server and the command line share one behaviour. Start at [`normalize`] and
//! [`similarity`]; dates, places, phones and documents have their own modules.

pub mod date;
pub mod document;
pub mod fold;
pub mod keys;
pub mod lexicon;
pub mod name;
pub mod phone;
pub mod phonetic;
pub mod place;
pub mod similarity;

pub use fold::{Script, fold};
pub use keys::{blocking_keys, slip_keys};
pub use name::{Name, Relation, Unit, UnitRole, normalize};
pub use similarity::{Comparison, compare, similarity};
