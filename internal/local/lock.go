package local

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// A network's supervisor holds a POSIX write lock on <home>/locks/<name>.lock for its whole
// life. The lock lives outside the state directory so that removing the state directory
// cannot hide a running supervisor (a second `onf up` would start a second one on the same
// chain), and the kernel names its holder (F_GETLK), so no pid file can go stale or point at
// an unrelated process.

// lockFile is where a network's supervisor lock lives.
func lockFile(home, name string) string { return filepath.Join(home, "locks", name+".lock") }

// heldLocks are the lock files this process holds: POSIX locks never conflict within one
// process, so a second Supervise of the same network in one process is refused here.
var heldLocks sync.Map

// lockSupervisor takes the network's supervisor lock, or says which process holds it.
func lockSupervisor(home, name string) (unlock func(), err error) {
	file := lockFile(home, name)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, err
	}
	if _, loaded := heldLocks.LoadOrStore(file, true); loaded {
		return nil, fmt.Errorf("network %s: this process already supervises it", name)
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		lk := wholeFile(syscall.F_WRLCK)
		if err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
			f.Close()
			err = fmt.Errorf("network %s: another supervisor (pid %d) runs it", name, lockHolder(home, name))
		}
	}
	if err != nil {
		heldLocks.Delete(file)
		return nil, err
	}
	// Closing the file releases the lock.
	return func() { f.Close(); heldLocks.Delete(file) }, nil
}

// lockHolder is the pid of the process holding the network's supervisor lock, or 0.
func lockHolder(home, name string) int {
	file := lockFile(home, name)
	if _, held := heldLocks.Load(file); held {
		// F_GETLK does not see this process's own locks, and closing another descriptor
		// of the file would drop them.
		return os.Getpid()
	}
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close() // F_GETLK only asks: it takes no lock
	lk := wholeFile(syscall.F_WRLCK)
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil || lk.Type == syscall.F_UNLCK {
		return 0
	}
	return int(lk.Pid)
}

func wholeFile(typ int16) syscall.Flock_t {
	return syscall.Flock_t{Type: typ, Whence: 0, Start: 0, Len: 0}
}
