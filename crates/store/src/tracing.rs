//! Tracing cases as stored: requests, the candidates matching offers, caseworkers' decisions,
//! reunification steps, links between requests and PFIF records. The rules a case follows are
//! in [`crate::cases`]; a backend reads a case, asks the rules what changes, and writes that.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use peywand_domain::{
    CandidateStatus, CaseEvent, CaseStatus, PfifNote, PfifPartner, PfifPerson, RecordId,
    ReunificationStep, ReunificationStepDraft, TracingCandidate, TracingRequest,
    TracingRequestDraft, TracingRequestId,
};

use crate::{Actor, Page, Paged, StoreError};

/// Tracing requests and their cases.
#[async_trait]
pub trait TracingStore: Send + Sync + 'static {
    /// Records a tracing request: urgent when the person sought is a separated child.
    async fn create_tracing_request(
        &self,
        draft: &TracingRequestDraft,
        actor: &Actor,
    ) -> Result<TracingRequest, StoreError>;
    /// A case: the request, its candidates (best first) and its history (oldest first).
    async fn tracing_case(&self, id: TracingRequestId) -> Result<Option<TracingCase>, StoreError>;
    /// Requests, urgent first, then oldest first; of one status if given; of one site if given,
    /// with the requests that belong to no site (received from another system) shared by all;
    /// assigned to one caseworker if given.
    async fn tracing_requests(
        &self,
        status: Option<CaseStatus>,
        site_code: Option<&str>,
        assigned_to: Option<&str>,
        page: Page,
    ) -> Result<Paged<TracingRequest>, StoreError>;
    /// Offers registrations found for a request. A registration already offered keeps its
    /// status: one rejected is never offered again. A registration that does not exist (erased
    /// meanwhile) is not offered. An open case with new candidates moves to candidates found.
    /// Returns how many were new.
    async fn offer_candidates(
        &self,
        id: TracingRequestId,
        found: &[(RecordId, f64)],
        actor: &Actor,
    ) -> Result<u64, StoreError>;
    /// Records that two requests seek each other's requesters (two relatives looking for each
    /// other), on both cases. Returns whether the link is new.
    async fn link_requests(
        &self,
        a: TracingRequestId,
        b: TracingRequestId,
        score: f64,
        actor: &Actor,
    ) -> Result<bool, StoreError>;
    /// Pairs of linked requests taken at two different sites (one of them may be shared by
    /// every site), newest first: the information managers' list, since each site's
    /// caseworkers are told only that another site has such a request.
    async fn links_across_sites(&self) -> Result<Vec<LinkAcrossSites>, StoreError>;
    /// A caseworker's decision on one candidate, with the case's status following it
    /// ([`crate::cases::decide_candidate`]).
    async fn decide_candidate(
        &self,
        id: TracingRequestId,
        record_id: &RecordId,
        status: CandidateStatus,
        actor: &Actor,
        reason: &str,
    ) -> Result<TracingCase, StoreError>;
    /// Moves a case (closing it, say); `Conflict` if the move is not allowed
    /// ([`crate::cases::move_case`]).
    async fn move_case(
        &self,
        id: TracingRequestId,
        to: CaseStatus,
        actor: &Actor,
        reason: &str,
    ) -> Result<TracingCase, StoreError>;
    /// Records a reunification step on a case whose match is confirmed
    /// ([`crate::cases::record_step`]).
    async fn record_reunification_step(
        &self,
        id: TracingRequestId,
        step: &ReunificationStepDraft,
        actor: &Actor,
    ) -> Result<TracingCase, StoreError>;
    /// Assigns a case to one caseworker, or gives it back to the site's caseworkers (`None`),
    /// with a history entry when it changes.
    async fn assign_case(
        &self,
        id: TracingRequestId,
        caseworker: Option<&str>,
        actor: &Actor,
    ) -> Result<TracingCase, StoreError>;

    /// Imports PFIF person records, each as a tracing request, and notes, all or nothing. A
    /// person already imported keeps its record (PFIF records are never overwritten) and gains
    /// its new notes; a note already held is skipped. `notes` are notes about persons imported
    /// earlier: `NotFound` if one is about a person this registry does not hold.
    ///
    /// An importer confined to the site `scope` writes only to its own site's cases and the
    /// shared ones ([`may_write_case`]): a person already held for another site's case gains
    /// nothing (its notes are counted as out of scope, held or not), and a separate note about
    /// one is refused exactly as a note about nobody ([`note_about_unknown_person`]).
    async fn import_pfif(
        &self,
        persons: &[(PfifPerson, TracingRequestDraft)],
        notes: &[PfifNote],
        scope: Option<&str>,
        actor: &Actor,
    ) -> Result<PfifImported, StoreError>;
    /// Every tracing case, oldest first, with the PFIF record it was imported from (notes
    /// included), for a PFIF export. A death report (a note saying `believed_dead`) is left out
    /// until a caseworker has verified it: partners and families never learn of a death from
    /// Peywand before then.
    async fn pfif_cases(&self) -> Result<Vec<(TracingCase, Option<PfifPerson>)>, StoreError>;
    /// The death reports about the person a case was imported from, oldest first.
    async fn death_reports(&self, id: TracingRequestId) -> Result<Vec<DeathReport>, StoreError>;
    /// Records that a caseworker verified a death report on a case; `NotFound` if the case
    /// has no such report. Verifying again changes nothing.
    async fn verify_death_report(
        &self,
        id: TracingRequestId,
        note_record_id: &str,
        actor: &Actor,
    ) -> Result<DeathReport, StoreError>;

    /// Sets what the PFIF partner holding the token `token_id` may write, replacing what it
    /// could; `NotFound` if there is no such token.
    async fn set_pfif_partner(
        &self,
        token_id: &str,
        partner: &PfifPartner,
    ) -> Result<(), StoreError>;
    /// What the holder of a token (by digest, not revoked) may write as a PFIF partner; `None`
    /// for a token given to no partner, which writes no PFIF record.
    async fn pfif_partner(&self, token_digest: &str) -> Result<Option<PfifPartner>, StoreError>;

    /// How likely a person sought is to have registered at all: the information manager's
    /// estimate and the cases that ended since (see [`RegisteredShare`]).
    async fn registered_share(&self) -> Result<RegisteredShare, StoreError>;
    /// Sets the information manager's estimate from now on, kept with who set it and when;
    /// `share` is one that [`valid_registered_share`] accepts.
    async fn set_registered_share(
        &self,
        share: f64,
        actor: &Actor,
    ) -> Result<RegisteredShare, StoreError>;

    /// The cases that ended, each request with the registration confirmed (or reunited) as
    /// the person it sought, or `None` where it closed without finding them: what tracing
    /// learns how relatives' requests compare with the registrations of the people they
    /// sought from, and how far to trust that. Read case by case through the methods above,
    /// so every backend gives the same.
    async fn ended_cases(&self) -> Result<Vec<(TracingRequest, Option<RecordId>)>, StoreError> {
        let mut ended = Vec::new();
        for status in [
            CaseStatus::MatchConfirmed,
            CaseStatus::Reunified,
            CaseStatus::ClosedWithoutResult,
        ] {
            let mut offset = 0;
            loop {
                let page = Page::new(offset, Page::MAX_LIMIT);
                let page = self
                    .tracing_requests(Some(status), None, None, page)
                    .await?;
                for request in &page.items {
                    let Some(case) = self.tracing_case(request.id).await? else {
                        continue;
                    };
                    let person = case.candidates.iter().find(|c| {
                        matches!(
                            c.status,
                            CandidateStatus::Confirmed
                                | CandidateStatus::Reunited
                                | CandidateStatus::ReunitedElsewhere
                        )
                    });
                    match (status, person) {
                        (CaseStatus::ClosedWithoutResult, _) => ended.push((case.request, None)),
                        (_, Some(c)) => ended.push((case.request, Some(c.record_id.clone()))),
                        // Reunited with no registration named: nothing to compare.
                        (_, None) => {}
                    }
                }
                offset += page.items.len() as u64;
                if page.items.is_empty() || offset >= page.total {
                    break;
                }
            }
        }
        Ok(ended)
    }
}

