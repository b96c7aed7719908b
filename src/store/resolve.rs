//! Prompt references that the database can answer when git and the working file cannot.
//!
//! A reply logged as `NAME@#HASH` may come from an edit nobody committed and whose file has
//! changed since. Its exact text is kept in the database (by content hash), so the reference
//! must still resolve — in `ask --prompt`, in the chat's `--prompt`, everywhere.

use std::path::Path;

use super::{Store, StoreHandle};
use crate::prompts::{
    ContentHash, GitState, LoadedPrompt, PromptError, Provenance, Reference, Selector,
    SessionVersions, resolve_reference,
};

/// [`resolve_reference`], then, for a `NAME@#HASH` neither the session nor git knows, the
/// texts stored in the history database.
pub async fn resolve_with_history(
    dir: &Path,
    reference: &Reference,
    session: &SessionVersions,
    store: Option<&StoreHandle>,
) -> Result<LoadedPrompt, PromptError> {
    let error = match resolve_reference(dir, reference, session).await {
        Ok(loaded) => return Ok(loaded),
        Err(e) => e,
    };
    let (Selector::Hash(prefix), Some(store), PromptError::UnknownHash { .. }) =
        (&reference.selector, store, &error)
    else {
        return Err(error);
    };
    let found = store
        .find_prompt_texts(reference.name.clone(), prefix.clone())
        .wait()
        .await
        .unwrap_or_default();
    from_stored(reference, prefix, found, error)
}

/// [`resolve_with_history`] for the commands that read the database themselves (`log
/// --prompt`, `prompts show`): the same rules, with the database opened for reading.
pub async fn resolve_with_store(
    dir: &Path,
    reference: &Reference,
    store: Option<&Store>,
) -> Result<LoadedPrompt, PromptError> {
    let error = match resolve_reference(dir, reference, &SessionVersions::new()).await {
        Ok(loaded) => return Ok(loaded),
        Err(e) => e,
    };
    let (Selector::Hash(prefix), Some(store), PromptError::UnknownHash { .. }) =
        (&reference.selector, store, &error)
    else {
        return Err(error);
    };
    let found = store
        .find_prompt_texts(&reference.name, prefix)
        .unwrap_or_default();
    from_stored(reference, prefix, found, error)
}

/// The one stored text (hash, text) matching `prefix`, as the version `reference` names;
/// none gives back `error`, several are ambiguous.
fn from_stored(
    reference: &Reference,
    prefix: &str,
    found: Vec<(String, String)>,
    error: PromptError,
) -> Result<LoadedPrompt, PromptError> {
    match found.as_slice() {
        [(hash, text)] => match ContentHash::from_hex(hash) {
            Some(content_hash) => Ok(LoadedPrompt {
                text: text.clone(),
                provenance: Provenance {
                    name: reference.name.clone(),
                    content_hash,
                    git: GitState::Uncommitted,
                },
            }),
            None => Err(error),
        },
        [] => Err(error),
        _ => Err(PromptError::AmbiguousHash {
            name: reference.name.clone(),
            hash: prefix.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::prompts::content_hash;
    use crate::store::StoreWriter;

    #[tokio::test]
    async fn a_hash_only_the_database_knows_still_resolves() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("greeter.txt"), "The text today.").unwrap();
        let old = "The text of an edit nobody committed.";
        let hash = content_hash(old);
        let mut store = Store::open_in_memory().unwrap();
        store.save_prompt_text(hash.full(), "greeter", old).unwrap();
        let writer = StoreWriter::spawn(store, Box::new(|_| {})).unwrap();
        let handle = writer.handle();
        let reference = Reference::parse(&format!("greeter@#{}", hash.short())).unwrap();
        let session = SessionVersions::new();
        let without = resolve_with_history(dir.path(), &reference, &session, None).await;
        assert!(matches!(without, Err(PromptError::UnknownHash { .. })));
        let loaded = resolve_with_history(dir.path(), &reference, &session, Some(&handle))
            .await
            .unwrap();
        assert_eq!(loaded.text, old);
        assert_eq!(loaded.provenance.content_hash, hash);
        assert_eq!(loaded.provenance.git, GitState::Uncommitted);
        writer.close();
        // The same rule when the database is read directly (`log`, `prompts show`).
        let mut store = Store::open_in_memory().unwrap();
        store.save_prompt_text(hash.full(), "greeter", old).unwrap();
        let read = resolve_with_store(dir.path(), &reference, Some(&store))
            .await
            .unwrap();
        assert_eq!(read, loaded);
    }
}
