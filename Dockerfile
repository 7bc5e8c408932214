# wtproxy in a container: `deno compile` in the official Deno image, the binary alone in a
# minimal non-root runtime image (glibc, no shell).
#
#   docker build -t wtproxy .
#   docker run -p 8080:8080 -e WTPROXY_ADMIN_TOKEN=s3cret \
#     -v "$PWD/wtproxy.yaml:/etc/wtproxy/wtproxy.yaml:ro" wtproxy
#
# The configuration is read from /etc/wtproxy/wtproxy.yaml (mount it; YAML or a HAProxy .cfg
# file: `-f` below decides). The admin listener (stats, metrics, /healthz) is on port 9100 and
# needs a token ($WTPROXY_ADMIN_TOKEN) because it is not a loopback address; /healthz answers
# without it. Access and event logs go to stdout, status lines to stderr, unless the
# configuration sends them to syslog. SIGTERM drains (10 s) and exits; SIGHUP reloads.

ARG DENO_VERSION=2.9.6

FROM denoland/deno:${DENO_VERSION} AS build
WORKDIR /src
COPY deno.json deno.lock ./
COPY src ./src
# The same task as on a developer machine (permissions and flags baked in).
RUN deno task compile && ./wtproxy --version

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/wtproxy /usr/local/bin/wtproxy
USER nonroot
EXPOSE 8080 9100
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
  CMD ["/usr/local/bin/wtproxy", "--healthz", "127.0.0.1:9100"]
ENTRYPOINT ["/usr/local/bin/wtproxy"]
CMD ["-f", "/etc/wtproxy/wtproxy.yaml", "--admin", "0.0.0.0:9100"]
