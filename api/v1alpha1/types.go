package v1alpha1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// SubstrateNetwork is a network of Substrate nodes: relay chain or solo chain groups, and the
// collators of parachains attached to it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=snet,categories=onf
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.readyNodes`
// +kubebuilder:printcolumn:name="Best",type=integer,JSONPath=`.status.bestBlock`
// +kubebuilder:printcolumn:name="Finalized",type=integer,JSONPath=`.status.finalizedBlock`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SubstrateNetwork struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SubstrateNetworkSpec   `json:"spec"`
	Status SubstrateNetworkStatus `json:"status,omitempty"`
}

// SubstrateNetworkList is a list of SubstrateNetworks.
//
// +kubebuilder:object:root=true
type SubstrateNetworkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SubstrateNetwork `json:"items"`
}

// SubstrateNetworkSpec is the desired network.
type SubstrateNetworkSpec struct {
	// Chain is the chain every group runs (the relay chain when parachains are present).
	Chain Chain `json:"chain"`

	// Node is the default node software of every group; a group may override it.
	// +optional
	Node NodeSoftware `json:"node,omitempty"`

	// Groups are sets of identical nodes with one role.
	// +kubebuilder:validation:MinItems=1
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	Groups []NodeGroup `json:"groups"`

	// Gateway puts the authenticated, rate-limited RPC gateway in front of one group's nodes.
	// +optional
	Gateway *Gateway `json:"gateway,omitempty"`

	// Backup schedules backups of one group's chain database (see docs/backup.md).
	// +optional
	Backup *Backup `json:"backup,omitempty"`

	// Monitoring configures the Prometheus Operator objects that scrape the network's nodes
	// and gateway (clusters only): ServiceMonitors or PodMonitors, their interval, labels
	// and relabelings. Unset: ServiceMonitors where the operator or `onf render` makes them.
	// +optional
	Monitoring *Monitoring `json:"monitoring,omitempty"`

	// Parachains whose collator groups run in this network.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=20
	Parachains []Parachain `json:"parachains,omitempty"`
}

// Chain says where a chain spec comes from. Exactly one field is set.
// +kubebuilder:validation:XValidation:rule="(has(self.builtin) ? 1 : 0) + (has(self.file) ? 1 : 0) + (has(self.url) ? 1 : 0) + (has(self.configMap) ? 1 : 0) == 1",message="set exactly one of builtin, file, url, configMap"
// +kubebuilder:validation:XValidation:rule="!has(self.sha256) || has(self.url)",message="sha256 is the checksum of url: set url",fieldPath=".sha256"
type Chain struct {
	// Builtin is a chain the node software knows by name: for gossamer `westend-dev` or
	// `westend-local` (the specs shipped with gossamer), for polkadot-sdk binaries any name they
	// accept with --chain (`dev`, `local`, `westend-local`, `rococo-local`, ...).
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9_.-]*$`
	// +kubebuilder:validation:MaxLength=128
	Builtin string `json:"builtin,omitempty"`

	// File is the path of a chain spec JSON file (local runs only).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	File string `json:"file,omitempty"`

	// URL is an http(s) address of a chain spec JSON file, fetched before the nodes start:
	// by `onf up` locally, by an init step of each node pod in clusters (which needs sha256).
	// +optional
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url,omitempty"`

	// SHA256 is the hex sha256 of the chain spec at url: a changed or tampered file is
	// refused and the node does not start. Required in clusters (every pod start downloads
	// the file again); checked when set locally.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{64}$`
	SHA256 string `json:"sha256,omitempty"`

	// ConfigMap names a ConfigMap key holding the chain spec (clusters only).
	// +optional
	ConfigMap *KeyReference `json:"configMap,omitempty"`
}

// Gateway is an RPC gateway (docs/gateway.md) in front of one group's nodes. Local runs read
// its config file; on Kubernetes the operator runs it as a Deployment behind a Service, with a
// config it builds and the API keys of a Secret.
// +kubebuilder:validation:XValidation:rule="has(self.config) || has(self.keysSecret)",message="set config (local runs) or keysSecret (clusters)"
type Gateway struct {
	// Group names the group whose nodes are the gateway's upstreams, usually an rpc group.
	// Scaling the group updates the upstreams.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	Group string `json:"group"`

	// Config is the path of a gateway config file without upstreams: listen address, auth,
	// roles and limits (local runs only).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Config string `json:"config,omitempty"`

	// KeysSecret names the Secret key holding the gateway's API key file (clusters only;
	// docs/gateway.md). The Secret is mounted as a directory, so a rotated key file is in
	// force within seconds, without a restart.
	// +optional
	KeysSecret *KeyReference `json:"keysSecret,omitempty"`

	// Replicas is the number of gateway pods (clusters only). Default: 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// Image is the onf container image that runs `onf gateway run` (clusters only). Default:
	// the operator's --gateway-image.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Image string `json:"image,omitempty"`

	// Resources are the gateway container's resource requests and limits (clusters only).
	// Default: requests of 100m CPU and 128Mi memory, limits of 1 CPU and 512Mi.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// Ingress publishes the gateway outside the cluster through a networking.k8s.io/v1
	// Ingress (clusters only): the way in for clients, who bring their API keys.
	// +optional
	Ingress *GatewayIngress `json:"ingress,omitempty"`
}

