// A module of its own, so that github.com/gobwas/ws (measured here against the gateway's
// wsframe, docs/BENCHMARKS.md) is not a dependency of the gateway.
module github.com/dinfra/stack/test/gateway/wscodec

go 1.26.0

replace github.com/dinfra/stack => ../../..

require (
	github.com/dinfra/stack v0.0.0
	github.com/gobwas/ws v1.5.0
)

require github.com/gobwas/httphead v0.1.0 // indirect
