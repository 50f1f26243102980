package policy

import "strings"

// Class is how the gateway treats a method it knows.
type Class uint8

const (
	// Unknown: a method the gateway has not classified (a runtime's own RPCs). It is
	// treated like Unsafe: only an exact name in a role's allow list reaches it.
	Unknown Class = iota
	// Safe methods are granted by any matching allow pattern, "*" included.
	Safe
	// Unsafe methods reveal or change the node's private state (keys, peers, log filters,
	// offchain storage, the pool); the node software itself refuses them unless unsafe RPC
	// is enabled. Only an exact name in a role's allow list grants one.
	Unsafe
	// Heavy methods are safe for the node's state but cost it far more than the call does
	// (whole-trie or prefix scans, range queries, chain spec dumps): a few calls a second
	// keep a node busy, and their answers run to megabytes. Granted like Unsafe.
	Heavy
)

// classes is every method the gateway knows, grouped by where its class comes from. Keep each
// group sorted. TestGossamerMethodsAreClassified fails when a gossamer's rpc_methods lists a
// method missing here.
var classes = []struct {
	class   Class
	methods []string
}{
	// polkadot-sdk methods whose implementation calls check_if_safe (DenyUnsafe):
	// substrate/client/rpc/src/{author,state,system,offchain,dev,statement}, frame system's
	// dryRun, sc-consensus-babe's epochAuthorship; and system_reservedPeers and
	// system_unstable_networkState, which reveal the node's network topology like
	// system_peers and system_networkState do.
	{Unsafe, []string{
		"author_hasKey", "author_hasSessionKeys", "author_insertKey", "author_removeExtrinsic",
		"author_rotateKeys", "babe_epochAuthorship", "dev_getBlockStats",
		"offchain_localStorageClear", "offchain_localStorageGet", "offchain_localStorageSet",
		"state_getPairs", "state_traceBlock",
		"statement_dump",
		"system_addLogFilter", "system_addReservedPeer", "system_dryRun", "system_dryRunAt",
		"system_networkState", "system_peers", "system_removeReservedPeer", "system_reservedPeers",
		"system_resetLogFilter", "system_unstable_networkState",
	}},
	// Heavy. state_queryStorage is DenyUnsafe in polkadot-sdk and state_trie, state_getKeysPaged
	// and state_queryStorage are in gossamer's UnsafeMethods (dot/rpc/modules/rpc.go); gossamer's
	// state_getKeysPaged reads every key under the prefix whatever the count. The others are the
	// gateway's choice: state_getKeys and childstate_getKeys list every key under a prefix,
	// state_getStorageSize sums a whole prefix in polkadot-sdk (DenyUnsafe there for a prefix), the archive
	// methods serve range and history queries, syncstate/sync_state_genSyncSpec return the
	// chain spec with its state (4.5 MB per call on westend-dev), mmr_generateProof walks the
	// offchain MMR.
	{Heavy, []string{
		"archive_v1_body", "archive_v1_call", "archive_v1_finalizedHeight", "archive_v1_genesisHash",
		"archive_v1_hashByHeight", "archive_v1_header", "archive_v1_storage", "archive_v1_storageDiff",
		"childstate_getKeys", "mmr_generateProof",
		"state_getKeys", "state_getKeysPaged", "state_getKeysPagedAt", "state_getStorageSize",
		"state_getStorageSizeAt", "state_queryStorage", "state_trie",
		"sync_state_genSyncSpec", "syncstate_genSyncSpec",
	}},
	// Safe: the rest of polkadot-sdk's node RPCs (sc-rpc, sc-rpc-spec-v2, frame system and
	// payment, grandpa, beefy, mmr) and of gossamer's rpc_methods, aliases included.
	// author_submitExtrinsic is in gossamer's UnsafeMethods but safe in polkadot-sdk: submitting
	// transactions is what a public endpoint is for, and the pool validates them.
	{Safe, []string{
		"account_nextIndex",
		"author_pendingExtrinsics", "author_submitAndWatchExtrinsic", "author_submitExtrinsic",
		"author_unwatchExtrinsic",
		"beefy_getFinalizedHead", "beefy_subscribeJustifications", "beefy_unsubscribeJustifications",
		"chainHead_v1_body", "chainHead_v1_call", "chainHead_v1_continue", "chainHead_v1_follow",
		"chainHead_v1_header", "chainHead_v1_stopOperation", "chainHead_v1_storage",
		"chainHead_v1_unfollow", "chainHead_v1_unpin",
		"chainSpec_v1_chainName", "chainSpec_v1_genesisHash", "chainSpec_v1_properties",
		"chain_getBlock", "chain_getBlockHash", "chain_getFinalisedHead", "chain_getFinalizedHead",
		"chain_getFinalizedHeadByRound", "chain_getHead", "chain_getHeader", "chain_getRuntimeVersion",
		"chain_subscribeAllHeads", "chain_subscribeFinalisedHeads", "chain_subscribeFinalizedHeads",
		"chain_subscribeNewHead", "chain_subscribeNewHeads", "chain_subscribeRuntimeVersion",
		"chain_unsubscribeAllHeads", "chain_unsubscribeFinalisedHeads", "chain_unsubscribeFinalizedHeads",
		"chain_unsubscribeNewHead", "chain_unsubscribeNewHeads", "chain_unsubscribeRuntimeVersion",
		"childstate_getKeysPaged", "childstate_getKeysPagedAt", "childstate_getStorage",
		"childstate_getStorageEntries", "childstate_getStorageHash", "childstate_getStorageSize",
		"grandpa_proveFinality", "grandpa_roundState", "grandpa_subscribeJustifications",
		"grandpa_unsubscribeJustifications",
		"mmr_root", "mmr_verifyProof", "mmr_verifyProofStateless",
		"payment_queryFeeDetails", "payment_queryInfo",
		"rpc_methods",
		"state_call", "state_callAt", "state_getChildReadProof", "state_getMetadata",
		"state_getReadProof", "state_getRuntimeVersion", "state_getStorage", "state_getStorageAt",
		"state_getStorageHash", "state_getStorageHashAt", "state_queryStorageAt",
		"state_subscribeRuntimeVersion", "state_subscribeStorage", "state_unsubscribeRuntimeVersion",
		"state_unsubscribeStorage",
		"subscribe_newHead",
		"system_accountNextIndex", "system_chain", "system_chainType", "system_health",
		"system_localListenAddresses", "system_localPeerId", "system_name", "system_nodeRoles",
		"system_properties", "system_syncState", "system_version",
		"transactionWatch_v1_submitAndWatch", "transactionWatch_v1_unwatch",
		"transaction_v1_broadcast", "transaction_v1_stop",
		"unsubscribe_newHead",
	}},
}

