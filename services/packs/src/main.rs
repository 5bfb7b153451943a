//! Runs the packs service alone, on its own port, with its jobs and consumers.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run(&packs::SERVICE).await
}
