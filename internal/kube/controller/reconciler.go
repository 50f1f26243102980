// Package controller is the thin shell of the SubstrateNetwork operator: it reads a network
// and what exists, asks the pure builders (package kube) what should exist, applies the
// difference and reports status. Node chain facts come from a background cache (package
// kube/nodestatus), so a reconcile never waits on a node.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/nodestatus"
	"github.com/dinfra/stack/internal/network"
)

// +kubebuilder:rbac:groups=onf.dinfra.dev,resources=substratenetworks,verbs=get;list;watch
// +kubebuilder:rbac:groups=onf.dinfra.dev,resources=substratenetworks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services;secrets;configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies;ingresses,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=servicemonitors;podmonitors;prometheusrules,verbs=get;list;watch;create;update;patch;delete

// Reconciler reconciles SubstrateNetworks.
type Reconciler struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads from the API server directly (node keys, before generating any).
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Options   kube.Options
	// Nodes holds the nodes' chain facts; nil leaves per-node chain facts empty.
	Nodes *nodestatus.Cache
	// Events records the canary rollouts' steps on the network; nil records none.
	Events events.EventRecorder
	Log    *slog.Logger
	// Stats reads the kubelet's volume stats for storageGrowth; nil reads none.
	Stats VolumeStats
	// GrowthInterval is how often a network with storageGrowth is reconciled (0: the default).
	GrowthInterval time.Duration

	reconciles atomic.Int64
	expect     expectations
	steps      stepRuns
}

// Reconciles is how many reconciles ran (tests compare it with the writes they caused).
func (r *Reconciler) Reconciles() int64 { return r.reconciles.Load() }

// owned lists the kinds the operator creates, for pruning what is no longer desired.
func owned() []client.ObjectList {
	lists := []client.ObjectList{
		&appsv1.StatefulSetList{}, &appsv1.DeploymentList{}, &corev1.ServiceList{}, &corev1.SecretList{}, &corev1.ConfigMapList{},
		&policyv1.PodDisruptionBudgetList{}, &networkingv1.NetworkPolicyList{}, &networkingv1.IngressList{}, &autoscalingv2.HorizontalPodAutoscalerList{},
		&batchv1.CronJobList{}, &corev1.ServiceAccountList{}, &rbacv1.RoleList{}, &rbacv1.RoleBindingList{},
	}
	for _, gvk := range kube.MonitorKinds { // a switched spec.monitoring.kind leaves the other
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(schema.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind + "List"})
		lists = append(lists, l)
	}
	return lists
}

