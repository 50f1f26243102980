// Package backup holds backups of a node's chain database: a streaming tar+zstd archive
// written to a gocloud.dev/blob bucket (file:// by default, s3:// for object stores) next to
// a manifest that records the chain, the blocks it holds and a checksum of the archive.
//
// A backup is two objects under its ID: ID/archive.tar.zst, then ID/manifest.json. The
// manifest is written only after the archive upload has completed, so an interrupted backup
// never looks complete: List, Verify and Restore know only backups with a manifest.
//
// Node identity and secrets never enter an archive, whatever the layout of the data
// directory: see Excluded. Restore keeps the target's own copies of those entries.
package backup
