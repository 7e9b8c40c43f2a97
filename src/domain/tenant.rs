//! [`Tenant`]: the brand an API key belongs to. Every user, device, request, outcome, profile,
//! counter, label and audit record belongs to exactly one tenant; the same user id string in two
//! tenants is two unrelated people (the pseudonyms are keyed per tenant, see
//! [`crate::privacy::Pseudonymizer::for_tenant`]). Single-tenant use (the library, the CLI,
//! `TESSERA_API_KEY`) is the tenant [`Tenant::DEFAULT`].

use std::fmt;

use super::InputError;

/// A checked tenant name: 1–64 bytes of `a-z`, `0-9`, `_` and `-`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tenant(String);

impl Tenant {
    /// The name of the single-tenant default.
    pub const DEFAULT: &'static str = "default";

    /// Checks `name`; the error names `field` (e.g. `server.keys[2].tenant`) and never echoes it.
    pub fn parse(field: &str, name: &str) -> Result<Tenant, InputError> {
        let ok_first = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let ok_rest = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !(1..=64).contains(&name.len()) || !ok_first || !ok_rest {
            return Err(InputError::invalid(
                field,
                "must be 1–64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit",
            ));
        }
        Ok(Tenant(name.to_string()))
    }

    /// The default tenant.
    pub fn default_tenant() -> Tenant {
        Tenant(Tenant::DEFAULT.to_string())
    }

    /// Whether this is the default tenant.
    pub fn is_default(&self) -> bool {
        self.0 == Tenant::DEFAULT
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Tenant {
    fn default() -> Self {
        Tenant::default_tenant()
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_without_echo() {
        assert_eq!(
            Tenant::parse("t", "acme-eu_2").expect("ok").as_str(),
            "acme-eu_2"
        );
        assert!(Tenant::default().is_default());
        for bad in [
            "",
            "Acme",
            "-x",
            "a b",
            "alice@example.com",
            &"x".repeat(65),
        ] {
            let e = Tenant::parse("server.keys[0].tenant", bad).expect_err("bad name");
            assert_eq!(e.field(), "server.keys[0].tenant");
            assert!(bad.is_empty() || !e.to_string().contains(bad), "{e}");
        }
    }
}
