//! The profiles jobs: re-encryption of identity documents still under an old key.

/// How often identity documents under an old key are re-encrypted.
pub const REENCRYPT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Starts the service's background jobs (`wolo serve` calls it once): re-encryption of
/// identity documents still under an old key, every hour, 500 rows at a time until none is
/// left.
pub fn spawn_jobs(ctx: &platform::Context) {
    let keys = ctx.settings::<crate::ProfilesSettings>();
    let db = ctx.db.clone();
    platform::jobs::every(
        &ctx.db,
        crate::NAME,
        "reencrypt_documents",
        REENCRYPT_INTERVAL,
        move || {
            let (db, keys) = (db.clone(), keys.clone());
            async move {
                let mut rows = 0;
                loop {
                    match crate::crypto::reencrypt_documents_once(&db, &keys.keys, 500).await? {
                        0 => return Ok::<u64, anyhow::Error>(rows),
                        n => rows += n,
                    }
                }
            }
        },
    );
}
