//! The matching index the server keeps in memory: every registration with the stored linkage
//! model, so that a desk saving a household sees its likely duplicates at once, with no batch
//! run. It loads in the background when the server starts; the desk never waits for it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;

use peywand_domain::{MatchRecord, Person};
use peywand_linkage::{
    Candidate, Dataset, Explanation, LearntFromCases, LinkageError, Matcher, Model, Settings,
    Settle, Sought,
};
use peywand_store::{Store, StoreError};

/// Whether the index can answer yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndexStatus {
    /// Still reading the registry; checks answer with no candidates meanwhile.
    Loading,
    /// No deduplication has run on this registry yet, so there is no model to score with.
    NoModel,
    Ready,
    /// Loading failed (the reason is in the server log).
    Failed,
}

enum State {
    /// Records saved while the registry is read wait here, and are added once it is loaded.
    Loading(Vec<MatchRecord>),
    NoModel,
    Ready(Box<Matcher>),
    Failed,
}

/// Why the index cannot answer a question about two records.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("the matching index is not ready ({0:?}); try again shortly")]
    NotReady(IndexStatus),
    #[error(transparent)]
    Linkage(#[from] LinkageError),
}

/// Every loaded registration, indexed for one record at a time. Checks whose names the index
/// already holds read it side by side; saving, and a check that brings a new name, take it
/// alone for a moment.
pub struct MatchingIndex {
    state: RwLock<State>,
    /// While a ready index is rebuilt in the background, the records saved meanwhile, to add
    /// to the new one. Always locked after `state`.
    saved_during_reload: Mutex<Option<Vec<MatchRecord>>>,
    /// While the index (re)loads, the registrations erased meanwhile, to take out of the new
    /// one. Always locked after `state`.
    erased_during_reload: Mutex<Vec<String>>,
    /// The latest reload: an older one that finishes later is dropped.
    reloads: std::sync::atomic::AtomicU64,
    /// The share of people sought who registered, for tracing's prior (see
    /// `Matcher::set_registered_share`), kept for an index that reloads.
    registered_share: Mutex<f64>,
    /// What the index in use learnt from the tracing cases that ended when it was built, and
    /// how many had ended then.
    learnt: Mutex<Option<(LearntFromCases, u64)>>,
}

impl MatchingIndex {
    /// Starts loading `store`'s registrations and model in the background.
    pub fn load(store: Arc<dyn Store>) -> Arc<MatchingIndex> {
        let index = Arc::new(MatchingIndex {
            state: RwLock::new(State::Loading(Vec::new())),
            saved_during_reload: Mutex::new(None),
            erased_during_reload: Mutex::new(Vec::new()),
            reloads: std::sync::atomic::AtomicU64::new(0),
            registered_share: Mutex::new(peywand_linkage::REGISTERED_SHARE),
            learnt: Mutex::new(None),
        });
        index.reload(store);
        index
    }

