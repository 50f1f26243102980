package local

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The bind guard keeps a local node's listening sockets on loopback whatever the node's flags
// do: gossamer v0.9.0 binds its HTTP, WebSocket and metrics servers to every interface and
// has no flag to change that. The node runs under a seccomp filter that hands each bind(2) to
// the supervisor, which rewrites a wildcard address (0.0.0.0, ::) to loopback (127.0.0.1, or
// ::ffff:127.0.0.1 on a dual-stack socket) before the kernel carries the call out. Ports the
// plan lists as public (P2P with a public address) keep their wildcard bind.
//
// The filter is installed by the onf binary itself, re-executed as guardArg0 just before it
// executes the node: Go cannot run code between fork and exec.

// bindGuardAvailable: Linux has seccomp user notification.
const bindGuardAvailable = true

// guardArg0 is argv[0] of the re-executed binary that installs the filter and runs the node.
const guardArg0 = "onf-bind-guard"

// guardSocketFD is where the re-executed binary finds its end of the socket pair that carries
// the filter's listener descriptor to the supervisor.
const guardSocketFD = 3

func init() {
	if len(os.Args) < 2 || os.Args[0] != guardArg0 {
		return
	}
	// Package initialisation runs on the main thread, locked: the filter, no_new_privs and
	// execve all apply to this one thread.
	err := execGuarded(os.Args[1], os.Args[1:])
	fmt.Fprintf(os.Stderr, "onf: cannot keep the node's sockets on loopback: %v\n", err)
	os.Exit(126)
}

// guardedCommand is a command that runs binary with args under the bind guard. Start it with
// startGuarded.
func guardedCommand(binary string, args []string) *exec.Cmd {
	return &exec.Cmd{Path: "/proc/self/exe", Args: append([]string{guardArg0, binary}, args...)}
}

// startGuarded starts a command made by guardedCommand and serves its bind calls until the node
// and everything it started are gone. public are the ports that may bind every interface; the
// sockets in res go to the node when it binds their ports.
func startGuarded(cmd *exec.Cmd, public []int, res *reservation, log *slog.Logger) error {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bind guard: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(pair[0]), "bind-guard"), os.NewFile(uintptr(pair[1]), "bind-guard")
	defer mine.Close()
	cmd.ExtraFiles = []*os.File{theirs} // guardSocketFD
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return err
	}
	listener, err := receiveFD(pair[0])
	if err != nil {
		// The child failed before executing the node; its reason is in its log.
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("bind guard: %w", err)
	}
	go serveBinds(listener, public, res, log)
	return nil
}

// execGuarded installs the filter, hands its listener to the supervisor and executes the node.
func execGuarded(binary string, argv []string) error {
	path, err := exec.LookPath(binary)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	listener, err := installBindFilter()
	if err != nil {
		return err
	}
	if err := unix.Sendmsg(guardSocketFD, []byte{0}, unix.UnixRights(listener), nil, 0); err != nil {
		return fmt.Errorf("hand the filter to the supervisor: %w", err)
	}
	unix.Close(listener)
	unix.Close(guardSocketFD)
	return unix.Exec(path, argv, os.Environ())
}

