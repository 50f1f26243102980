package operator

import "fmt"

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func ptr[T any](v T) *T { return &v }
