package controller

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/growth"
	"github.com/dinfra/stack/internal/network"
)

// Automatic storage growth (spec.groups[].storageGrowth): while a network has it, the
// operator reconciles it every GrowthInterval, reads the kubelet's volume stats of the nodes
// its pods run on, and patches the request of each data claim past its threshold, as the
// pure growth.Decide says. Networks without it cost nothing: no stats, no requeue.

// ConditionStorageGrowth reports whether every data volume of the storageGrowth groups can
// grow when it fills up.
const ConditionStorageGrowth = "StorageGrowth"

// Reasons of the StorageGrowth condition.
const (
	ReasonVolumesWatched      = "Watching"
	ReasonExpansionNotAllowed = "ExpansionNotAllowed"
	ReasonAtMaximum           = "AtMaximum"
	ReasonStatsUnavailable    = "StatsUnavailable"
)

// AnnotationGrownFrom marks a claim the operator grew past its group's storage, with the file
// system size the kubelet reported then: the claim is not grown again until the kubelet
// reports a larger one, and its size above spec.groups[].storage is not a shrink request.
const AnnotationGrownFrom = "onf.dinfra.dev/grown-from-bytes"

// DefaultGrowthInterval is how often networks with storageGrowth are looked at.
const DefaultGrowthInterval = time.Minute

// volumeReport is what one look at a network's volumes found.
type volumeReport struct {
	ran     bool // false: not looked at (the spec is invalid, or applying failed)
	active  bool // the network has storageGrowth groups
	volumes []v1alpha1.VolumeStatus
	reason  string // of the condition; ReasonVolumesWatched when all is well
	message string
}

// growVolumes grows the data claims of n's storageGrowth groups that passed their threshold.
// Claims in skip were just grown to the spec's storage and are left to that resize.
func (r *Reconciler) growVolumes(ctx context.Context, n *v1alpha1.SubstrateNetwork, skip []claimGrowth) (volumeReport, error) {
	rep := volumeReport{ran: true}
	key := client.ObjectKeyFromObject(n)
	if !hasStorageGrowth(n) {
		volumeMetric.set(key, nil)
		return rep, nil
	}
	rep.active = true
	skipped := map[string]bool{}
	for _, g := range skip {
		skipped[g.claim.Name] = true
	}
	usage, statsErrs, err := r.volumeUsage(ctx, n)
	if err != nil {
		return rep, err
	}
	var refused, atMax []string
	var samples []volumeSample
	classes := map[string]*storagev1.StorageClass{}
	refusedClass := map[string]bool{}
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		at := fmt.Sprintf("spec.groups[%d].storageGrowth", i)
		policy, ps := network.StorageGrowth(at, g)
		if policy == nil {
			continue
		}
		if len(ps) > 0 {
			return rep, &invalidError{ps}
		}
		claims, err := r.dataClaims(ctx, n, g.Name)
		if err != nil {
			return rep, err
		}
		for _, c := range claims {
			if c.Status.Phase != corev1.ClaimBound {
				continue
			}
			facts := claimFacts(c, usage[ClaimRef{c.Namespace, c.Name}])
			class := ptrOr(c.Spec.StorageClassName, "")
			if err := r.expandable(ctx, classes, class); err != nil {
				facts.NoExpansion = err.Error()
				if !refusedClass[at+"/"+class] { // the group's first claim of the class says it
					refusedClass[at+"/"+class] = true
					refused = append(refused, fmt.Sprintf("%s: data volume %s cannot grow: %s", at, c.Name, facts.NoExpansion))
				}
			}
			v := growth.Verdict{Action: growth.Wait}
			if !skipped[c.Name] {
				v = growth.Decide(*policy, facts)
			}
			switch v.Action {
			case growth.Grow:
				err := r.growClaim(ctx, n, c, facts, v.To)
				switch {
				case apierrors.IsConflict(err):
					v.Action = growth.Wait // changed since it was read: judged again at the next look
				case err != nil:
					return rep, err
				default:
					facts.Request = v.To
				}
			case growth.Blocked:
				if facts.NoExpansion == "" {
					atMax = append(atMax, fmt.Sprintf("%s: data volume %s is %d%% full and %s", at, c.Name, growth.Percent(facts.Used, facts.Total), v.Why))
				}
			}
			vs := v1alpha1.VolumeStatus{Claim: c.Name, Group: g.Name, Size: growth.Size(facts.Request),
				Resizing: v.Action == growth.Grow || facts.Resizing || facts.Request > facts.Capacity}
			if facts.Total > 0 {
				vs.UsedPercent = ptr(growth.Percent(facts.Used, facts.Total))
				samples = append(samples, volumeSample{group: g.Name, claim: c.Name, used: float64(facts.Used) / float64(facts.Total), blocked: v.Action == growth.Blocked})
			}
			rep.volumes = append(rep.volumes, vs)
		}
	}
	volumeMetric.set(key, samples)
	switch {
	case len(refused) > 0:
		rep.reason, rep.message = ReasonExpansionNotAllowed, strings.Join(refused, "; ")
	case len(atMax) > 0:
		rep.reason, rep.message = ReasonAtMaximum, strings.Join(atMax, "; ")
	case len(statsErrs) > 0:
		rep.reason, rep.message = ReasonStatsUnavailable, strings.Join(statsErrs, "; ")
	default:
		rep.reason, rep.message = ReasonVolumesWatched, fmt.Sprintf("%d data volumes grow when they fill up", len(rep.volumes))
	}
	return rep, nil
}

