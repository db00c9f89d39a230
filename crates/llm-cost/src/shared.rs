//! [`SharedCatalog`]: a catalog that a running program can replace (a fresh price file) without rebuilding
//! what prices with it.

use std::ops::Deref;
use std::sync::{Arc, PoisonError, RwLock};

use crate::catalog::Catalog;

/// A handle to the catalog in use, shared by everything that prices (a client, its tracker): cheap to clone,
/// and [`SharedCatalog::replace`] swaps the catalog for every holder at once. A call that already took the
/// catalog ([`SharedCatalog::get`]) finishes with it; the next one sees the new one. Every cost names the
/// catalog version that priced it (`Cost::catalog_version`).
///
/// ```
/// use llm_cost::{Catalog, SharedCatalog};
/// let shared = SharedCatalog::embedded();
/// let other = shared.clone();
/// assert_eq!(shared.get().version(), Catalog::embedded().version());
/// shared.replace(Catalog::from_json(r#"{"my-model": {"input_cost_per_token": 0.000001}}"#).unwrap());
/// assert!(other.get().version().starts_with("custom+"));
/// ```
#[derive(Debug, Clone)]
pub struct SharedCatalog {
    current: Arc<RwLock<Option<Arc<Catalog>>>>,
}

/// The catalog a [`SharedCatalog`] held when it was read: the embedded one or a loaded one.
#[derive(Debug, Clone)]
pub enum CatalogRef {
    /// The embedded catalog.
    Embedded(&'static Catalog),
    /// A catalog loaded at run time.
    Loaded(Arc<Catalog>),
}

impl Deref for CatalogRef {
    type Target = Catalog;

    fn deref(&self) -> &Catalog {
        match self {
            Self::Embedded(c) => c,
            Self::Loaded(c) => c,
        }
    }
}

impl SharedCatalog {
    /// A handle on the embedded catalog.
    pub fn embedded() -> Self {
        Self { current: Arc::new(RwLock::new(None)) }
    }

    /// A handle on this catalog.
    pub fn new(catalog: impl Into<Arc<Catalog>>) -> Self {
        Self { current: Arc::new(RwLock::new(Some(catalog.into()))) }
    }

    /// The catalog now in use.
    pub fn get(&self) -> CatalogRef {
        match &*self.current.read().unwrap_or_else(PoisonError::into_inner) {
            Some(c) => CatalogRef::Loaded(Arc::clone(c)),
            None => CatalogRef::Embedded(Catalog::embedded()),
        }
    }

    /// Puts `catalog` in use for every holder of this handle; returns the version it replaced.
    pub fn replace(&self, catalog: impl Into<Arc<Catalog>>) -> String {
        let new = catalog.into();
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let old = current.as_ref().map_or_else(|| Catalog::embedded().version().to_owned(), |c| c.version().to_owned());
        *current = Some(new);
        old
    }
}

impl Default for SharedCatalog {
    fn default() -> Self {
        Self::embedded()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_reaches_every_holder_and_old_readers_keep_theirs() {
        let a = SharedCatalog::embedded();
        let b = a.clone();
        let before = b.get();
        let old = a.replace(
            Catalog::from_json_with_version(
                r#"{"m": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}"#,
                "v2",
            )
            .unwrap(),
        );
        assert_eq!(old, Catalog::embedded().version());
        assert_eq!(b.get().version(), "v2");
        assert!(b.get().model_info("m", None).is_ok());
        assert_eq!(before.version(), Catalog::embedded().version());
        assert_eq!(a.replace(Catalog::from_json_with_version("{}", "v3").unwrap()), "v2");
    }
}
