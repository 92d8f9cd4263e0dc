//! Forms received from field phones (ODK Collect, KoboCollect) over OpenRosa: each submission's
//! `instanceID` is kept with a digest of its content, so that a phone's retry after a cut
//! connection is recognised and answered without registering the household twice, and the
//! same `instanceID` with other content is refused. An edit names the submission it replaces
//! (`deprecatedID`); only the current version of a household's submission can be replaced.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use peywand_domain::HouseholdId;

use crate::StoreError;

/// A submission as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The form instance's own id (`uuid:…`), chosen by the phone.
    pub instance_id: String,
    /// A digest of the submitted XML, to tell a retry from other content under the same id.
    pub digest: String,
    /// The household it registered or edited; `None` while it is being registered.
    pub household_id: Option<HouseholdId>,
    /// Who sent it: the account the phone's credential belongs to.
    pub username: String,
    pub received_at: DateTime<Utc>,
    /// The submission that replaced this one (an edit on the phone), if any.
    pub superseded_by: Option<String>,
}

/// What reserving an `instanceID` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The id is new and now held for this submission: register it, then complete or release.
    Reserved,
    /// The id was received before (or is being received now, `household_id` still `None`).
    Existing(Submission),
}

/// Submissions from field phones.
#[async_trait]
pub trait SubmissionStore: Send + Sync + 'static {
    /// Holds `instance_id` for a new submission, atomically: of two phones (or two retries)
    /// racing with one id, one reserves it and the other finds it existing.
    async fn reserve_submission(
        &self,
        instance_id: &str,
        digest: &str,
        username: &str,
        at: DateTime<Utc>,
    ) -> Result<Reservation, StoreError>;
    async fn submission(&self, instance_id: &str) -> Result<Option<Submission>, StoreError>;
    /// Records the household a reserved submission registered or edited; with `replaces`,
    /// marks that earlier submission as superseded by this one. `false` (and nothing
    /// changed) when `replaces` was already superseded meanwhile.
    async fn complete_submission(
        &self,
        instance_id: &str,
        household: HouseholdId,
        replaces: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Gives up a reservation whose household could not be registered, so that the phone's
    /// next attempt is taken as new. A completed submission is never released.
    async fn release_submission(&self, instance_id: &str) -> Result<(), StoreError>;
}
