package network

import "fmt"

// CheckName says whether name may name a network: a DNS-1123 label (as Kubernetes object
// names are, since the same spec becomes one) of at most 42 characters that starts with a
// letter. The local runtime builds state paths from it, so no '/', '.' or ".." ever gets in.
func CheckName(name string) error {
	if !dnsLabel.MatchString(name) {
		return fmt.Errorf("must be a name of 1 to 42 lowercase letters, digits and '-' that starts with a letter and does not end with '-', got %q", name)
	}
	return nil
}
