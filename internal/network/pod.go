package network

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// Label and annotation keys of onf's own: the operator selects, counts and restores pods by
// them, so a group's pod options may not set them.
const ownPrefix = "onf.dinfra.dev/"

var ownLabels = []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/managed-by"}

// validatePod checks a group's pod options with the API machinery's own rules (label keys
// and values, annotation keys, selectors), so a bad value is refused at its field path here
// instead of by the API server when the operator writes the StatefulSet.
func validatePod(ps *problem.List, at path, g *v1alpha1.NodeGroup) {
	if g.StorageClassName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(g.StorageClassName) {
			ps.Add(at.key("storageClassName").String(), "%s", msg)
		}
	}
	validateStorageClaims(ps, at, g)
	o := g.Pod
	if o == nil {
		return
	}
	pod := field.NewPath(at.key("pod").String())
	errs := metav1validation.ValidateLabels(o.NodeSelector, pod.Child("nodeSelector"))
	errs = append(errs, metav1validation.ValidateLabels(o.Labels, pod.Child("labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(o.Annotations, pod.Child("annotations"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(o.ServiceAnnotations, pod.Child("serviceAnnotations"))...)
	for k := range o.Labels {
		if strings.HasPrefix(k, ownPrefix) || slices.Contains(ownLabels, k) {
			errs = append(errs, field.Forbidden(pod.Child("labels").Key(k), "onf sets this label itself"))
		}
	}
	for _, m := range []struct {
		name string
		kv   map[string]string
	}{{"annotations", o.Annotations}, {"serviceAnnotations", o.ServiceAnnotations}} {
		for k := range m.kv {
			if strings.HasPrefix(k, ownPrefix) {
				errs = append(errs, field.Forbidden(pod.Child(m.name).Key(k), "onf sets annotations under "+ownPrefix+" itself"))
			}
		}
	}
	if o.PriorityClassName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(o.PriorityClassName) {
			errs = append(errs, field.Invalid(pod.Child("priorityClassName"), o.PriorityClassName, msg))
		}
	}
	for i, t := range o.Tolerations {
		errs = append(errs, validateToleration(t, pod.Child("tolerations").Index(i))...)
	}
	for i, c := range o.TopologySpreadConstraints {
		errs = append(errs, validateSpread(c, pod.Child("topologySpreadConstraints").Index(i))...)
	}
	errs = append(errs, validateAffinity(o.Affinity, pod.Child("affinity"))...)
	errs = append(errs, validatePodExtras(o, pod, g)...)
	for _, e := range errs {
		ps.Add(e.Field, "%s", e.ErrorBody())
	}
}

// validateStorageClaims checks what a group's data claims carry and start from:
// storageAnnotations, storageLabels and storageSource.
func validateStorageClaims(ps *problem.List, at path, g *v1alpha1.NodeGroup) {
	annotations := field.NewPath(at.key("storageAnnotations").String())
	labels := field.NewPath(at.key("storageLabels").String())
	errs := apivalidation.ValidateAnnotations(g.StorageAnnotations, annotations)
	errs = append(errs, metav1validation.ValidateLabels(g.StorageLabels, labels)...)
	for k := range g.StorageAnnotations {
		if strings.HasPrefix(k, ownPrefix) {
			errs = append(errs, field.Forbidden(annotations.Key(k), "onf sets annotations under "+ownPrefix+" itself"))
		}
	}
	for k := range g.StorageLabels {
		if strings.HasPrefix(k, ownPrefix) || slices.Contains(ownLabels, k) {
			errs = append(errs, field.Forbidden(labels.Key(k), "onf sets this label itself"))
		}
	}
	for _, e := range errs {
		ps.Add(e.Field, "%s", e.ErrorBody())
	}
	src := g.StorageSource
	if src == nil {
		return
	}
	switch {
	case (src.VolumeSnapshot == "") == (src.VolumeClaim == ""):
		ps.Add(at.key("storageSource").String(), "set exactly one of volumeSnapshot, volumeClaim")
	case g.RestoreFrom != nil:
		// Both would fill the same new volume: the restore step would find the snapshot's
		// database and leave it, so restoreFrom would silently do nothing.
		ps.Add(at.key("storageSource").String(), "a new volume starts either from storageSource or from restoreFrom, not both: remove one")
	}
	for _, n := range []struct{ key, name string }{{"volumeSnapshot", src.VolumeSnapshot}, {"volumeClaim", src.VolumeClaim}} {
		if n.name == "" {
			continue
		}
		for _, msg := range validation.IsDNS1123Subdomain(n.name) {
			ps.Add(at.key("storageSource."+n.key).String(), "%s", msg)
		}
	}
}

func validateToleration(t corev1.Toleration, at *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Key != "" {
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, at.Child("key"))...)
	}
	switch t.Operator {
	case "", corev1.TolerationOpEqual:
		if t.Key == "" {
			errs = append(errs, field.Invalid(at.Child("operator"), t.Operator, "an empty key needs operator Exists"))
		}
	case corev1.TolerationOpExists:
		if t.Value != "" {
			errs = append(errs, field.Invalid(at.Child("value"), t.Value, "must be empty with operator Exists"))
		}
	default:
		errs = append(errs, field.NotSupported(at.Child("operator"), t.Operator, []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}))
	}
	effects := []corev1.TaintEffect{"", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}
	if !slices.Contains(effects, t.Effect) {
		errs = append(errs, field.NotSupported(at.Child("effect"), t.Effect, effects[1:]))
	}
	if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
		errs = append(errs, field.Invalid(at.Child("tolerationSeconds"), *t.TolerationSeconds, "only with effect NoExecute"))
	}
	return errs
}

