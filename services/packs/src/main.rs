//! Runs the packs service alone, on its own port.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(packs::NAME, packs::DEFAULT_PORT, packs::router).await
}