func hasStorageGrowth(n *v1alpha1.SubstrateNetwork) bool {
	return slices.ContainsFunc(n.Spec.Groups, func(g v1alpha1.NodeGroup) bool { return g.StorageGrowth != nil })
}

// volumeUsage reads the kubelet's volume stats from every node a pod of n runs on. A node
// that does not answer is reported, not fatal: its volumes are judged at the next look.
func (r *Reconciler) volumeUsage(ctx context.Context, n *v1alpha1.SubstrateNetwork) (map[ClaimRef]Usage, []string, error) {
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(n.Namespace), client.MatchingLabels{kube.LabelNetwork: n.Name, kube.LabelManagedBy: kube.ManagedBy}); err != nil {
		return nil, nil, fmt.Errorf("list pods: %w", err)
	}
	var nodes []string
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" && !slices.Contains(nodes, p.Spec.NodeName) {
			nodes = append(nodes, p.Spec.NodeName)
		}
	}
	slices.Sort(nodes)
	usage := map[ClaimRef]Usage{}
	var errs []string
	for _, node := range nodes {
		if r.Stats == nil {
			break
		}
		vols, err := r.Stats.Volumes(ctx, node)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for ref, u := range vols {
			if ref.Namespace == n.Namespace {
				usage[ref] = u
			}
		}
	}
	return usage, errs, nil
}

// dataClaims lists a group's data claims in name order, leaving out claims being deleted.
func (r *Reconciler) dataClaims(ctx context.Context, n *v1alpha1.SubstrateNetwork, group string) ([]*corev1.PersistentVolumeClaim, error) {
	return r.groupClaims(ctx, n, group, kube.IsDataClaim)
}