func validateSpread(c corev1.TopologySpreadConstraint, at *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.MaxSkew < 1 {
		errs = append(errs, field.Invalid(at.Child("maxSkew"), c.MaxSkew, "must be at least 1"))
	}
	if c.TopologyKey == "" {
		errs = append(errs, field.Required(at.Child("topologyKey"), "the node label that names a topology domain, e.g. topology.kubernetes.io/zone"))
	} else {
		errs = append(errs, metav1validation.ValidateLabelName(c.TopologyKey, at.Child("topologyKey"))...)
	}
	kinds := []corev1.UnsatisfiableConstraintAction{corev1.DoNotSchedule, corev1.ScheduleAnyway}
	if !slices.Contains(kinds, c.WhenUnsatisfiable) {
		errs = append(errs, field.NotSupported(at.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, kinds))
	}
	if c.LabelSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(c.LabelSelector, metav1validation.LabelSelectorValidationOptions{}, at.Child("labelSelector"))...)
	}
	return errs
}

// validateAffinity checks the parts the API server would refuse for reasons a reader can fix
// here: node selector operators and pod affinity terms' topology keys and selectors.
func validateAffinity(a *corev1.Affinity, at *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			terms := at.Child("nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
			for i, t := range r.NodeSelectorTerms {
				errs = append(errs, validateNodeTerm(t, terms.Index(i))...)
			}
		}
		for i, p := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			errs = append(errs, validateNodeTerm(p.Preference, at.Child("nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution").Index(i).Child("preference"))...)
		}
	}
	podTerms := func(name string, required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm) {
		for i, t := range required {
			errs = append(errs, validatePodTerm(t, at.Child(name, "requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
		}
		for i, w := range preferred {
			errs = append(errs, validatePodTerm(w.PodAffinityTerm, at.Child(name, "preferredDuringSchedulingIgnoredDuringExecution").Index(i).Child("podAffinityTerm"))...)
		}
	}
	if pa := a.PodAffinity; pa != nil {
		podTerms("podAffinity", pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		podTerms("podAntiAffinity", pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	return errs
}

func validateNodeTerm(t corev1.NodeSelectorTerm, at *field.Path) field.ErrorList {
	var errs field.ErrorList
	ops := []corev1.NodeSelectorOperator{corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn, corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist, corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt}
	for i, r := range t.MatchExpressions {
		e := at.Child("matchExpressions").Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(r.Key, e.Child("key"))...)
		if !slices.Contains(ops, r.Operator) {
			errs = append(errs, field.NotSupported(e.Child("operator"), r.Operator, ops))
		}
	}
	return errs
}

func validatePodTerm(t corev1.PodAffinityTerm, at *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.TopologyKey == "" {
		errs = append(errs, field.Required(at.Child("topologyKey"), "the node label that names a topology domain, e.g. kubernetes.io/hostname"))
	} else {
		errs = append(errs, metav1validation.ValidateLabelName(t.TopologyKey, at.Child("topologyKey"))...)
	}
	if t.LabelSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(t.LabelSelector, metav1validation.LabelSelectorValidationOptions{}, at.Child("labelSelector"))...)
	}
	return errs
}
