//! Who may do what in Peywand, decided in one place.
//!
//! A list of returnees in the wrong hands can get people killed, so access is narrow by
//! default: each [`Role`] is granted the [`Permission`]s its work needs (the table in
//! [`Role::can`]) and nothing else. The server checks every route against this table; the
//! audit log ([`audit`]) records what was done under it, in a chain that shows any
//! tampering.

pub mod audit;
mod secret;

pub use secret::{Secret, hash_password, pseudonym, temporary_password, verify_password};

use serde::{Deserialize, Serialize};

/// The roles of the people who use Peywand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The registration desk at one site: households, duplicate warnings.
    Registrar,
    /// Tracing requests, match review, reunification cases.
    Caseworker,
    /// Assistance given, entitlement checks.
    DistributionOfficer,
    /// Dashboards, statistics, data quality, duplicate review, exports.
    InformationManager,
    /// The audit log, read only.
    Auditor,
    /// Users, sites, keys, backups.
    Administrator,
    /// A site's own Peywand, syncing with the hub: pushes its site's changes and pulls what
    /// the site needs. No person signs in with it; its credential comes from enrolment.
    SiteServer,
}

pub const ROLES: [Role; 7] = [
    Role::Registrar,
    Role::Caseworker,
    Role::DistributionOfficer,
    Role::InformationManager,
    Role::Auditor,
    Role::Administrator,
    Role::SiteServer,
];

/// What a request may do. Routes are declared with one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Anyone, signed in or not: health, the sign-in itself, static assets.
    Public,
    /// Any signed-in user: their own session, the list of sites.
    SignedIn,
    /// Read registrations and households.
    ViewRegistrations,
    /// Register households and edit them.
    Register,
    /// Check people against the registry and see why two records match.
    CheckDuplicates,
    /// Decide whether two records are one person.
    ReviewDuplicates,
    /// Take tracing requests, review their candidates, record reunifications.
    Trace,
    /// Export personal data (audited, with a stated reason).
    ExportPersonalData,
    /// See flow statistics and dashboards (counts only, small cells suppressed).
    ViewStatistics,
    /// Read the audit log.
    ViewAudit,
    /// Manage users, tokens and sites.
    Administer,
    /// Push a site's changes to the hub and pull what the site needs.
    Sync,
    /// See assistance programmes and what a household is entitled to and received.
    ViewAssistance,
    /// Record assistance handed over at a distribution point.
    Distribute,
    /// Set assistance programmes and their rules, and override a rule with a reason.
    ManageAssistance,
    /// Record stock of assistance received at a site (the site's own store or the hub).
    RecordStock,
    /// Set what tracing assumes before any evidence: the share of people sought who
    /// registered at all.
    ManageTracing,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Registrar => "registrar",
            Role::Caseworker => "caseworker",
            Role::DistributionOfficer => "distribution_officer",
            Role::InformationManager => "information_manager",
            Role::Auditor => "auditor",
            Role::Administrator => "administrator",
            Role::SiteServer => "site_server",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        ROLES.into_iter().find(|r| r.code() == code)
    }

    /// Whether a user of this role works at one site only, and must be given it.
    pub fn site_bound(self) -> bool {
        matches!(
            self,
            Role::Registrar | Role::Caseworker | Role::DistributionOfficer | Role::SiteServer
        )
    }

    /// The access policy: the one table every route is checked against.
    pub fn can(self, permission: Permission) -> bool {
        use Permission as P;
        use Role as R;
        match permission {
            P::Public | P::SignedIn => true,
            P::ViewRegistrations => matches!(
                self,
                R::Registrar | R::Caseworker | R::DistributionOfficer | R::InformationManager
            ),
            P::Register | P::CheckDuplicates => {
                matches!(self, R::Registrar | R::InformationManager)
            }
            P::ReviewDuplicates | P::ExportPersonalData | P::ViewStatistics => {
                matches!(self, R::InformationManager)
            }
            P::Trace => matches!(self, R::Caseworker),
            P::ViewAudit => matches!(self, R::Auditor),
            P::Administer => matches!(self, R::Administrator),
            P::Sync => matches!(self, R::SiteServer),
            P::ViewAssistance => matches!(self, R::DistributionOfficer | R::InformationManager),
            P::Distribute => matches!(self, R::DistributionOfficer),
            P::ManageAssistance | P::ManageTracing => matches!(self, R::InformationManager),
            P::RecordStock => matches!(self, R::DistributionOfficer | R::InformationManager),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A username: what people sign in with and what the audit log names.
pub fn valid_username(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err("a username is 1 to 64 letters, digits, dots, dashes, underscores or @".into())
    }
}

/// The shortest password accepted: long passphrases beat complex short ones.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Failed sign-ins in a row, from one address with one username, after which that address
/// must wait before trying that username again (longer at each further failure).
pub const MAX_FAILED_LOGINS: u32 = 5;

/// How long a new API token lasts, in days, unless renewed.
pub const TOKEN_DAYS: i64 = 90;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_codes_round_trip() {
        for r in ROLES {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert_eq!(Role::from_code("root"), None);
    }

    #[test]
    fn the_policy_is_narrow() {
        // Only the auditor reads the audit log; the administrator cannot read registrations.
        let who = |p: Permission| -> Vec<Role> { ROLES.into_iter().filter(|r| r.can(p)).collect() };
        assert_eq!(who(Permission::ViewAudit), vec![Role::Auditor]);
        assert_eq!(who(Permission::Administer), vec![Role::Administrator]);
        assert!(!Role::Administrator.can(Permission::ViewRegistrations));
        assert!(!Role::Auditor.can(Permission::ViewRegistrations));
        assert_eq!(
            who(Permission::ExportPersonalData),
            vec![Role::InformationManager]
        );
        assert_eq!(who(Permission::SignedIn).len(), ROLES.len());
        // Overriding an assistance rule is a supervisor's: never the officer who distributes.
        assert_eq!(
            who(Permission::ManageAssistance),
            vec![Role::InformationManager]
        );
        assert_eq!(who(Permission::Distribute), vec![Role::DistributionOfficer]);
    }

    #[test]
    fn usernames() {
        assert!(valid_username("fatima.n@torkham").is_ok());
        assert!(valid_username("").is_err());
        assert!(valid_username("a b").is_err());
        assert!(valid_username(&"x".repeat(65)).is_err());
    }
}
