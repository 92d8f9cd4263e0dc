//! Typed identifiers, so that a household id can never be passed where a person id is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id (UUIDv7): ids sort by creation, which keeps indexes local.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// One person registration record (a row of the registration CSV).
    PersonId
);
uuid_id!(
    /// A household: people registered together.
    HouseholdId
);
uuid_id!(
    /// An identity: the cluster of registration records of one person.
    IdentityId
);
uuid_id!(
    /// A tracing request, and the case that follows it.
    TracingRequestId
);

/// The registration record id of the interchange formats: any string up to 64 characters,
/// unique, chosen by whoever created the record (another system, a spreadsheet, Peywand).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(String);

/// Why a string cannot be a record id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIdError {
    #[error("record_id is empty")]
    Empty,
    #[error("record_id is longer than {max} characters")]
    TooLong { max: usize },
}

impl RecordId {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(s: &str) -> Result<Self, RecordIdError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(RecordIdError::Empty);
        }
        if t.chars().count() > Self::MAX_CHARS {
            return Err(RecordIdError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(Self(t.to_string()))
    }

    /// A new record id for a registration made in Peywand itself.
    pub fn generate() -> Self {
        Self(format!("pw-{}", Uuid::now_v7().simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for RecordId {
    type Err = RecordIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl PartialEq<str> for RecordId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RecordId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for RecordId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<RecordId> for String {
    fn eq(&self, other: &RecordId) -> bool {
        self == &other.0
    }
}

impl AsRef<str> for RecordId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
