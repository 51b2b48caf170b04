# Multi-stage build: a static spur binary in a small, non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/spur ./cmd/spur

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/spur /usr/local/bin/spur
# REST API and the embedded broker (only used without bootstrap.servers).
EXPOSE 8083 9092
# The embedded broker keeps its data here; mount a volume to keep it.
WORKDIR /var/lib/spur
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/spur"]
# Without bootstrap.servers the embedded broker listens on 127.0.0.1 inside
# the container only; set SPUR_BOOTSTRAP_SERVERS to use a real Kafka.
CMD ["run", "--data-dir", "/var/lib/spur/data"]