// auditArch is the seccomp architecture of this build: a bind from another ABI passes unseen.
var auditArch = map[string]uint32{"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64}

// installBindFilter makes every bind(2) of this thread and what it executes wait for the
// supervisor, and returns the descriptor the supervisor receives those calls on.
func installBindFilter() (int, error) {
	arch, ok := auditArch[runtime.GOARCH]
	if !ok {
		return -1, fmt.Errorf("no seccomp support for %s", runtime.GOARCH)
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	// bind waits for the supervisor; io_uring, which could bind without a system call the
	// filter sees, is "not implemented" (programs fall back to plain system calls).
	prog := []unix.SockFilter{
		{Code: ld, K: 4}, // seccomp_data.arch
		{Code: jeq, K: arch, Jf: 5},
		{Code: ld, K: 0}, // seccomp_data.nr
		{Code: jeq, K: unix.SYS_BIND, Jf: 1},
		{Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
		{Code: jeq, K: unix.SYS_IO_URING_SETUP, Jf: 1},
		{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, fmt.Errorf("seccomp: %w", errno)
	}
	return int(fd), nil
}

// receiveFD reads the descriptor the guarded child sends, or fails when the child exits first.
func receiveFD(sock int) (int, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		_, oobn, _, _, err := unix.Recvmsg(sock, make([]byte, 1), oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, err
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return -1, fmt.Errorf("the node's wrapper exited before installing the filter")
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			return -1, fmt.Errorf("the node's wrapper sent no filter")
		}
		return fds[0], nil
	}
}

// The kernel's seccomp notification structures (linux/seccomp.h).
type (
	seccompData struct {
		Nr   int32
		Arch uint32
		IP   uint64
		Args [6]uint64
	}
	seccompNotif struct {
		ID    uint64
		Pid   uint32
		Flags uint32
		Data  seccompData
	}
	seccompNotifResp struct {
		ID    uint64
		Val   int64
		Error int32
		Flags uint32
	}
)

// serveBinds answers the node's bind calls until no process uses the filter any more.
func serveBinds(listener int, public []int, res *reservation, log *slog.Logger) {
	defer unix.Close(listener)
	for {
		fds := []unix.PollFd{{Fd: int32(listener), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			log.Error("bind guard", "err", err)
			return
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			return // POLLHUP: the node and its children are gone
		}
		var req seccompNotif
		if err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
			continue // the caller died or was interrupted; an interrupted bind comes again
		}
		resp, err := answerBind(listener, &req, public, res)
		if err != nil {
			// Refuse a bind that could not be checked rather than let it listen everywhere.
			log.Error("bind guard: refused a bind", "pid", req.Pid, "err", err)
			resp = seccompNotifResp{ID: req.ID, Error: -int32(unix.EACCES)}
		}
		_ = ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp))
	}
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

// seccompNotifAddFD is linux/seccomp.h's seccomp_notif_addfd.
type seccompNotifAddFD struct {
	ID         uint64
	Flags      uint32
	SrcFD      uint32
	NewFD      uint32
	NewFDFlags uint32
}

// answerBind decides a pending bind(sockfd, addr, len). On a port the supervisor holds, the
// node gets the supervisor's listening socket in place of its own (the bind then succeeds
// without the kernel binding anything); a wildcard address on a port that is not public is
// rewritten to loopback in the caller's memory; anything else goes ahead as it is.
func answerBind(listener int, req *seccompNotif, public []int, res *reservation) (seccompNotifResp, error) {
	proceed := seccompNotifResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	addrPtr, addrLen := req.Data.Args[1], req.Data.Args[2]
	if addrLen < 4 || addrLen > 128 {
		return proceed, nil // not an address we rewrite; the kernel judges it
	}
	mem, err := os.OpenFile("/proc/"+strconv.Itoa(int(req.Pid))+"/mem", os.O_RDWR, 0)
	if err != nil {
		return proceed, err
	}
	defer mem.Close()
	sa := make([]byte, addrLen)
	if _, err := mem.ReadAt(sa, int64(addrPtr)); err != nil {
		return proceed, err
	}
	if port, ok := ipv4Port(sa); ok {
		if fd, held := res.take(port); held {
			defer unix.Close(fd)
			add := seccompNotifAddFD{ID: req.ID, Flags: unix.SECCOMP_ADDFD_FLAG_SETFD,
				SrcFD: uint32(fd), NewFD: uint32(req.Data.Args[0]), NewFDFlags: unix.O_CLOEXEC}
			if err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_ADDFD, unsafe.Pointer(&add)); err != nil {
				return proceed, fmt.Errorf("hand over port %d: %w", port, err)
			}
			return seccompNotifResp{ID: req.ID}, nil
		}
	}
	offset, loopback := loopbackFor(sa, public)
	if loopback == nil {
		return proceed, nil
	}
	// The pid could have been reused between the notification and the open.
	if err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&req.ID)); err != nil {
		return proceed, err
	}
	_, err = mem.WriteAt(loopback, int64(addrPtr)+int64(offset))
	return proceed, err
}

var (
	ipv4Loopback       = []byte{127, 0, 0, 1}
	ipv4MappedLoopback = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}
	ipv4MappedAny      = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}
)

// ipv4Port is the port of a bind that takes IPv4 connections: an IPv4 address, or the IPv6
// wildcard or an IPv4-mapped address on a dual-stack socket. The supervisor's reserved sockets
// listen on IPv4, so only such a bind may receive one (not a second listener on ::1).
func ipv4Port(sa []byte) (int, bool) {
	family := binary.NativeEndian.Uint16(sa)
	port := int(binary.BigEndian.Uint16(sa[2:4]))
	switch {
	case family == unix.AF_INET:
		return port, true
	case family == unix.AF_INET6 && len(sa) >= 24:
		return port, allZero(sa[8:24]) || bytes.Equal(sa[8:20], ipv4MappedAny[:12])
	}
	return 0, false
}

// loopbackFor says where in a sockaddr the address sits and what loopback address replaces
// it, or nil when the bind may go ahead as it is: not IP, not a wildcard, or a public port.
func loopbackFor(sa []byte, public []int) (int, []byte) {
	family := binary.NativeEndian.Uint16(sa)
	port := int(binary.BigEndian.Uint16(sa[2:4]))
	if slices.Contains(public, port) {
		return 0, nil
	}
	switch {
	case family == unix.AF_INET && len(sa) >= 8 && allZero(sa[4:8]):
		return 4, ipv4Loopback
	case family == unix.AF_INET6 && len(sa) >= 24 && (allZero(sa[8:24]) || bytes.Equal(sa[8:24], ipv4MappedAny)):
		// Go and most servers listen on :: with IPV6_V6ONLY off for "every interface": the
		// IPv4-mapped loopback keeps them reachable at 127.0.0.1, where clients look.
		return 8, ipv4MappedLoopback
	}
	return 0, nil
}

func allZero(b []byte) bool { return bytes.Equal(b, make([]byte, len(b))) }
