# The onf image the operator chart and kustomize base run (ghcr.io/dinfra/onf).
# No container engine runs on this project's build machines, so this file is not built in CI.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/onf ./cmd/onf \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/dinfra ./cmd/dinfra

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/onf /out/dinfra /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/onf"]
