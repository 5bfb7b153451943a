//! Runs the qr service alone, on its own port.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(qr::NAME, qr::DEFAULT_PORT, qr::router).await
}
