//! Runs the identity service alone, on its own port, with its purge job.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run(&identity::SERVICE).await
}
