package network

import (
	"fmt"
	pathpkg "path"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/dinfra/stack/api/v1alpha1"
)

// secretEnvReason is why a Secret may not reach an environment variable: the project keeps
// secrets out of env (a process's environment is readable in /proc, inherited by children
// and often logged), and a mounted Secret file gives the program the same value.
const secretEnvReason = "secrets never reach environment variables: mount the Secret as a volume (pod.volumes, pod.volumeMounts) and give the program the file's path"

// validatePodExtras checks the pod options that add to onf's pods: pull secrets, service
// account, security contexts, env, volumes and containers. Clashes with the names and paths
// onf itself renders are refused where they are rendered (internal/kube), which knows them.
func validatePodExtras(o *v1alpha1.PodOptions, pod *field.Path, g *v1alpha1.NodeGroup) field.ErrorList {
	var errs field.ErrorList
	for i, s := range o.ImagePullSecrets {
		errs = append(errs, dnsSubdomain(s.Name, pod.Child("imagePullSecrets").Index(i).Child("name"))...)
	}
	if o.ServiceAccountName != "" {
		at := pod.Child("serviceAccountName")
		errs = append(errs, dnsSubdomain(o.ServiceAccountName, at)...)
		if g.HA != nil {
			errs = append(errs, field.Forbidden(at, "an ha group's pods run as the ServiceAccount onf makes for them (it may touch the identity's Lease only): remove it or ha"))
		}
	}
	if sc := o.SecurityContext; sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
		errs = append(errs, field.Forbidden(pod.Child("securityContext", "seccompProfile", "type"), "Unconfined would loosen the pods' confinement"))
	}
	errs = append(errs, tightenOnly(o.ContainerSecurityContext, pod.Child("containerSecurityContext"))...)
	errs = append(errs, validateEnv(o.Env, nil, pod)...)

	volumes := sets.New[string]()
	for i, v := range o.Volumes {
		at := pod.Child("volumes").Index(i).Child("name")
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			errs = append(errs, field.Invalid(at, v.Name, msg))
		}
		if volumes.Has(v.Name) {
			errs = append(errs, field.Duplicate(at, v.Name))
		}
		volumes.Insert(v.Name)
		if n := sources(v.VolumeSource); n != 1 {
			errs = append(errs, field.Invalid(pod.Child("volumes").Index(i), v.Name, fmt.Sprintf("sets %d volume sources, want exactly one (configMap, secret, emptyDir, ...)", n)))
		}
	}
	errs = append(errs, validateMounts(o.VolumeMounts, volumes, pod.Child("volumeMounts"))...)

	names := sets.New[string]()
	for _, list := range []struct {
		name       string
		containers []corev1.Container
	}{{"initContainers", o.InitContainers}, {"containers", o.Containers}} {
		for i := range list.containers {
			errs = append(errs, validateContainer(&list.containers[i], names, volumes, pod.Child(list.name).Index(i))...)
		}
	}
	return errs
}

// sources counts the volume sources set in s (the API server wants exactly one).
func sources(s corev1.VolumeSource) int {
	n := 0
	v := reflect.ValueOf(s)
	for i := range v.NumField() {
		if !v.Field(i).IsNil() {
			n++
		}
	}
	return n
}

func dnsSubdomain(name string, at *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(at, name, msg))
	}
	return errs
}

// tightenOnly refuses what would give a container more than onf's node containers have:
// every capability dropped, no privilege escalation, the runtime's confinement.
func tightenOnly(sc *corev1.SecurityContext, at *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.Privileged != nil && *sc.Privileged {
		errs = append(errs, field.Forbidden(at.Child("privileged"), "a privileged container can read every Secret on its node, the pod's keys included"))
	}
	if sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
		errs = append(errs, field.Forbidden(at.Child("allowPrivilegeEscalation"), "onf's containers never escalate privileges"))
	}
	if c := sc.Capabilities; c != nil && len(c.Add) > 0 {
		errs = append(errs, field.Forbidden(at.Child("capabilities", "add"), "onf's containers drop every capability"))
	}
	if sc.ProcMount != nil && *sc.ProcMount == corev1.UnmaskedProcMount {
		errs = append(errs, field.Forbidden(at.Child("procMount"), "Unmasked would loosen the container's confinement"))
	}
	if p := sc.SeccompProfile; p != nil && p.Type == corev1.SeccompProfileTypeUnconfined {
		errs = append(errs, field.Forbidden(at.Child("seccompProfile", "type"), "Unconfined would loosen the container's confinement"))
	}
	if p := sc.AppArmorProfile; p != nil && p.Type == corev1.AppArmorProfileTypeUnconfined {
		errs = append(errs, field.Forbidden(at.Child("appArmorProfile", "type"), "Unconfined would loosen the container's confinement"))
	}
	return errs
}