// groupClaims lists the group's claims of one template (is tells them by name) in name
// order, leaving out claims being deleted.
func (r *Reconciler) groupClaims(ctx context.Context, n *v1alpha1.SubstrateNetwork, group string, is func(network, group, claim string) bool) ([]*corev1.PersistentVolumeClaim, error) {
	var claims corev1.PersistentVolumeClaimList
	if err := r.Client.List(ctx, &claims, client.InNamespace(n.Namespace), client.MatchingLabels(kube.Selector(n.Name, group))); err != nil {
		return nil, fmt.Errorf("list volumes of group %s: %w", group, err)
	}
	// In name order, so a refusal names the same volume every time.
	slices.SortFunc(claims.Items, func(a, b corev1.PersistentVolumeClaim) int { return strings.Compare(a.Name, b.Name) })
	var out []*corev1.PersistentVolumeClaim
	for i := range claims.Items {
		c := &claims.Items[i]
		if is(n.Name, group, c.Name) && c.DeletionTimestamp == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// claimFacts is what the decision needs of a claim and its kubelet stats.
func claimFacts(c *corev1.PersistentVolumeClaim, u Usage) growth.Claim {
	req, capacity := c.Spec.Resources.Requests[corev1.ResourceStorage], c.Status.Capacity[corev1.ResourceStorage]
	f := growth.Claim{Request: req.Value(), Capacity: capacity.Value(), Used: u.Used, Total: u.Capacity}
	f.GrownFrom, _ = strconv.ParseInt(c.Annotations[AnnotationGrownFrom], 10, 64)
	for _, cond := range c.Status.Conditions {
		if cond.Status == corev1.ConditionTrue && (cond.Type == corev1.PersistentVolumeClaimResizing || cond.Type == corev1.PersistentVolumeClaimFileSystemResizePending) {
			f.Resizing = true
		}
	}
	return f
}

// growClaim patches a claim's request to `to` bytes, marking it with the file system size
// it grows from. The patch is conditional on the claim as read: a claim changed meanwhile
// is judged again at the next look rather than grown from stale facts.
func (r *Reconciler) growClaim(ctx context.Context, n *v1alpha1.SubstrateNetwork, c *corev1.PersistentVolumeClaim, f growth.Claim, to int64) error {
	before := c.DeepCopy()
	c.Spec.Resources.Requests[corev1.ResourceStorage] = *resource.NewQuantity(to, resource.BinarySI)
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[AnnotationGrownFrom] = strconv.FormatInt(f.Total, 10)
	if err := r.Client.Patch(ctx, c, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("grow data volume %s to %s: %w", c.Name, growth.Size(to), err)
	}
	msg := fmt.Sprintf("data volume %s is %d%% full: growing it from %s to %s", c.Name, growth.Percent(f.Used, f.Total), growth.Size(f.Request), growth.Size(to))
	r.log().Info("storage growth", "network", client.ObjectKeyFromObject(n), "message", msg)
	if r.Events != nil {
		r.Events.Eventf(n, nil, corev1.EventTypeNormal, "VolumeGrowing", "StorageGrowth", "%s", msg)
	}
	return nil
}

// apply records the report in the status st computed for n (live is as stored): the
// volumes and the StorageGrowth condition, and an Event when the condition turns to a
// refusal. A report that did not run keeps what the status had.
func (rep volumeReport) apply(r *Reconciler, live *v1alpha1.SubstrateNetwork, st *v1alpha1.SubstrateNetworkStatus, now metav1.Time) {
	if !rep.ran {
		st.Volumes = live.Status.Volumes
		return
	}
	st.Volumes = rep.volumes
	if !rep.active {
		meta.RemoveStatusCondition(&st.Conditions, ConditionStorageGrowth)
		return
	}
	status := metav1.ConditionTrue
	if rep.reason != ReasonVolumesWatched {
		status = metav1.ConditionFalse
	}
	msg := rep.message
	if len(msg) > 1024 {
		msg = msg[:1021] + "..."
	}
	old := meta.FindStatusCondition(live.Status.Conditions, ConditionStorageGrowth)
	if status == metav1.ConditionFalse && rep.reason != ReasonStatsUnavailable && r.Events != nil && (old == nil || old.Reason != rep.reason || old.Message != msg) {
		r.Events.Eventf(live, nil, corev1.EventTypeWarning, rep.reason, "StorageGrowth", "%s", msg)
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ConditionStorageGrowth, Status: status, Reason: rep.reason, Message: msg,
		ObservedGeneration: live.Generation, LastTransitionTime: now})
}

// lookAgain requeues after `after` (0: not at all), or sooner when the network has
// storageGrowth: its volumes are looked at every GrowthInterval.
func (r *Reconciler) lookAgain(vols volumeReport, after time.Duration) ctrl.Result {
	if vols.active {
		every := cmp.Or(r.GrowthInterval, DefaultGrowthInterval)
		if after == 0 || every < after {
			after = every
		}
	}
	return ctrl.Result{RequeueAfter: after}
}
