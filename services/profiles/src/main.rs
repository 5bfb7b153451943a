//! Runs the profiles service alone, on its own port.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(profiles::NAME, profiles::DEFAULT_PORT, profiles::router).await
}
