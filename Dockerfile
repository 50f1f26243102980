# The onf image the operator chart and kustomize base run (ghcr.io/dinfra/onf): the static
# onf and dinfra binaries and nothing else. scripts/images.sh builds them (CGO_ENABLED=0) into
# the build context, so no base image has to be pulled: `scripts/images.sh build onf`.
FROM scratch
COPY onf dinfra /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/onf"]
