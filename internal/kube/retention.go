package kube

import appsv1 "k8s.io/api/apps/v1"

// pvcRetention keeps chain data when a group leaves the spec or the network is deleted,
// unless the group says storageRetention: Delete. Scaling down always keeps it: scaling back
// up resumes from it. A retained claim keeps its name (data-<network>-<group>-<index>), so a
// StatefulSet of the same network and group adopts it again.
func (b *groupBuilder) pvcRetention() *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	whenDeleted := appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	if b.group.StorageRetention == string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType) {
		whenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	}
	return &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: whenDeleted,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
}