// validateEnv checks env (at parent.env) and envFrom (at parent.envFrom): variable names,
// one value source each, and no Secret behind any of them.
func validateEnv(env []corev1.EnvVar, from []corev1.EnvFromSource, parent *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, e := range env {
		at := parent.Child("env").Index(i)
		for _, msg := range validation.IsEnvVarName(e.Name) {
			errs = append(errs, field.Invalid(at.Child("name"), e.Name, msg))
		}
		if seen.Has(e.Name) {
			errs = append(errs, field.Duplicate(at.Child("name"), e.Name))
		}
		seen.Insert(e.Name)
		if f := e.ValueFrom; f != nil {
			if e.Value != "" {
				errs = append(errs, field.Invalid(at.Child("valueFrom"), "", "set value or valueFrom, not both"))
			}
			if f.SecretKeyRef != nil {
				errs = append(errs, field.Forbidden(at.Child("valueFrom", "secretKeyRef"), secretEnvReason))
			}
		}
	}
	for i, f := range from {
		if f.SecretRef != nil {
			errs = append(errs, field.Forbidden(parent.Child("envFrom").Index(i).Child("secretRef"), secretEnvReason))
		}
	}
	return errs
}

// validateMounts checks that mounts name volumes of pod.volumes (onf's own hold the
// database and keys, which no extra container or mount may reach) at distinct absolute paths.
func validateMounts(mounts []corev1.VolumeMount, volumes sets.Set[string], at *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := sets.New[string]()
	for i, m := range mounts {
		mat := at.Index(i)
		if !volumes.Has(m.Name) {
			errs = append(errs, field.NotFound(mat.Child("name"), m.Name))
		}
		if !pathpkg.IsAbs(m.MountPath) {
			errs = append(errs, field.Invalid(mat.Child("mountPath"), m.MountPath, "must be an absolute path"))
			continue
		}
		clean := pathpkg.Clean(m.MountPath)
		if paths.Has(clean) {
			errs = append(errs, field.Duplicate(mat.Child("mountPath"), m.MountPath))
		}
		paths.Insert(clean)
	}
	return errs
}

// validateContainer checks one extra container: a name unique among the extra containers,
// an image, env without secrets, mounts of pod.volumes only, and no more privilege than
// onf's own containers.
func validateContainer(c *corev1.Container, names, volumes sets.Set[string], at *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(c.Name) {
		errs = append(errs, field.Invalid(at.Child("name"), c.Name, msg))
	}
	if names.Has(c.Name) {
		errs = append(errs, field.Duplicate(at.Child("name"), c.Name))
	}
	names.Insert(c.Name)
	if c.Image == "" {
		errs = append(errs, field.Required(at.Child("image"), "a container image"))
	}
	for i, p := range c.Ports {
		pat := at.Child("ports").Index(i)
		for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
			errs = append(errs, field.Invalid(pat.Child("containerPort"), p.ContainerPort, msg))
		}
		if p.Name != "" {
			for _, msg := range validation.IsValidPortName(p.Name) {
				errs = append(errs, field.Invalid(pat.Child("name"), p.Name, msg))
			}
		}
	}
	errs = append(errs, validateEnv(c.Env, c.EnvFrom, at)...)
	errs = append(errs, validateMounts(c.VolumeMounts, volumes, at.Child("volumeMounts"))...)
	return append(errs, tightenOnly(c.SecurityContext, at.Child("securityContext"))...)
}