    /// Reads the registry again in the background (after records were erased, say). A ready
    /// index keeps answering until the new one is built and swapped in.
    pub fn reload(self: &Arc<Self>, store: Arc<dyn Store>) {
        use std::sync::atomic::Ordering;
        let generation = self.reloads.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let mut state = self.lock();
            if matches!(*state, State::Ready(_)) {
                let mut saved = self.saved();
                saved.get_or_insert_with(Vec::new);
            } else {
                *state = State::Loading(Vec::new());
            }
        }
        let loading = Arc::clone(self);
        tokio::spawn(async move {
            let mut learnt = None;
            let mut next = match read(store.as_ref()).await {
                Ok(Some(loaded)) => {
                    match tokio::task::spawn_blocking(move || {
                        let mut matcher =
                            Matcher::new(Dataset::build(&loaded.records), loaded.model);
                        // The prior is learnt as a shift from where the share puts it.
                        matcher.set_registered_share(loaded.share);
                        let learnt = matcher.learn_from_ended(&loaded.ended);
                        (matcher, (learnt, loaded.cases_ended))
                    })
                    .await
                    {
                        Ok((matcher, from_cases)) => {
                            learnt = Some(from_cases);
                            State::Ready(Box::new(matcher))
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "building the matching index failed");
                            State::Failed
                        }
                    }
                }
                Ok(None) => State::NoModel,
                Err(e) => {
                    tracing::error!(error = %e, "loading the matching index failed");
                    State::Failed
                }
            };
            let mut state = loading.lock();
            if loading.reloads.load(Ordering::SeqCst) != generation {
                return; // a newer reload is under way and will swap in its own
            }
            // Saved while loading: a record the read already saw is replaced, not doubled.
            let saved_meanwhile = loading.saved().take().unwrap_or_default();
            if matches!(next, State::Failed) && matches!(*state, State::Ready(_)) {
                // The index in use holds every save and erasure since: it goes on answering,
                // and learns at the next try (what it learnt from is left as it was).
                loading.erased().clear();
                tracing::error!("the matching index in use goes on answering");
                return;
            }
            if let State::Ready(matcher) = &mut next {
                let waiting = match &*state {
                    State::Loading(pending) => pending.as_slice(),
                    _ => saved_meanwhile.as_slice(),
                };
                for r in waiting {
                    matcher.add(r);
                }
                for id in loading.erased().drain(..) {
                    matcher.remove(&id);
                }
                matcher.set_registered_share(*loading.share());
                tracing::info!(records = matcher.dataset().len(), "matching index loaded");
            }
            *state = next;
            *loading.learnt() = learnt;
        });
    }

    fn saved(&self) -> MutexGuard<'_, Option<Vec<MatchRecord>>> {
        self.saved_during_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The index alone, to change it.
    fn lock(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The index shared with other readers.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn status(&self) -> IndexStatus {
        status_of(&self.read())
    }

    /// For each probe, its likely duplicates among the loaded registrations (at least the
    /// review threshold), best first, with each field's part in the score.
    pub fn check(
        &self,
        probes: &[MatchRecord],
        limit: usize,
        sought: Sought,
    ) -> (IndexStatus, Vec<Vec<(Candidate, Explanation)>>) {
        {
            let state = self.read();
            let State::Ready(matcher) = &*state else {
                return (status_of(&state), vec![Vec::new(); probes.len()]);
            };
            let shared: Option<Vec<_>> = probes
                .iter()
                .map(|p| matcher.find_explained_shared(p, limit, sought))
                .collect();
            if let Some(found) = shared {
                return (IndexStatus::Ready, above_review_threshold(found));
            }
        }
        // A name new to the index: it is added for the check's length, alone.
        self.likely(probes.len(), |matcher| {
            probes
                .iter()
                .map(|p| matcher.find_explained(p, limit, sought))
                .collect()
        })
    }

    /// As [`MatchingIndex::check`] for the members of one household being registered, and
    /// within the family where a member is found in an earlier household registration (see
    /// `Matcher::check_household`).
    pub fn check_household(
        &self,
        members: &[MatchRecord],
        limit: usize,
    ) -> (IndexStatus, Vec<Vec<(Candidate, Explanation)>>) {
        self.likely(members.len(), |matcher| {
            matcher.check_household(members, limit)
        })
    }

    /// What `find` gives for each of `probes` probes, kept from the review threshold up; empty
    /// lists while the index is not ready.
    fn likely(
        &self,
        probes: usize,
        find: impl FnOnce(&mut Matcher) -> Vec<Vec<(Candidate, Explanation)>>,
    ) -> (IndexStatus, Vec<Vec<(Candidate, Explanation)>>) {
        let mut state = self.lock();
        let State::Ready(matcher) = &mut *state else {
            return (status_of(&state), vec![Vec::new(); probes]);
        };
        (IndexStatus::Ready, above_review_threshold(find(matcher)))
    }

    /// For each probe, those of `record_ids` likely enough to be the person (at least the
    /// review threshold). Empty while the index is not ready.
    pub fn score_against(
        &self,
        probes: &[MatchRecord],
        record_ids: &[String],
    ) -> Vec<Vec<Candidate>> {
        let mut state = self.lock();
        let State::Ready(matcher) = &mut *state else {
            return vec![Vec::new(); probes.len()];
        };
        let floor = Settings::default().review_threshold;
        probes
            .iter()
            .map(|p| {
                let mut c = matcher.score(p, record_ids);
                c.retain(|c| c.probability >= floor);
                c
            })
            .collect()
    }

    /// Adds saved registrations (new or edited) so that the next check sees them.
    pub fn add(&self, records: &[MatchRecord]) {
        match &mut *self.lock() {
            State::Loading(pending) => pending.extend_from_slice(records),
            State::Ready(matcher) => {
                for r in records {
                    matcher.add(r);
                }
                if let Some(saved) = self.saved().as_mut() {
                    saved.extend_from_slice(records);
                }
            }
            State::NoModel | State::Failed => {}
        }
    }

    /// Takes erased registrations out of every answer at once. While the index (re)loads,
    /// they are also taken out of the index being built, which may have read them before
    /// they were erased.
    pub fn remove(&self, record_ids: &[String]) {
        let mut state = self.lock();
        if let State::Ready(matcher) = &mut *state {
            for id in record_ids {
                matcher.remove(id);
            }
        }
        let reloading = matches!(*state, State::Loading(_)) || self.saved().is_some();
        if reloading {
            self.erased().extend(record_ids.iter().cloned());
        }
    }

    fn erased(&self) -> MutexGuard<'_, Vec<String>> {
        self.erased_during_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Of these registrations, those the loaded index does not hold as they are: new ones, and
    /// edits. All of them while the index is not ready.
    pub fn not_held(&self, members: Vec<Person>) -> Vec<Person> {
        match &*self.read() {
            State::Ready(matcher) => members
                .into_iter()
                .filter(|m| !matcher.holds(&MatchRecord::from_person(m)))
                .collect(),
            _ => members,
        }
    }

    /// Adds a saved household's members, off the async threads.
    pub async fn add_persons(self: &Arc<Self>, members: &[Person]) {
        let records: Vec<MatchRecord> = members.iter().map(MatchRecord::from_person).collect();
        let index = Arc::clone(self);
        if let Err(e) = tokio::task::spawn_blocking(move || index.add(&records)).await {
            tracing::error!(error = %e, "adding registrations to the matching index failed");
        }
    }

    /// Sets the share of people sought who registered at all, against which every tracing
    /// request's candidates stand from now on.
    pub fn set_registered_share(&self, share: f64) {
        *self.share() = share;
        let changed = matches!(&*self.read(), State::Ready(m) if m.registered_share() != share);
        if changed && let State::Ready(matcher) = &mut *self.lock() {
            matcher.set_registered_share(share);
        }
    }

    /// What the index in use learnt from the tracing cases that ended when it was built;
    /// `None` while none is ready.
    pub fn learnt_from_cases(&self) -> Option<LearntFromCases> {
        self.learnt().map(|(learnt, _)| learnt)
    }

    /// Reads the registry again, in the background, if tracing cases have ended (or ended
    /// ones been erased) since the index in use learnt from them: what a confirmed match
    /// teaches then reaches the next family's probabilities without waiting for a restart.
    /// Whether it started a reload; not while the index loads, or has no model.
    pub async fn learn_from_cases_ended_since(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
    ) -> Result<bool, StoreError> {
        let share = store.registered_share().await?;
        let ended = share.cases_found + share.cases_not_found;
        let settled = matches!(*self.read(), State::Ready(_)) && self.saved().is_none();
        if !settled || self.learnt().is_some_and(|(_, then)| then == ended) {
            return Ok(false);
        }
        self.reload(store);
        Ok(true)
    }

    fn learnt(&self) -> MutexGuard<'_, Option<(LearntFromCases, u64)>> {
        self.learnt.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn share(&self) -> MutexGuard<'_, f64> {
        self.registered_share
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How many registrations fit a tracing request about equally, and the detail to ask
    /// for that would tell them apart (see `Matcher::what_would_settle`); `None` while the
    /// index is not ready.
    pub fn what_would_settle(&self, probe: &MatchRecord) -> Option<Settle> {
        match &mut *self.lock() {
            State::Ready(matcher) => matcher.what_would_settle(probe),
            _ => None,
        }
    }

    /// Each field's part in the match weight of two loaded records.
    pub fn explain(&self, record_a: &str, record_b: &str) -> Result<Explanation, IndexError> {
        match &*self.read() {
            State::Ready(matcher) => Ok(matcher.explain(record_a, record_b)?),
            other => Err(IndexError::NotReady(status_of(other))),
        }
    }
}

