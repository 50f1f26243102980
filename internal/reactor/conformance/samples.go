package conformance

import (
	"github.com/dinfra/stack/internal/descriptor"
)

// Sample is a pair of descriptors of one type: one the schema accepts, one it rejects.
type Sample struct {
	Type    string
	Valid   []byte
	Invalid []byte
	// Other is a second valid descriptor, used to check that an id cannot be reused with
	// different content.
	Other []byte
}

// builtinSamples are used for reactors serving the built-in types.
var builtinSamples = []Sample{
	{
		Type: descriptor.TypeSubstrateNetwork,
		Valid: []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"conformance"},
"spec":{"chain":{"builtin":"westend-dev"},"node":{"flavor":"gossamer"},
"groups":[{"name":"validator","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}}]}}`),
		Other: []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"other"},
"spec":{"chain":{"builtin":"westend-local"},"node":{"flavor":"gossamer"},
"groups":[{"name":"validator","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}}]}}`),
		Invalid: []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork",
"spec":{"chain":{"builtin":"westend-dev"},"groups":[{"name":"validator","role":"miner","replicas":-1}]}}`),
	},
	{
		Type:    descriptor.TypeCloudInit,
		Valid:   []byte(`{"name":"conformance","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5}`),
		Other:   []byte(`{"name":"other","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5}`),
		Invalid: []byte(`{"name":"Conformance","image":"debian-12","cpus":0,"memoryMiB":512}`),
	},
}
