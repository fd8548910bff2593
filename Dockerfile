# Keysat's image: the fully static `keysat` that `make musl` builds and checks,
# on `scratch` with CA certificates and /data, nothing else.
#
# `start-cli s9pk pack` builds it once per architecture in the manifest
# (x86_64, aarch64). The builder runs on the target platform (emulated for
# the other architecture), so its native musl target is the one to build;
# `make musl` also cuts its symbol table to Keysat's own functions
# (binutils' objcopy) and proves the result static (`file`, `ldd`) and alive
# (`--version`, a panic's backtrace naming Keysat's frames, GET /healthz)
# before it is copied.

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools make file curl ca-certificates binutils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN target="$(uname -m)-unknown-linux-musl" \
 && rustup target add "$target" \
 && make musl MUSL_TARGET="$target" \
 && mkdir -p /out/usr/local/bin /out/data /out/tmp /out/etc/ssl/certs \
 && chmod 1777 /out/tmp \
 && cp "target/$target/dist/keysat" /out/usr/local/bin/keysat \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/

FROM scratch
COPY --from=build /out/ /
ENV PATH=/usr/local/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    KEYSAT_BIND=0.0.0.0:8080 \
    KEYSAT_DATA_DIR=/data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/keysat"]
CMD ["serve"]
