// Package descriptor holds DINFRA deployment descriptors: JSON documents typed by a JSON
// Schema and addressed by IPFS content identifiers.
//
// A descriptor is a single IPFS block: its CID is CIDv1, codec raw, sha2-256, computed in
// process, and equals what `ipfs add --cid-version 1 --raw-leaves` prints for the same bytes
// as long as the document fits in one chunk (MaxSize). Descriptors live in a Store (a
// directory of blocks by default, or an IPFS node through the Kubo RPC API) and are checked
// against the schema of their type by a Registry. Schemas are descriptors too: they are
// stored, fetched and verified by CID like any other document.
package descriptor
