# podlab container image, multi-stage on Debian 12 (bookworm):
#   build    compiler and -dev packages; the headless, portable (x86-64-v3) podlab binary only, and the
#            lesson texts
#   runtime  the shared libraries podlab links, CA certificates (for `podlab data fetch`), the
#            Fashion-MNIST package (DATASET_PACKAGE="" leaves it out) and a non-root user, uid 10001,
#            which the rendered manifests' securityContext expects
# With a registry:  podman build -t localhost/podlab:0.1.0 .     (docker build works the same)
# Offline, where no registry is reachable: make the base image locally and pass it as BASE; see
# "Container image" in cluster/README.md.
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BASE} AS build
ARG JOBS=2
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       cmake g++ make pkg-config libeigen3-dev libzmq3-dev cppzmq-dev libcli11-dev nlohmann-json3-dev \
       zlib1g-dev libdeflate-dev libcurl4-openssl-dev libstb-dev libcpp-httplib-dev libmd4c-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY engine engine
COPY cluster cluster
COPY app app
COPY lessons lessons
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DPODLAB_GUI=OFF -DPODLAB_PORTABLE=ON -DPODLAB_TESTS=OFF -DPODLAB_BENCH=OFF \
    && cmake --build /build -j"${JOBS}" --target podlab \
    && strip /build/podlab \
    && cp -r lessons /build/lessons-content && find /build/lessons-content \( -name '*.cpp' -o -name '*.h' \) -delete

FROM ${BASE} AS runtime
ARG DATASET_PACKAGE=dataset-fashion-mnist
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       libzmq5 libcurl4 zlib1g libdeflate0 libstb0 libcpp-httplib0.11 libmd4c0 ca-certificates ${DATASET_PACKAGE} \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
    && useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin podlab
COPY --from=build /build/podlab /usr/local/bin/podlab
# `podlab lesson` finds them beside the binary's prefix.
COPY --from=build /build/lessons-content /usr/local/share/podlab/lessons
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/podlab"]
CMD ["--help"]