/// Candidates kept from the review threshold up.
fn above_review_threshold(
    mut found: Vec<Vec<(Candidate, Explanation)>>,
) -> Vec<Vec<(Candidate, Explanation)>> {
    let floor = Settings::default().review_threshold;
    for c in &mut found {
        c.retain(|(c, _)| c.probability >= floor);
    }
    found
}

fn status_of(state: &State) -> IndexStatus {
    match state {
        State::Loading(_) => IndexStatus::Loading,
        State::NoModel => IndexStatus::NoModel,
        State::Ready(_) => IndexStatus::Ready,
        State::Failed => IndexStatus::Failed,
    }
}

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored linkage model cannot be read: {0}")]
    Model(#[from] serde_json::Error),
}

/// The stored model and every registration, or `None` before the first deduplication.
async fn read(store: &dyn Store) -> Result<Option<Loaded>, LoadError> {
    let Some(json) = store.linkage_model().await? else {
        return Ok(None);
    };
    let model: Model = serde_json::from_str(&json)?;
    let records = peywand_store::collect_match_records(store).await?;
    // Counted before the cases are read: one ending in between is read, and counted next time.
    let share = store.registered_share().await?;
    // Each request as it was searched when taken: its age the age on that day.
    let ended = store
        .ended_cases()
        .await?
        .into_iter()
        .map(|(request, record)| {
            let on = request.created_at.date_naive();
            let probe = crate::cases::probe_on(&request.draft.sought, on);
            (probe, record.map(|r| r.to_string()))
        })
        .collect();
    Ok(Some(Loaded {
        model,
        records,
        ended,
        share: share.in_use,
        cases_ended: share.cases_found + share.cases_not_found,
    }))
}

/// What the index is built from: the model, every registration, and the tracing cases that
/// ended (see `Matcher::learn_from_ended`).
struct Loaded {
    model: Model,
    records: Vec<MatchRecord>,
    ended: Vec<(MatchRecord, Option<String>)>,
    /// The share of people sought who registered, in use.
    share: f64,
    /// How many cases had ended, as the store counts them (some of which teach nothing: a
    /// reunion that names no registration).
    cases_ended: u64,
}