// subscriptions pairs the methods that start a subscription with those that end it; aliases
// share a pair, as in polkadot-sdk (jsonrpsee keeps one subscriber table per pair).
var subscriptions = []struct{ start, end []string }{
	{[]string{"author_submitAndWatchExtrinsic"}, []string{"author_unwatchExtrinsic"}},
	{[]string{"beefy_subscribeJustifications"}, []string{"beefy_unsubscribeJustifications"}},
	{[]string{"chainHead_v1_follow"}, []string{"chainHead_v1_unfollow"}},
	{[]string{"chain_subscribeAllHeads"}, []string{"chain_unsubscribeAllHeads"}},
	{[]string{"chain_subscribeFinalizedHeads", "chain_subscribeFinalisedHeads"},
		[]string{"chain_unsubscribeFinalizedHeads", "chain_unsubscribeFinalisedHeads"}},
	{[]string{"chain_subscribeNewHeads", "chain_subscribeNewHead", "subscribe_newHead"},
		[]string{"chain_unsubscribeNewHeads", "chain_unsubscribeNewHead", "unsubscribe_newHead"}},
	{[]string{"grandpa_subscribeJustifications"}, []string{"grandpa_unsubscribeJustifications"}},
	{[]string{"state_subscribeRuntimeVersion", "chain_subscribeRuntimeVersion"},
		[]string{"state_unsubscribeRuntimeVersion", "chain_unsubscribeRuntimeVersion"}},
	{[]string{"state_subscribeStorage"}, []string{"state_unsubscribeStorage"}},
	{[]string{"transactionWatch_v1_submitAndWatch"}, []string{"transactionWatch_v1_unwatch"}},
}

// known is classes and subscriptions indexed by name.
var known = index()

type entry struct {
	name   string // the one copy of the name: parsed names are interned to it
	class  Class
	family string // subscriptions: the pair's first start method
	starts bool
}

func index() map[string]entry {
	m := map[string]entry{}
	for _, g := range classes {
		for _, name := range g.methods {
			m[name] = entry{name: name, class: g.class}
		}
	}
	for _, p := range subscriptions {
		for _, name := range p.start {
			e := m[name]
			e.family, e.starts = p.start[0], true
			m[name] = e
		}
		for _, name := range p.end {
			e := m[name]
			e.family = p.start[0]
			m[name] = e
		}
	}
	return m
}

// Classify returns a method's class (Unknown if the gateway does not know it).
func Classify(method string) Class { return known[method].class }

// Intern returns the gateway's copy of a known method name given as bytes (no allocation),
// or "" if the name is not known.
func Intern(name []byte) string { return known[string(name)].name }

// maxNameLen bounds a method name; the longest known one has 38 bytes.
const maxNameLen = 128

// ValidName reports whether s has the shape of a JSON-RPC method name of a Substrate node:
// ASCII letters and digits, a lower-case first letter, and at least one '_' (namespace_name),
// such as chain_getBlock, chainHead_v1_follow or subscribe_newHead. Anything else (other
// letter cases of the first letter, non-ASCII look-alikes, spaces, NULs, control bytes) is
// not a method the gateway passes on.
func ValidName(s string) bool {
	if len(s) > maxNameLen || strings.IndexByte(s, '_') < 1 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '_' {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Subscription tells whether a method starts or ends a subscription, and names its family: an
// end method ends only subscriptions of its own family. Methods the gateway does not know
// follow Substrate's naming (ns_subscribeX is ended by ns_unsubscribeX).
func Subscription(method string) (family string, starts, ends bool) {
	if e, ok := known[method]; ok {
		return e.family, e.starts, e.family != "" && !e.starts
	}
	ns, name, ok := strings.Cut(method, "_")
	switch {
	case !ok:
		return "", false, false
	case strings.HasPrefix(name, "subscribe"):
		return method, true, false
	case strings.HasPrefix(name, "unsubscribe"):
		return ns + "_subscribe" + strings.TrimPrefix(name, "unsubscribe"), false, true
	}
	return "", false, false
}