/// The chance that a person a relative seeks registered at all, the prior against which every
/// candidate of a tracing request stands ("not in the registry" is the other possibility). An
/// information manager sets it from what the teams know (how many of those sought are still
/// in Pakistan, or crossed elsewhere); each case that ends then teaches it: found in the
/// registry, or closed without finding the person.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisteredShare {
    /// As the information manager set it; [`DEFAULT_REGISTERED_SHARE`] until one does.
    pub set: f64,
    pub set_by: Option<String>,
    pub set_at: Option<DateTime<Utc>>,
    /// Cases whose person was found in the registry: a match confirmed, or reunified.
    pub cases_found: u64,
    /// Cases closed without finding the person.
    pub cases_not_found: u64,
    /// What tracing uses: the estimate set, counted as [`SETTING_COUNTS_AS_CASES`] cases, and
    /// the cases that ended.
    pub in_use: f64,
}

/// The share before an information manager sets one: even, neither hoping nor despairing.
pub const DEFAULT_REGISTERED_SHARE: f64 = 0.5;

/// How many ended cases the information manager's estimate weighs as much as: a first few
/// cases move it a little, a season of cases outweighs it.
pub const SETTING_COUNTS_AS_CASES: f64 = 20.0;

impl RegisteredShare {
    /// The share in use from the estimate set (`None`: none set yet), with who set it and
    /// when, and the number of cases by status code as stored (every status may be listed;
    /// only ended ones count).
    pub fn new(
        set: Option<(f64, String, DateTime<Utc>)>,
        cases_by_status: impl IntoIterator<Item = (String, i64)>,
    ) -> RegisteredShare {
        let (mut found, mut not_found) = (0, 0);
        for (status, n) in cases_by_status {
            let n = u64::try_from(n).unwrap_or(0);
            match CaseStatus::from_code(&status) {
                Some(CaseStatus::MatchConfirmed | CaseStatus::Reunified) => found += n,
                Some(CaseStatus::ClosedWithoutResult) => not_found += n,
                Some(CaseStatus::Open | CaseStatus::CandidatesFound) | None => {}
            }
        }
        let (share, set_by, set_at) = match set {
            Some((share, by, at)) => (share, Some(by), Some(at)),
            None => (DEFAULT_REGISTERED_SHARE, None, None),
        };
        RegisteredShare {
            set: share,
            set_by,
            set_at,
            cases_found: 0,
            cases_not_found: 0,
            in_use: share,
        }
        .with_cases(found, not_found)
    }

