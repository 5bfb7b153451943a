//! Runs the notifications service alone, on its own port, with its jobs (dispatcher,
//! digests, analytics rollup).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run(&notifications::SERVICE).await
}
