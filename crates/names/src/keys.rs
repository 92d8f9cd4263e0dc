//! Blocking keys: short strings that variants of one name share with high probability.
//!
//! Each core unit gives its coarse phonetic key (Mohammad, Muhammad, محمد → "MT"... see
//! `phonetic::coarse_key`); a name also gives the key of its joined units, so that a compound
//! split one way and joined another still meets. The linkage engine combines these with other
//! fields (father's name, birth decade) to keep buckets small on a million records.

use crate::name::{Name, UnitRole};
use crate::phonetic::coarse_key;

/// The blocking keys of a name, deduplicated, at most a handful.
pub fn blocking_keys(name: &Name) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(3);
    for u in &name.units {
        if u.role == UnitRole::Core {
            let k = coarse_key(&u.code);
            if !k.is_empty() && !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    if name.units.len() > 1 {
        let k = coarse_key(&name.joined);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// The keys a name shares with itself written with one sound slipped, from its
/// [`blocking_keys`]: dropped, added or changed (a letter lost at the start in Arabic script, a
/// dot misplaced, a vowel misheard into a consonant). Each blocking key of two letters or more
/// gives itself and, from three letters, each of its forms with one letter left out (a
/// one-letter form would tell no names apart). Two keys of three letters or more one letter
/// apart share one of these; a two-letter key meets only its forms with a letter added, and a
/// slip that moves a name's key by more than one letter is not caught. Far coarser than the
/// blocking keys: only for use with fields that narrow them (sex, province, birth period).
pub fn slip_keys(blocking_keys: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut push = |k: String| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    for key in blocking_keys {
        let letters: Vec<char> = key.chars().collect();
        if letters.len() >= 3 {
            for skip in 0..letters.len() {
                let mut form = letters.clone();
                form.remove(skip);
                push(form.into_iter().collect());
            }
        }
        if letters.len() >= 2 {
            push(key.clone());
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::normalize;

    /// Whether the two names' keys, as `keys` gives them, have one in common.
    fn share(keys: fn(&str) -> Vec<String>, a: &str, b: &str) -> bool {
        let ka = keys(a);
        keys(b).iter().any(|k| ka.contains(k))
    }

    #[test]
    fn variants_share_a_key() {
        let shares = |a: &str, b: &str| share(|n| blocking_keys(&normalize(n)), a, b);
        assert!(shares("Mohammad Nabi", "محمد نبی"));
        assert!(shares("Zabiullah", "ذبیح‌الله"));
        assert!(shares("Abdul Ghani", "عبدالغنی"));
        assert!(shares("Ghulam Haider", "Gholam Hyder"));
        assert!(!shares("Karim", "Rahim"));
    }

    #[test]
    fn one_slip_apart_shares_a_slip_key() {
        let shares = |a: &str, b: &str| share(|n| slip_keys(&blocking_keys(&normalize(n))), a, b);
        // A letter changed, dropped, added; a dot misplaced in Arabic script.
        assert!(shares("Zarghona", "Zarghoja"));
        assert!(shares("تبسم", "تبس"));
        assert!(shares("Mirwais", "Irwais"));
        assert!(shares("زرینه", "زریته"));
        // Two slips apart, or a different name: no.
        assert!(!shares("Zarghona", "Zahra"));
        assert!(!shares("Nasima", "Tabassum"));
    }
}