    /// The share with more ended cases counted: `found` with the person found, `not_found`
    /// closed without (a batch of cases that ended elsewhere, brought to a search).
    pub fn with_cases(self, found: u64, not_found: u64) -> RegisteredShare {
        let found = self.cases_found + found;
        let not_found = self.cases_not_found + not_found;
        let in_use = (self.set * SETTING_COUNTS_AS_CASES + found as f64)
            / (SETTING_COUNTS_AS_CASES + (found + not_found) as f64);
        RegisteredShare {
            cases_found: found,
            cases_not_found: not_found,
            in_use,
            ..self
        }
    }
}

/// Whether `share` may be set as the share of people sought who registered: a chance strictly
/// between 1% and 99%, since at either end no evidence could move a case.
pub fn valid_registered_share(share: f64) -> Result<(), String> {
    if (0.01..=0.99).contains(&share) {
        Ok(())
    } else {
        Err("the share of people sought who registered is a percentage from 1 to 99".into())
    }
}

/// A tracing case as a caseworker sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TracingCase {
    pub request: TracingRequest,
    pub candidates: Vec<TracingCandidate>,
    /// Other requests made by the person this one seeks, for this one's requester.
    pub counterparts: Vec<RequestLink>,
    /// Reunification steps, oldest first.
    pub steps: Vec<ReunificationStep>,
    pub events: Vec<CaseEvent>,
}

