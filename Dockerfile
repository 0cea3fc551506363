# sockplay: one static binary on an empty image, run as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The same command runs in .ci/run, which checks this line is unchanged.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sockplay .
# A world-writable /tmp with the sticky bit, as the engine expects one.
RUN mkdir -p /out/tmp && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /out/sockplay /sockplay
COPY --from=build /out/tmp /tmp
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/sockplay", "-addr", "0.0.0.0:8080"]
