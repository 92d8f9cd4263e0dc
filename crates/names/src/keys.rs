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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::normalize;

    #[test]
    fn variants_share_a_key() {
        let shares = |a: &str, b: &str| {
            let ka = blocking_keys(&normalize(a));
            blocking_keys(&normalize(b)).iter().any(|k| ka.contains(k))
        };
        assert!(shares("Mohammad Nabi", "محمد نبی"));
        assert!(shares("Zabiullah", "ذبیح‌الله"));
        assert!(shares("Abdul Ghani", "عبدالغنی"));
        assert!(shares("Ghulam Haider", "Gholam Hyder"));
        assert!(!shares("Karim", "Rahim"));
    }
}