/// What a PFIF import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PfifImported {
    /// The tracing requests made for persons not held before.
    pub new_requests: Vec<TracingRequestId>,
    /// Persons already held (their records kept as they were).
    pub persons_already_present: u64,
    pub new_notes: u64,
    pub notes_already_present: u64,
    /// Notes inside persons held for another site's case: not written, and whether each was
    /// held already is not said.
    pub notes_out_of_scope: u64,
    /// Persons of a domain the sender may not write for: skipped, with their notes.
    pub persons_outside_domains: u64,
    /// Notes of a domain the sender may not write for: skipped.
    pub notes_outside_domains: u64,
    /// Notes saying `believed_dead` from a sender not allowed to report a death: skipped.
    pub death_reports_refused: u64,
}

/// A note saying the person is believed dead, and who verified it, if anyone has.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeathReport {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub note: PfifNote,
    pub verified_by: Option<String>,
    pub verified_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Whether an importer confined to the site `scope` (`None`: every site) may write to a case
/// of `site`: its own site's cases, and the shared ones that belong to no site.
pub fn may_write_case(scope: Option<&str>, site: Option<&str>) -> bool {
    match (scope, site) {
        (Some(own), Some(site)) => own == site,
        _ => true,
    }
}

/// The refusal of a separate note about a person the importer may not write to, the same
/// whether the registry holds that person for another site or not at all: the answer does
/// not tell another site's cases from nobody.
pub fn note_about_unknown_person(note: &PfifNote) -> StoreError {
    StoreError::NotFound(format!(
        "person {}, whom note {} is about, is neither in the file nor among the cases this import may write to",
        note.field("person_record_id"),
        note.record_id()
    ))
}

/// Two requests at two sites that seek each other's requesters: relatives looking for each
/// other from different crossing points.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkAcrossSites {
    pub request_id: TracingRequestId,
    pub site_code: Option<String>,
    pub other_id: TracingRequestId,
    pub other_site_code: Option<String>,
    /// How well the names agree both ways, 0 to 1.
    pub score: f64,
    pub found_at: chrono::DateTime<chrono::Utc>,
}

/// Another request that looks for this one's requester.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestLink {
    pub request_id: TracingRequestId,
    /// How well the names agree both ways, 0 to 1.
    pub score: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(found: i64, closed: i64) -> Vec<(String, i64)> {
        vec![
            ("open".into(), 40),
            ("candidates_found".into(), 7),
            ("match_confirmed".into(), found / 2),
            ("reunified".into(), found - found / 2),
            ("closed_without_result".into(), closed),
        ]
    }

    #[test]
    fn the_share_starts_even_and_ended_cases_teach_it() {
        let untouched = RegisteredShare::new(None, counts(0, 0));
        assert_eq!(untouched.in_use, DEFAULT_REGISTERED_SHARE);
        assert_eq!(untouched.set_by, None);
        // Open cases teach nothing: their end is not known.
        assert_eq!((untouched.cases_found, untouched.cases_not_found), (0, 0));

        let at = Utc::now();
        let set = RegisteredShare::new(Some((0.8, "im".into(), at)), counts(0, 0));
        assert_eq!(set.in_use, 0.8);
        // Twenty cases found and twenty closed unfound weigh twice the estimate of 0.8.
        let taught = RegisteredShare::new(Some((0.8, "im".into(), at)), counts(20, 20));
        assert!((taught.in_use - (16.0 + 20.0) / 60.0).abs() < 1e-12);
        assert_eq!((taught.cases_found, taught.cases_not_found), (20, 20));
        // A season of cases outweighs the estimate.
        let season = RegisteredShare::new(Some((0.8, "im".into(), at)), counts(100, 900));
        assert!(season.in_use < 0.12, "{season:?}");
    }

    #[test]
    fn a_share_is_a_chance_that_evidence_can_still_move() {
        assert!(valid_registered_share(0.5).is_ok());
        assert!(valid_registered_share(0.01).is_ok());
        for refused in [0.0, 1.0, -0.2, 1.5, f64::NAN] {
            assert!(valid_registered_share(refused).is_err(), "{refused}");
        }
    }
}