// Reconcile converges one network.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.reconciles.Add(1)
	var n v1alpha1.SubstrateNetwork
	if err := r.Client.Get(ctx, req.NamespacedName, &n); err != nil {
		// Deleted: owner references let the garbage collector remove everything.
		if apierrors.IsNotFound(err) {
			volumeMetric.set(req.NamespacedName, nil)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if n.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	if hasRollouts(&n) && r.APIReader != nil {
		// Rollouts act on their own last status (the step): never on a cached copy that
		// does not show the last status write yet.
		if err := r.APIReader.Get(ctx, req.NamespacedName, &n); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	net := n.DeepCopy()
	network.Default(net)
	reason, problem := "", ""
	var applied map[string]string
	var waiting bool
	objs, rollouts, err := r.desired(ctx, &n, net)
	var grow []claimGrowth
	var vols volumeReport
	if err == nil {
		grow, err = r.storageChanges(ctx, net)
	}
	var invalid *invalidError
	switch {
	case errors.As(err, &invalid):
		// Nothing is applied from a spec that cannot be planned; what runs keeps running.
		reason, problem = kube.ReasonInvalidSpec, invalid.Error()
	case err != nil:
		return ctrl.Result{}, err
	default:
		applied, waiting, err = r.applyAll(ctx, net, objs)
		if err == nil {
			err = r.growClaims(ctx, grow)
		}
		if err == nil {
			err = r.labelClaims(ctx, net)
		}
		if err == nil {
			vols, err = r.growVolumes(ctx, net, grow)
		}
		if err == nil {
			err = r.announceNodePorts(ctx, net)
		}
		if err != nil {
			reason, problem = kube.ReasonApplyFailed, err.Error()
			r.log().Warn("apply network", "network", req.NamespacedName, "err", err)
		}
	}
	if err := r.updateStatus(ctx, &n, net, applied, rollouts.statuses, vols, reason, problem); err != nil {
		return ctrl.Result{}, err
	}
	if reason == kube.ReasonApplyFailed {
		return ctrl.Result{}, errors.New(problem) // retried with backoff
	}
	if rollouts.again() {
		return r.lookAgain(vols, rolloutCheckEvery), nil
	}
	if waiting {
		// Normally the cache's events come first; this catches an object deleted meanwhile.
		return r.lookAgain(vols, expectationTTL), nil
	}
	if _, ok := errors.AsType[*recheckError](err); ok {
		return r.lookAgain(vols, ownSecretRecheck), nil
	}
	return r.lookAgain(vols, 0), nil
}

// invalidError is a spec the builders reject: the user must change it, retrying won't help.
type invalidError struct{ err error }

func (e *invalidError) Error() string { return e.err.Error() }
func (e *invalidError) Unwrap() error { return e.err }

// desired is what should exist for the defaulted network n (live is as stored), with the
// upgrade groups' StatefulSets at their canary rollouts' images and partitions, and those
// rollouts.
func (r *Reconciler) desired(ctx context.Context, live, n *v1alpha1.SubstrateNetwork) ([]client.Object, rolloutPlan, error) {
	if err := network.Validate(n); err != nil {
		return nil, rolloutPlan{}, &invalidError{err}
	}
	rollouts, err := r.rollouts(ctx, live, n)
	if err != nil {
		return nil, rolloutPlan{}, err
	}
	useRolloutImages(n, rollouts.sets)
	keys, err := r.nodeKeys(ctx, n)
	if err != nil {
		return nil, rolloutPlan{}, err
	}
	objs, err := kube.Desired(n, keys, r.Options)
	if err != nil {
		return nil, rolloutPlan{}, &invalidError{err}
	}
	rolloutObjects(n, objs, rollouts.sets)
	if err := r.holdForBackup(ctx, n, objs); err != nil {
		return nil, rolloutPlan{}, err
	}
	return objs, rollouts, nil
}

// applyAll applies every desired object, then deletes the network's objects that are no
// longer desired (a removed group, an exposure turned off, autoscaling dropped). It returns
// the applied hash of each object by objectID, and whether an apply waits for the cache.
func (r *Reconciler) applyAll(ctx context.Context, n *v1alpha1.SubstrateNetwork, objs []client.Object) (map[string]string, bool, error) {
	applied := map[string]string{}
	var errs []error
	waitingAny := false
	for _, o := range objs {
		hash, waiting, err := r.apply(ctx, o)
		if err != nil {
			errs = append(errs, err)
		}
		applied[objectID(o)] = hash
		waitingAny = waitingAny || waiting
	}
	if len(errs) > 0 {
		return nil, false, errors.Join(errs...)
	}
	for _, list := range owned() {
		err := r.Client.List(ctx, list, client.InNamespace(n.Namespace), client.MatchingLabels{kube.LabelNetwork: n.Name, kube.LabelManagedBy: kube.ManagedBy})
		if meta.IsNoMatchError(err) { // a kind the cluster does not serve (monitors)
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("list owned objects: %w", err)
		}
		items, err := metaItems(list)
		if err != nil {
			return nil, false, err
		}
		for _, o := range items {
			if _, want := applied[objectID(o)]; want || !metav1.IsControlledBy(o, n) {
				continue
			}
			if err := r.Client.Delete(ctx, o, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return nil, false, fmt.Errorf("delete %s %s: %w", reflect.TypeOf(o).Elem().Name(), o.GetName(), err)
			}
		}
	}
	return applied, waitingAny, nil
}

func metaItems(list client.ObjectList) ([]client.Object, error) {
	v := reflect.ValueOf(list).Elem().FieldByName("Items")
	if !v.IsValid() {
		return nil, fmt.Errorf("%T has no items", list)
	}
	out := make([]client.Object, v.Len())
	for i := range v.Len() {
		out[i] = v.Index(i).Addr().Interface().(client.Object)
	}
	return out, nil
}

// objectID names an object by kind and name (namespaces are the network's).
func objectID(o client.Object) string {
	kind := o.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		kind = reflect.TypeOf(o).Elem().Name()
	}
	return kind + "/" + o.GetName()
}

// updateStatus writes the status if it changed. applied holds the hashes just applied: a
// StatefulSet whose cached copy does not carry its hash yet is an update still on its way.
func (r *Reconciler) updateStatus(ctx context.Context, live, n *v1alpha1.SubstrateNetwork, applied map[string]string, rollouts []v1alpha1.RolloutStatus, vols volumeReport, reason, problem string) error {
	obs := kube.Observed{StatefulSets: map[string]*appsv1.StatefulSet{}, Pending: map[string]bool{}}
	for _, g := range n.Spec.Groups {
		var sts appsv1.StatefulSet
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: n.Namespace, Name: kube.GroupName(n.Name, g.Name)}, &sts)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("read statefulset of group %s: %w", g.Name, err)
		default:
			obs.StatefulSets[g.Name] = &sts
			if h, ok := applied["StatefulSet/"+sts.Name]; ok && sts.Annotations[AnnotationHash] != h {
				obs.Pending[g.Name] = true
			}
		}
	}
	if n.Spec.Gateway != nil {
		obs.GatewayURL = kube.GatewayURL(n, r.Options.ClusterDomain)
		var d appsv1.Deployment
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: n.Namespace, Name: kube.GatewayName(n.Name)}, &d)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("read the gateway's deployment: %w", err)
		default:
			obs.Gateway = &d
			h, ok := applied["Deployment/"+d.Name]
			obs.GatewayPending = ok && d.Annotations[AnnotationHash] != h
		}
	}
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(n.Namespace), client.MatchingLabels{kube.LabelNetwork: n.Name, kube.LabelManagedBy: kube.ManagedBy}); err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	obs.Pods = pods.Items
	if r.Nodes != nil {
		obs.Nodes = r.Nodes.Nodes(client.ObjectKeyFromObject(n))
	}
	now := metav1.Now()
	st := kube.ComputeStatus(n, obs, reason, problem, now)
	vols.apply(r, live, &st, now)
	if reason != kube.ReasonInvalidSpec {
		st.Rollouts = rollouts
		rolloutCondition(&st, rollouts, n.Generation, now)
	} else {
		st.Rollouts = live.Status.Rollouts // nothing was judged: keep them as they were
	}
	if equalStatus(live.Status, st) {
		return nil
	}
	live.Status = st
	err := r.Client.Status().Update(ctx, live)
	if apierrors.IsConflict(err) && len(rollouts) > 0 && r.APIReader != nil {
		// The spec changed meanwhile; a rollout's step already acted on must still be
		// recorded, for what this reconcile observed.
		if err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(live), live); err == nil {
			live.Status = st
			err = r.Client.Status().Update(ctx, live)
		}
	}
	if err != nil {
		if apierrors.IsConflict(err) {
			return nil // a newer version is queued and will be reconciled
		}
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}

// equalStatus compares statuses as the API server stores them (times to the second).
func equalStatus(a, b v1alpha1.SubstrateNetworkStatus) bool {
	norm := func(s v1alpha1.SubstrateNetworkStatus) v1alpha1.SubstrateNetworkStatus {
		s = *s.DeepCopy()
		for i := range s.Conditions {
			s.Conditions[i].LastTransitionTime = metav1.NewTime(s.Conditions[i].LastTransitionTime.Rfc3339Copy().Time)
		}
		if len(s.Conditions) == 0 {
			s.Conditions = nil
		}
		return s
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func (r *Reconciler) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
