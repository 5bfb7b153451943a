# Builds the `wolo` binary (migrations and seeds are embedded) into a small image.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin wolo

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/wolo /usr/local/bin/wolo
USER nobody
EXPOSE 8080
CMD ["wolo", "serve"]