// GatewayIngress is the Ingress in front of the gateway's Service.
type GatewayIngress struct {
	// ClassName is the IngressClass (ingressClassName). Default: the cluster's default class.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ClassName string `json:"className,omitempty"`

	// Hosts are the DNS names the Ingress routes to the gateway.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=253
	Hosts []string `json:"hosts"`

	// Path routed to the gateway, an absolute path prefix. Default: /.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path,omitempty"`

	// TLSSecretName names a kubernetes.io/tls Secret (in the network's namespace) holding
	// the hosts' certificate; unset, the Ingress serves no TLS of its own.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	TLSSecretName string `json:"tlsSecretName,omitempty"`

	// Annotations are added to the Ingress (the ingress controller's settings, cert-manager).
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// KeyReference names one key of a Kubernetes ConfigMap or Secret in the network's namespace.
type KeyReference struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// Flavor is the command-line dialect of a node binary.
// +kubebuilder:validation:Enum=substrate;gossamer
type Flavor string

const (
	// FlavorSubstrate is any polkadot-sdk node: polkadot, polkadot-parachain, a solochain node.
	FlavorSubstrate Flavor = "substrate"
	// FlavorGossamer is ChainSafe's Go Polkadot Host.
	FlavorGossamer Flavor = "gossamer"
)

// NodeSoftware is the node implementation a group runs.
type NodeSoftware struct {
	// Flavor is the CLI dialect of the binary. Default: gossamer.
	// +optional
	Flavor Flavor `json:"flavor,omitempty"`

	// Binary is the executable for local runs: a path or a name on PATH.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Binary string `json:"binary,omitempty"`

	// Image is the container image for clusters.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Image string `json:"image,omitempty"`
}

// Role is what a node does in the network.
// +kubebuilder:validation:Enum=validator;collator;full;archive;rpc;bootnode
type Role string

const (
	RoleValidator Role = "validator"
	RoleCollator  Role = "collator"
	RoleFull      Role = "full"
	RoleArchive   Role = "archive"
	RoleRPC       Role = "rpc"
	RoleBootnode  Role = "bootnode"
)

// NodeGroup is a set of identical nodes.
// +kubebuilder:validation:XValidation:rule="!has(self.keys) || self.role == 'validator' || self.role == 'collator'",message="only validator and collator groups have session keys",fieldPath=".keys"
type NodeGroup struct {
	// Name is unique in the network and names the nodes: <name>-0, <name>-1, ...
	// +kubebuilder:validation:Pattern=`^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$`
	Name string `json:"name"`

	// Role of every node in the group.
	Role Role `json:"role"`

	// Replicas is the number of nodes. Default: 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	Replicas *int32 `json:"replicas,omitempty"`

	// Node overrides the network's node software for this group.
	// +optional
	Node *NodeSoftware `json:"node,omitempty"`

	// Parachain names the parachain whose chain this group runs (required for collators; full,
	// archive, rpc and boot nodes of a parachain set it too). Empty: the network's chain.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Parachain string `json:"parachain,omitempty"`

	// Keys says where validator or collator session keys come from, one per replica.
	// +optional
	Keys *Keys `json:"keys,omitempty"`

	// Pruning is `archive` or the number of recent blocks whose state is kept.
	// Default: archive for archive groups, the node's own default otherwise.
	// +optional
	// +kubebuilder:validation:Pattern=`^(archive|[0-9]+)$`
	// +kubebuilder:validation:MaxLength=10
	Pruning string `json:"pruning,omitempty"`

	// RPC configures the node's JSON-RPC server.
	// +optional
	RPC *RPC `json:"rpc,omitempty"`

	// P2P configures how other nodes reach these nodes.
	// +optional
	P2P *P2P `json:"p2p,omitempty"`

	// Args are extra arguments appended to the node command line.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=4096
	Args []string `json:"args,omitempty"`

	// Database is the chain database backend (polkadot-sdk's --database): rocksdb or
	// paritydb. Default: the node's own. Gossamer has a database of its own and takes none.
	// +optional
	Database Database `json:"database,omitempty"`

	// RuntimeOverride gives the nodes a WASM runtime that replaces the on-chain runtime of
	// the same spec version (polkadot-sdk's --wasm-runtime-overrides; clusters only): an
	// init step downloads it and checks its sha256 before the node starts.
	// +optional
	RuntimeOverride *RuntimeOverride `json:"runtimeOverride,omitempty"`

	// Telemetry sends the nodes' telemetry to these endpoints (polkadot-sdk only). Unset:
	// telemetry is off (--no-telemetry).
	// +optional
	// +kubebuilder:validation:MaxItems=5
	Telemetry []TelemetryEndpoint `json:"telemetry,omitempty"`

	// Tracing sends the nodes' traces to a Jaeger agent (polkadot-sdk only). Unset: no
	// tracing.
	// +optional
	Tracing *Tracing `json:"tracing,omitempty"`

	// Resources are the container's resource requests and limits (clusters only).
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// Storage is the size of each node's data volume (clusters only). Default: 10Gi. Raising
	// it grows the existing volumes (where the StorageClass allows expansion); volumes never
	// shrink, so lowering it is refused.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="!isQuantity(self) || !isQuantity(oldSelf) || quantity(self).compareTo(quantity(oldSelf)) >= 0",message="data volumes cannot shrink: storage must not be lowered"
	Storage string `json:"storage,omitempty"`

	// StorageClassName is the StorageClass of each node's data volume (clusters only).
	// Default: the cluster's default class. Growing `storage` later needs a class that allows
	// volume expansion; the class of existing volumes cannot change.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	StorageClassName string `json:"storageClassName,omitempty"`

	// StorageRetention says what happens to the group's data volumes when the group leaves
	// the spec or the network is deleted (clusters only): Retain (the default) keeps them,
	// so a network of the same name and group adopts them again; Delete deletes them.
	// +optional
	// +kubebuilder:validation:Enum=Retain;Delete
	StorageRetention string `json:"storageRetention,omitempty"`

	// StorageGrowth grows each node's data volume when it fills up (clusters only): the
	// operator reads the kubelet's volume stats and raises a claim's request by step once its
	// use passes threshold, up to max, where the StorageClass allows volume expansion.
	// +optional
	StorageGrowth *StorageGrowth `json:"storageGrowth,omitempty"`

	// StorageAnnotations are annotations on each node's data volume claim (clusters only),
	// e.g. for a backup tool or a storage quota. The operator sets them on existing claims
	// too, and removes from them only the annotations it set itself.
	// +optional
	StorageAnnotations map[string]string `json:"storageAnnotations,omitempty"`

	// StorageLabels are labels on each node's data volume claim (clusters only), kept on
	// existing claims like storageAnnotations.
	// +optional
	StorageLabels map[string]string `json:"storageLabels,omitempty"`

	// StorageSource fills each new data volume from a CSI VolumeSnapshot or a clone of an
	// existing claim in the network's namespace (clusters only). Existing volumes keep their
	// data: a change affects only claims made later.
	// +optional
	StorageSource *StorageSource `json:"storageSource,omitempty"`

	// Autoscaling scales an rpc group on CPU load (clusters only).
	// +optional
	Autoscaling *Autoscaling `json:"autoscaling,omitempty"`

	// Upgrade rolls a changed binary or image out step by step behind health gates, rolling
	// back when a gate fails (docs/rollout.md). Unset: every node of the group restarts at once.
	// +optional
	Upgrade *Upgrade `json:"upgrade,omitempty"`

	// HA gives each validator or collator identity (one set of session keys) keyless standby
	// nodes and an active node that signs only while it holds a lease (docs/ha.md).
	// +optional
	HA *HA `json:"ha,omitempty"`

	// Pod places and labels the group's pods (clusters only): node selection, tolerations,
	// affinity, topology spread, priority, and extra labels and annotations.
	// +optional
	Pod *PodOptions `json:"pod,omitempty"`

	// RestoreFrom bootstraps the group's new or wiped nodes from a backup or a snapshot
	// instead of syncing from genesis: an init step restores it before the node starts
	// (docs/backup.md). Volumes that already hold a database are never touched.
	// +optional
	RestoreFrom *RestoreFrom `json:"restoreFrom,omitempty"`
}

// Database is a polkadot-sdk chain database backend.
// +kubebuilder:validation:Enum=rocksdb;paritydb
type Database string

const (
	DatabaseRocksDB  Database = "rocksdb"
	DatabaseParityDB Database = "paritydb"
)

// RuntimeOverride is a WASM runtime file at a URL with its checksum.
type RuntimeOverride struct {
	// URL is an http(s) URL of a runtime .wasm file (a compact or compressed WASM blob).
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// SHA256 is the hex sha256 of the file at url.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{64}$`
	SHA256 string `json:"sha256"`
}

// BackupIDPattern is the form of a backup ID as `onf backup create` makes them:
// NETWORK-YYYYMMDDtHHMMSS.mmmz.
const BackupIDPattern = `^[a-z][a-z0-9-]{0,41}-[0-9]{8}t[0-9]{6}(\.[0-9]{3})?z$`

// RestoreFrom is a backup at spec.backup.destination, or a snapshot archive at a URL with its
// checksum. Exactly one of backup and url is set.
// +kubebuilder:validation:XValidation:rule="has(self.backup) != has(self.url)",message="set exactly one of backup, url"
type RestoreFrom struct {
	// Backup is the ID of a backup at spec.backup.destination (`onf backup list`).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Backup string `json:"backup,omitempty"`

	// URL is an http(s) URL of a snapshot: an onf backup archive (archive.tar.zst).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url,omitempty"`

	// SHA256 is the hex sha256 of the archive at URL; required with url.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{64}$`
	SHA256 string `json:"sha256,omitempty"`
}

// StorageSource is where a new data volume's content comes from: exactly one of a
// VolumeSnapshot (snapshot.storage.k8s.io) and a PersistentVolumeClaim to clone.
// +kubebuilder:validation:XValidation:rule="has(self.volumeSnapshot) != has(self.volumeClaim)",message="set exactly one of volumeSnapshot, volumeClaim"
type StorageSource struct {
	// VolumeSnapshot is the name of a VolumeSnapshot in the network's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	VolumeSnapshot string `json:"volumeSnapshot,omitempty"`

	// VolumeClaim is the name of a PersistentVolumeClaim in the network's namespace to clone
	// (the CSI driver must support cloning, within one StorageClass).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	VolumeClaim string `json:"volumeClaim,omitempty"`
}

// StorageGrowth is when and how far a group's data volumes grow on their own (docs/spec-reference.md#storage-growth).
type StorageGrowth struct {
	// Threshold is the share of a volume's capacity, in percent, in use at which it grows.
	// Default: 80.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=99
	Threshold int32 `json:"threshold,omitempty"`

	// Step is how much a volume grows each time: a Kubernetes quantity (10Gi) or a percentage
	// of its current size (25%). Default: 20%.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Step string `json:"step,omitempty"`

	// Max is the largest a volume grows to (a Kubernetes quantity, at least storage).
	// +kubebuilder:validation:MaxLength=64
	Max string `json:"max"`
}

// HA is a validator or collator group's failover: per identity one active node holding the
// keys while it holds a lease, and standbys without keys.
type HA struct {
	// Standbys is the number of keyless standby nodes per identity. Default: 1.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=8
	Standbys *int32 `json:"standbys,omitempty"`

	// LeaseTTL is the lease's time to live, a Go duration of whole seconds, at least 3s.
	// Default: 10s.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	LeaseTTL string `json:"leaseTTL,omitempty"`

	// SafetyMargin, a Go duration below half the TTL, is how long before the TTL runs out an
	// active that could not renew stops signing, and how long a standby waits after the lease
	// expired, seeing no block of the identity on chain, before it signs. Default: a third of
	// leaseTTL.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	SafetyMargin string `json:"safetyMargin,omitempty"`

	// Etcd is the lease store of local runs. Clusters use coordination.k8s.io/v1 Leases.
	// +optional
	Etcd *HAEtcd `json:"etcd,omitempty"`
}

// HAEtcd is an etcd v3 cluster holding the leases.
type HAEtcd struct {
	// Endpoints are etcd client URLs such as http://127.0.0.1:2379.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=1024
	Endpoints []string `json:"endpoints"`

	// Prefix is the key prefix of the leases. Default: /onf/ha/.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Prefix string `json:"prefix,omitempty"`
}

// UpgradeStrategy is how a group's nodes move to a new binary or image.
// +kubebuilder:validation:Enum=canary
type UpgradeStrategy string

// UpgradeCanary upgrades a few nodes first and the rest only once the first pass every gate.
const UpgradeCanary UpgradeStrategy = "canary"

// Upgrade is a group's canary rollout of a new node binary (local runs) or image (clusters).
type Upgrade struct {
	// Strategy is canary, the only one so far. Default: canary.
	// +optional
	Strategy UpgradeStrategy `json:"strategy,omitempty"`

	// Steps are how many of the group's nodes run the new version after each step: a count
	// (1) or a percentage of the replicas ("25%", rounded up); increasing, the last "100%".
	// Validator and collator groups move one node at a time whatever the steps say.
	// Default: [1, "100%"].
	// +optional
	// +kubebuilder:validation:MaxItems=20
	Steps []intstr.IntOrString `json:"steps,omitempty"`

	// Bake is how long a step's upgraded nodes must pass every gate before the next step, as
	// a Go duration. Default: 30s.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Bake string `json:"bake,omitempty"`

	// StepTimeout is how long a step's upgraded nodes have, from their restart, to pass every
	// gate for the whole bake time; past it the step fails on the gate that failed last.
	// Default: 5m.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	StepTimeout string `json:"stepTimeout,omitempty"`

	// Gates are the health checks of the upgraded nodes against the others.
	// +optional
	Gates *UpgradeGates `json:"gates,omitempty"`

	// Paused holds the rollout at its current step (`onf rollout pause`).
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// UpgradeGates are the checks an upgraded node passes; every node must also keep running (no
// exit) and answer RPC.
type UpgradeGates struct {
	// MaxBlocksBehind is how far an upgraded node's best block may trail the best block of
	// the nodes not upgraded. Default: 5.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	MaxBlocksBehind *int32 `json:"maxBlocksBehind,omitempty"`

	// FinalizedAdvancing requires an upgraded node's finalized block to advance during the
	// step, or to be at the highest finalized block of the other nodes. Default: true; always
	// true for validator and collator groups.
	// +optional
	FinalizedAdvancing *bool `json:"finalizedAdvancing,omitempty"`

	// MinPeers is the fewest peers an upgraded node may have. Default: 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	MinPeers *int32 `json:"minPeers,omitempty"`

	// Prometheus are PromQL queries (an error rate, say) whose every sample must stay at or
	// below its max for the whole bake; `{{upgraded}}` in a query stands for the upgraded
	// nodes' names as a regular expression (`node=~"{{upgraded}}"`).
	// +optional
	// +kubebuilder:validation:MaxItems=10
	Prometheus []PrometheusGate `json:"prometheus,omitempty"`

	// PrometheusURL is the Prometheus whose HTTP API answers the queries. Default: locally the
	// Prometheus of `onf monitor up`; clusters have no default.
	// +optional
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:validation:MaxLength=2048
	PrometheusURL string `json:"prometheusURL,omitempty"`
}

// PrometheusGate is a PromQL query whose result must stay at or below Max.
type PrometheusGate struct {
	// Query is a PromQL expression giving a scalar or an instant vector.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`

	// Max is the highest value any sample may have, a decimal number as a string ("0.01").
	// +kubebuilder:validation:Pattern=`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=64
	Max string `json:"max"`
}

// Backup is a schedule of backups of a group's first node (`onf backup create`).
type Backup struct {
	// Source is the group whose first node is backed up: a full, archive or rpc group, which
	// can pause for the copy.
	// +kubebuilder:validation:MaxLength=32
	Source string `json:"source"`

	// Schedule is a cron schedule of five fields, as a Kubernetes CronJob takes it
	// ("0 3 * * *": every day at 03:00).
	// +kubebuilder:validation:MaxLength=128
	Schedule string `json:"schedule"`

	// Destination is where backups go: a directory (local runs), a file:// or an s3:// URL.
	// Credentials never go in it.
	// +kubebuilder:validation:MaxLength=2048
	Destination string `json:"destination"`

	// Retention says which backups `onf backup prune` keeps (and, in clusters, which the
	// backup Job deletes after each backup).
	// +optional
	Retention *BackupRetention `json:"retention,omitempty"`

	// CredentialsSecret names a Secret in the network's namespace whose keys are mounted as
	// files in the backup and restore pods (clusters): key `credentials` is an AWS shared
	// credentials file for s3:// destinations. Never passed through env or arguments.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	CredentialsSecret string `json:"credentialsSecret,omitempty"`

	// VolumeClaim names a PersistentVolumeClaim (clusters) mounted at /backups in the backup
	// and restore pods, for a file:///backups/... destination.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	VolumeClaim string `json:"volumeClaim,omitempty"`
}

// BackupRetention keeps the newest Keep backups and, of those, the ones younger than MaxAge.
// The newest backup is always kept.
type BackupRetention struct {
	// Keep is how many of the newest backups to keep.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	Keep *int32 `json:"keep,omitempty"`

	// MaxAge is the age past which backups are deleted, as a Go duration ("720h").
	// +optional
	// +kubebuilder:validation:MaxLength=32
	MaxAge string `json:"maxAge,omitempty"`
}

// Keys are validator or collator session keys, one source per replica (index i for node i).
// Exactly one field is set.
// +kubebuilder:validation:XValidation:rule="(has(self.dev) ? 1 : 0) + (has(self.files) ? 1 : 0) + (has(self.secret) ? 1 : 0) == 1",message="set exactly one of dev, files, secret"
type Keys struct {
	// Dev are well-known development secret URIs such as //Alice, //Bob: dev chains only.
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=256
	Dev []string `json:"dev,omitempty"`

	// Files are paths of files (mode 0600) holding each replica's secret URI (local runs).
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=4096
	Files []string `json:"files,omitempty"`

	// Secret names a Kubernetes Secret whose keys "0", "1", ... hold each replica's secret URI.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Secret string `json:"secret,omitempty"`

	// Types are the session key types to insert, as type:scheme. Default: the relay chain set
	// (babe, gran, imon, para, asgn, audi, beef) for validators, aura for collators.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	Types []SessionKeyType `json:"types,omitempty"`
}

// SessionKeyType is a key type and its signature scheme, such as babe:sr25519 or gran:ed25519.
// +kubebuilder:validation:Pattern=`^[a-z]{4}:(sr25519|ed25519|ecdsa)$`
type SessionKeyType string

// RPCMethods says which RPC methods a node exposes.
// +kubebuilder:validation:Enum=safe;unsafe;auto
type RPCMethods string

const (
	RPCSafe   RPCMethods = "safe"
	RPCUnsafe RPCMethods = "unsafe"
	RPCAuto   RPCMethods = "auto"
)

// RPC configures a node's JSON-RPC server.
type RPC struct {
	// Methods exposed: safe, unsafe or auto. Default: safe for rpc groups, unsafe otherwise
	// (the runtime needs unsafe methods to insert keys and report status).
	// +optional
	Methods RPCMethods `json:"methods,omitempty"`

	// CORS lists the origins allowed to call the node from a browser; "all" allows any.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=2048
	CORS []string `json:"cors,omitempty"`

	// MaxConnections caps concurrent RPC connections (polkadot-sdk only).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	MaxConnections *int32 `json:"maxConnections,omitempty"`

	// Service shapes the load-balanced RPC Service of an rpc, full or archive group
	// (clusters only): its type, annotations and load balancer settings. A NodePort or
	// LoadBalancer Service serves safe methods only and never the gateway's group
	// (docs/security.md).
	// +optional
	Service *RPCService `json:"service,omitempty"`
}

// RPCService is a group's RPC Service.
type RPCService struct {
	// Type of the Service. Default: ClusterIP (reachable inside the cluster only).
	// +optional
	// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
	Type corev1.ServiceType `json:"type,omitempty"`

	ServiceOptions `json:",inline"`
}

// ServiceOptions are settings of a Service onf makes, for a load balancer or external-dns.
type ServiceOptions struct {
	// Annotations are added to the Service, after groups[].pod.serviceAnnotations.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// ExternalTrafficPolicy of a NodePort or LoadBalancer Service: Local keeps the client's
	// address and sends traffic only to nodes running a pod, Cluster spreads it over all.
	// +optional
	// +kubebuilder:validation:Enum=Cluster;Local
	ExternalTrafficPolicy corev1.ServiceExternalTrafficPolicy `json:"externalTrafficPolicy,omitempty"`

	// LoadBalancerSourceRanges are the CIDRs a LoadBalancer Service accepts clients from.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=64
	LoadBalancerSourceRanges []string `json:"loadBalancerSourceRanges,omitempty"`
}

// PodOptions are Kubernetes pod settings of a group, passed to its pods as they are.
type PodOptions struct {
	// NodeSelector runs the pods only on nodes with these labels (validators on dedicated
	// nodes, for one).
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations let the pods run on tainted nodes.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// Affinity is the pods' node affinity and pod (anti-)affinity.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// TopologySpreadConstraints spread the pods over zones or nodes. A constraint without a
	// labelSelector counts the group's own pods.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// PriorityClassName is the pods' PriorityClass.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// Labels are added to the pods; onf's own labels cannot be overridden.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations are added to the pods.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// ServiceAnnotations are added to the group's Services (its headless Service, RPC
	// Service and per-pod P2P Services), e.g. for external-dns or a cloud load balancer.
	// +optional
	ServiceAnnotations map[string]string `json:"serviceAnnotations,omitempty"`

	// ImagePullSecrets name Secrets (docker-registry type) in the network's namespace that
	// the kubelet pulls the group's images with: the node image and the sidecars'.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// ServiceAccountName runs the pods as this existing ServiceAccount. Its token is not
	// mounted (the node needs none): a sidecar that needs one mounts a projected
	// serviceAccountToken volume of volumes. Not with ha, whose pods run as the group's
	// own ServiceAccount.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// SecurityContext is the pods' security context (runAsUser, runAsGroup, fsGroup,
	// runAsNonRoot, seccompProfile, ...). Fields left unset keep onf's: fsGroup 1000.
	// +optional
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`

	// ContainerSecurityContext is laid over the security context of the containers that
	// run the node image (the node and its init steps). It can only tighten it: they drop
	// every capability and never escalate privileges, so privileged, capabilities.add and
	// allowPrivilegeEscalation: true are refused.
	// +optional
	ContainerSecurityContext *corev1.SecurityContext `json:"containerSecurityContext,omitempty"`

	// TerminationGracePeriodSeconds is how long a stopping node may take to flush its
	// database before it is killed. Default: 60.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=86400
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`

	// Env are extra environment variables of the node container (and of the node process
	// under `onf up`, where only literal values work). Names onf sets are refused, and so is
	// valueFrom.secretKeyRef: secrets never reach environment variables; mount a Secret
	// volume (volumes, volumeMounts) instead.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Env []corev1.EnvVar `json:"env,omitempty"`

	// Volumes are extra volumes of the pods, for volumeMounts and the containers here.
	// Names of onf's own volumes are refused.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	Volumes []corev1.Volume `json:"volumes,omitempty"`

	// VolumeMounts mount volumes of Volumes into the node container, away from onf's own
	// paths (data directory, node key, keystore, chain spec).
	// +optional
	// +kubebuilder:validation:MaxItems=50
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`

	// Containers are sidecars beside the node container (substrate-api-sidecar, a log
	// shipper): they reach the node on 127.0.0.1 and mount only volumes of Volumes.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	Containers []corev1.Container `json:"containers,omitempty"`

	// InitContainers run after onf's own init steps (the data directory and keystore are
	// prepared, a restore is done) and before the node starts.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	InitContainers []corev1.Container `json:"initContainers,omitempty"`
}

// MonitorKind is the Prometheus Operator object that scrapes a network.
// +kubebuilder:validation:Enum=ServiceMonitor;PodMonitor
type MonitorKind string

const (
	// MonitorService scrapes the nodes through their groups' headless Services.
	MonitorService MonitorKind = "ServiceMonitor"
	// MonitorPod scrapes the pods directly, for a Prometheus that selects PodMonitors only.
	MonitorPod MonitorKind = "PodMonitor"
)

// Monitoring is how a Prometheus Operator scrapes a network (spec.monitoring).
type Monitoring struct {
	// Kind of the scrape objects: ServiceMonitor (the default) or PodMonitor.
	// +optional
	Kind MonitorKind `json:"kind,omitempty"`

	// Interval between scrapes, a Prometheus duration ("30s", "1m"). Default: 30s.
	// +optional
	// +kubebuilder:validation:Pattern=`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`
	// +kubebuilder:validation:MaxLength=32
	Interval string `json:"interval,omitempty"`

	// ScrapeTimeout is how long a scrape may take, at most the interval. Default:
	// Prometheus' own.
	// +optional
	// +kubebuilder:validation:Pattern=`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`
	// +kubebuilder:validation:MaxLength=32
	ScrapeTimeout string `json:"scrapeTimeout,omitempty"`

	// Labels are added to the scrape objects, for a Prometheus whose serviceMonitorSelector
	// or podMonitorSelector picks them by label (`release: prometheus`, say). onf's own
	// label keys are refused.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Relabelings rewrite the targets' labels after onf's own (network, group, node, which
	// the alert rules read and so cannot be targets here).
	// +optional
	// +kubebuilder:validation:MaxItems=50
	Relabelings []RelabelConfig `json:"relabelings,omitempty"`

	// MetricRelabelings rewrite or drop scraped series before they are stored.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	MetricRelabelings []RelabelConfig `json:"metricRelabelings,omitempty"`

	// TargetLabels are labels of the groups' headless Services copied onto the scraped
	// series (ServiceMonitor only).
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=317
	TargetLabels []string `json:"targetLabels,omitempty"`

	// PodTargetLabels are labels of the pods copied onto the scraped series.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=317
	PodTargetLabels []string `json:"podTargetLabels,omitempty"`
}

// RelabelConfig is a Prometheus relabeling rule, as the Prometheus Operator takes it.
type RelabelConfig struct {
	// SourceLabels are the labels whose values, joined by separator, the regex matches.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:Pattern=`^[a-zA-Z_][a-zA-Z0-9_]*$`
	SourceLabels []string `json:"sourceLabels,omitempty"`

	// Separator joins the source label values. Default: ";".
	// +optional
	// +kubebuilder:validation:MaxLength=16
	Separator *string `json:"separator,omitempty"`

	// TargetLabel is the label a replace, hashmod, lowercase or uppercase action writes.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	TargetLabel string `json:"targetLabel,omitempty"`

	// Regex is an RE2 regular expression, anchored at both ends. Default: (.*).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Regex string `json:"regex,omitempty"`

	// Modulus of the hash of the source label values (action hashmod).
	// +optional
	// +kubebuilder:validation:Minimum=1
	Modulus *int64 `json:"modulus,omitempty"`

	// Replacement is what a replace action writes, with $1... for the regex's groups.
	// Default: $1.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Replacement *string `json:"replacement,omitempty"`

	// Action is the rule's effect. Default: replace.
	// +optional
	// +kubebuilder:validation:Enum=replace;keep;drop;hashmod;labelmap;labeldrop;labelkeep;lowercase;uppercase;keepequal;dropequal
	Action string `json:"action,omitempty"`
}

// TelemetryEndpoint is a telemetry server a node reports to (--telemetry-url 'URL VERBOSITY').
type TelemetryEndpoint struct {
	// URL is a ws:// or wss:// endpoint, e.g. wss://telemetry.polkadot.io/submit/.
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// Verbosity of what is sent, 0 (the default) to 9.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=9
	Verbosity int32 `json:"verbosity,omitempty"`
}

// Tracing is where a node sends its traces.
type Tracing struct {
	// JaegerAgent is the HOST:PORT of a Jaeger agent that takes the node's spans over UDP
	// (polkadot-sdk's --jaeger-agent), e.g. jaeger-agent.observability:6831 or 127.0.0.1:6831.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=261
	JaegerAgent string `json:"jaegerAgent"`
}

// Exposure is how nodes of a group are reachable from outside a cluster.
// +kubebuilder:validation:Enum=None;NodePort;LoadBalancer
type Exposure string

const (
	ExposeNone         Exposure = "None"
	ExposeNodePort     Exposure = "NodePort"
	ExposeLoadBalancer Exposure = "LoadBalancer"
)

// P2P configures peer-to-peer reachability.
type P2P struct {
	// Expose publishes each node's P2P port outside the cluster. Default: None.
	// +optional
	Expose Exposure `json:"expose,omitempty"`

	// PublicHost is the address (IP or DNS name) other networks reach exposed nodes at; it
	// becomes --public-addr.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	PublicHost string `json:"publicHost,omitempty"`

	// Bootnodes are boot nodes from outside this network, as multiaddrs ending in
	// /p2p/PEER_ID: nodes of the same chain in another cluster, data centre or onf network.
	// They come after the boot nodes onf wires itself.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=512
	Bootnodes []string `json:"bootnodes,omitempty"`

	// Service shapes the per-pod P2P Services of an exposed group (clusters only).
	// +optional
	Service *ServiceOptions `json:"service,omitempty"`

	// NodeKeySecret names a Secret of your own holding the nodes' P2P keys, keys "0", "1",
	// ... one per replica (the layout of the NET-GROUP-node-keys Secret onf makes), for peer
	// IDs that you choose and keep (clusters; `onf render` reads them from --node-keys). A
	// replica without a key is an error, never a generated key.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	NodeKeySecret string `json:"nodeKeySecret,omitempty"`
}

// Autoscaling scales a group between MinReplicas and MaxReplicas.
// +kubebuilder:validation:XValidation:rule="self.minReplicas <= self.maxReplicas",message="minReplicas must not exceed maxReplicas"
type Autoscaling struct {
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MinReplicas int32 `json:"minReplicas"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxReplicas int32 `json:"maxReplicas"`
	// TargetCPUUtilization in percent. Default: 70.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	TargetCPUUtilization *int32 `json:"targetCPUUtilization,omitempty"`

	// TargetMemoryUtilization in percent of the memory requests; unset: memory is not a
	// metric.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	TargetMemoryUtilization *int32 `json:"targetMemoryUtilization,omitempty"`

	// Metrics are further metrics the autoscaler scales on, as HorizontalPodAutoscaler
	// autoscaling/v2 metric specs: Pods, Object or External metrics served by a metrics
	// adapter (requests per second from the gateway's or the nodes' metrics, for one).
	// +optional
	// +kubebuilder:validation:MaxItems=10
	Metrics []autoscalingv2.MetricSpec `json:"metrics,omitempty"`

	// ScaleDownStabilizationSeconds is how long the autoscaler looks back before removing
	// nodes (its default: 300), so a dip in load does not drop nodes that are then missed.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	ScaleDownStabilizationSeconds *int32 `json:"scaleDownStabilizationSeconds,omitempty"`
}

// Parachain is a parachain whose collators run in this network.
type Parachain struct {
	// Name is unique among parachains and referenced by collator groups.
	// +kubebuilder:validation:Pattern=`^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$`
	Name string `json:"name"`

	// ID is the para id registered on the relay chain.
	// +kubebuilder:validation:Minimum=1
	ID int32 `json:"id"`

	// Chain is the parachain's own chain spec.
	Chain Chain `json:"chain"`

	// Node is the collator software (a polkadot-sdk parachain node).
	// +optional
	Node *NodeSoftware `json:"node,omitempty"`

	// Relay says how collators follow the relay chain.
	// +optional
	Relay RelayChain `json:"relay,omitempty"`
}

// RelayChain is how a collator follows its relay chain: an embedded relay chain node (the
// network's own chain and boot nodes, the default) or external relay chain RPC endpoints.
type RelayChain struct {
	// RPCURLs are WebSocket endpoints of relay chain nodes (--relay-chain-rpc-urls); when empty
	// collators run an embedded relay chain node that joins this network's relay chain.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:MaxLength=2048
	RPCURLs []string `json:"rpcUrls,omitempty"`

	// Args are extra arguments for the embedded relay chain node (after --).
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=4096
	Args []string `json:"args,omitempty"`

	// Pruning of the embedded relay chain node: `archive` or the number of recent blocks
	// whose state it keeps. Default: the node's own.
	// +optional
	// +kubebuilder:validation:Pattern=`^(archive|[0-9]+)$`
	// +kubebuilder:validation:MaxLength=10
	Pruning string `json:"pruning,omitempty"`

	// Database is the embedded relay chain node's database backend (rocksdb or paritydb).
	// Default: the node's own.
	// +optional
	Database Database `json:"database,omitempty"`

	// Metrics serves the embedded relay chain node's Prometheus metrics on a port of its own
	// (clusters only: port 9625, named relay-metrics, scraped beside the node's). Default:
	// off (--no-prometheus).
	// +optional
	Metrics bool `json:"metrics,omitempty"`

	// Storage puts the embedded relay chain node's data on a volume of its own of this size
	// (clusters only; the relay-data claim of each collator, mounted at /relay-data). Unset:
	// the relay chain's data shares the collator's data volume. Raising it grows the existing
	// volumes (where the StorageClass allows expansion); volumes never shrink, so lowering it
	// is refused.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="!isQuantity(self) || !isQuantity(oldSelf) || quantity(self).compareTo(quantity(oldSelf)) >= 0",message="relay data volumes cannot shrink: relay.storage must not be lowered"
	Storage string `json:"storage,omitempty"`

	// StorageClassName is the StorageClass of the relay-data volumes (with storage; clusters
	// only). Default: the collator group's storageClassName, else the cluster's default class.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	StorageClassName string `json:"storageClassName,omitempty"`
}

// SubstrateNetworkStatus is the observed network.
type SubstrateNetworkStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Progressing, Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ReadyNodes is "ready/desired" over all groups.
	// +optional
	ReadyNodes string `json:"readyNodes,omitempty"`

	// BestBlock is the highest best block any node reports.
	// +optional
	BestBlock int64 `json:"bestBlock,omitempty"`

	// FinalizedBlock is the highest finalized block any node reports.
	// +optional
	FinalizedBlock int64 `json:"finalizedBlock,omitempty"`

	// Groups are per-group replica counts.
	// +optional
	Groups []GroupStatus `json:"groups,omitempty"`

	// Nodes are per-node chain facts gathered over RPC.
	// +optional
	Nodes []NodeStatus `json:"nodes,omitempty"`

	// Gateway is the RPC gateway's address and pods, when spec.gateway is set.
	// +optional
	Gateway *GatewayStatus `json:"gateway,omitempty"`

	// Rollouts are the groups' canary rollouts: running, or the last one's outcome.
	// +optional
	// +listType=map
	// +listMapKey=group
	Rollouts []RolloutStatus `json:"rollouts,omitempty"`

	// Volumes are the data volumes of the groups with storageGrowth: their size (grown
	// beyond spec.groups[].storage by the operator) and how full the kubelet reports them.
	// +optional
	// +listType=map
	// +listMapKey=claim
	Volumes []VolumeStatus `json:"volumes,omitempty"`
}

// VolumeStatus is one data volume of a group with storageGrowth.
type VolumeStatus struct {
	// Claim is the PersistentVolumeClaim (data-NETWORK-GROUP-i).
	Claim string `json:"claim"`
	Group string `json:"group"`
	// Size is the claim's storage request: the group's storage, or more once grown.
	Size string `json:"size"`
	// UsedPercent is the share of the volume's file system in use, from the kubelet's volume
	// stats; unset while the kubelet reports none.
	// +optional
	UsedPercent *int32 `json:"usedPercent,omitempty"`
	// Resizing: the volume or its file system is still growing to Size.
	// +optional
	Resizing bool `json:"resizing,omitempty"`
}

// RolloutPhase is where a group's canary rollout is.
type RolloutPhase string

const (
	RolloutProgressing RolloutPhase = "Progressing"
	RolloutPaused      RolloutPhase = "Paused"
	RolloutSucceeded   RolloutPhase = "Succeeded"
	// RolloutRolledBack: a gate failed and the upgraded nodes run the previous version again.
	RolloutRolledBack RolloutPhase = "RolledBack"
	// RolloutAborted: `onf rollout abort` sent the upgraded nodes back to the previous version.
	RolloutAborted RolloutPhase = "Aborted"
)

// RolloutStatus is one group's canary rollout from one binary or image to another.
type RolloutStatus struct {
	Group string       `json:"group"`
	Phase RolloutPhase `json:"phase"`
	// From and To are the previous and the new binary (local runs) or image (clusters).
	From string `json:"from"`
	To   string `json:"to"`
	// Steps are the node counts running To after each step; Step is the current one, from 1.
	Steps []int32 `json:"steps"`
	Step  int32   `json:"step"`
	// Upgraded is how many nodes run To now.
	Upgraded int32 `json:"upgraded"`
	// Started is when the rollout began, StepStarted when its current step's nodes restarted,
	// Finished when it succeeded or its rollback completed.
	Started     metav1.Time  `json:"started"`
	StepStarted metav1.Time  `json:"stepStarted"`
	Finished    *metav1.Time `json:"finished,omitempty"`
	// Failure is the gate that failed, when the rollout was rolled back.
	// +optional
	Failure *RolloutFailure `json:"failure,omitempty"`
}

// RolloutFailure is the gate that failed a rollout, on which node, and what it measured.
type RolloutFailure struct {
	Gate  string      `json:"gate"`
	Node  string      `json:"node"`
	Value string      `json:"value"`
	Want  string      `json:"want"`
	At    metav1.Time `json:"at"`
}

// GatewayStatus is where clients in the cluster reach the RPC gateway.
type GatewayStatus struct {
	// URL is the gateway Service's in-cluster address; HTTP and WebSocket share it.
	URL     string `json:"url"`
	Desired int32  `json:"desired"`
	Ready   int32  `json:"ready"`
}

// GroupStatus counts a group's replicas.
type GroupStatus struct {
	Name    string `json:"name"`
	Desired int32  `json:"desired"`
	Ready   int32  `json:"ready"`
}

// NodeStatus is what one node reports about itself.
type NodeStatus struct {
	Name      string `json:"name"`
	Group     string `json:"group"`
	Role      Role   `json:"role"`
	Ready     bool   `json:"ready"`
	Version   string `json:"version,omitempty"`
	PeerID    string `json:"peerId,omitempty"`
	Peers     int32  `json:"peers"`
	Best      int64  `json:"best"`
	Finalized int64  `json:"finalized"`
	Syncing   bool   `json:"syncing"`

	// SessionKeys are the public session keys `onf keys` last saw registered on chain for a
	// validator and held by this node, with the session it read them in. Never a secret.
	// +optional
	SessionKeys *RegisteredKeys `json:"sessionKeys,omitempty"`
}

// RegisteredKeys are a node's public session keys as the chain has them (session.nextKeys).
type RegisteredKeys struct {
	// Validator is the stash account the keys are registered for (SS58).
	Validator string `json:"validator"`
	// Keys are the SCALE-encoded public keys, 0x-hex.
	Keys string `json:"keys"`
	// Session is the session index in which they were read: they are used from the session
	// after the next on (or already are, when registered earlier).
	Session int64 `json:"session"`
}
