package local

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
)

// TestBindGuardChild is the guarded process of TestBindGuard: it listens the way gossamer does
// (":port", every interface) and prints where the kernel put each socket.
func TestBindGuardChild(t *testing.T) {
	ports := strings.Fields(os.Getenv("ONF_BINDGUARD_CHILD"))
	if len(ports) != 2 {
		t.Skip("run by TestBindGuard")
	}
	for _, l := range []struct{ network, addr string }{
		{"tcp", ":0"}, {"tcp4", "0.0.0.0:0"}, {"tcp", "127.0.0.1:0"},
		{"tcp", ":" + ports[0]}, {"tcp", ":" + ports[1]},
	} {
		ln, err := net.Listen(l.network, l.addr)
		if err != nil {
			fmt.Println("error", err)
			continue
		}
		fmt.Println(l.network, l.addr, ln.Addr())
	}
	var params [120]byte // struct io_uring_params
	_, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params)), 0)
	fmt.Println("io_uring_setup", errno == unix.ENOSYS)
}

// A guarded node's wildcard listeners land on loopback, except on its public ports, and a
// port the supervisor reserved is handed to the node when it binds it.
func TestBindGuard(t *testing.T) {
	public, err := freePort(map[int]bool{})
	if err != nil {
		t.Fatal(err)
	}
	res := &reservation{}
	rpcPort, err := freePort(map[int]bool{public: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.reserve(network.NodePlan{Ports: flavor.Ports{RPC: rpcPort}}); err != nil {
		t.Fatal(err)
	}
	defer res.close()
	// While reserved, the port is nobody else's.
	if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", rpcPort)); err == nil {
		ln.Close()
		t.Fatalf("reserved port %d could be taken", rpcPort)
	}

	cmd := guardedCommand(os.Args[0], []string{"-test.run=^TestBindGuardChild$", "-test.v"})
	cmd.Env = append(os.Environ(), fmt.Sprintf("ONF_BINDGUARD_CHILD=%d %d", public, rpcPort))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := startGuarded(cmd, []int{public}, res, slog.Default()); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && strings.HasPrefix(f[0], "tcp") {
			got[f[0]+" "+f[1]] = f[2]
		} else if len(f) == 2 && f[0] == "io_uring_setup" {
			got[f[0]] = f[1]
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("guarded child: %v", err)
	}
	for key, want := range map[string]string{
		"tcp :0":                        "127.0.0.1",
		"tcp4 0.0.0.0:0":                "127.0.0.1",
		"tcp 127.0.0.1:0":               "127.0.0.1",
		"tcp :" + strconv.Itoa(public):  "::",
		"tcp :" + strconv.Itoa(rpcPort): "127.0.0.1",
	} {
		h, _, err := net.SplitHostPort(got[key])
		if err != nil {
			t.Errorf("listen %s: no address in %v", key, got)
		} else if h != want {
			t.Errorf("listen %s: bound to %s, want %s", key, h, want)
		}
	}
	if got["io_uring_setup"] != "true" {
		t.Error("io_uring, which binds without a bind system call, is open to the node")
	}
	if _, held := res.take(rpcPort); held {
		t.Error("the reserved socket was not handed to the node")
	}
}

// sockaddr builds a sockaddr_in (4-byte ip) or sockaddr_in6 (16-byte ip) as the kernel reads it.
func sockaddr(ip net.IP, port int) []byte {
	if ip4 := ip.To4(); ip4 != nil && len(ip) == net.IPv4len {
		sa := make([]byte, 16)
		binary.NativeEndian.PutUint16(sa, unix.AF_INET)
		binary.BigEndian.PutUint16(sa[2:], uint16(port))
		copy(sa[4:], ip4)
		return sa
	}
	sa := make([]byte, 28)
	binary.NativeEndian.PutUint16(sa, unix.AF_INET6)
	binary.BigEndian.PutUint16(sa[2:], uint16(port))
	copy(sa[8:], ip.To16())
	return sa
}

func TestLoopbackFor(t *testing.T) {
	const public = 30333
	for _, c := range []struct {
		sa   []byte
		want net.IP // nil: the bind goes ahead unchanged
	}{
		{sockaddr(net.IPv4zero.To4(), 9944), net.IPv4(127, 0, 0, 1).To4()},
		{sockaddr(net.IPv6zero, 9944), net.ParseIP("::ffff:127.0.0.1")},
		{sockaddr(net.ParseIP("::ffff:0.0.0.0"), 9944), net.ParseIP("::ffff:127.0.0.1")},
		{sockaddr(net.IPv4zero.To4(), 0), net.IPv4(127, 0, 0, 1).To4()},
		{sockaddr(net.IPv4zero.To4(), public), nil},
		{sockaddr(net.IPv6zero, public), nil},
		{sockaddr(net.IPv4(127, 0, 0, 1).To4(), 9944), nil},
		{sockaddr(net.IPv4(10, 0, 0, 1).To4(), 9944), nil},
		{sockaddr(net.IPv6loopback, 9944), nil},
		{[]byte{1, 0, 0, 0}, nil}, // AF_UNIX
	} {
		offset, repl := loopbackFor(c.sa, []int{public})
		var got net.IP
		if repl != nil {
			got = net.IP(repl)
			if offset+len(repl) > len(c.sa) {
				t.Errorf("%x: replacement at %d overruns the address", c.sa, offset)
			}
		}
		if !got.Equal(c.want) {
			t.Errorf("%x: loopback %v, want %v", c.sa, got, c.want)
		}
	}
}

// Whatever bytes a node passes to bind, the guard neither panics nor writes past them.
func FuzzLoopbackFor(f *testing.F) {
	f.Add(sockaddr(net.IPv4zero.To4(), 9944))
	f.Add(sockaddr(net.IPv6zero, 30333))
	f.Add(sockaddr(net.ParseIP("::ffff:0.0.0.0"), 1))
	f.Add([]byte{10, 0, 1, 2, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, sa []byte) {
		if len(sa) < 4 {
			return // answerBind passes on shorter addresses without looking
		}
		_, _ = ipv4Port(sa)
		if offset, repl := loopbackFor(sa, []int{30333}); offset+len(repl) > len(sa) {
			t.Fatalf("replacement at %d of %d bytes overruns a %d-byte address", offset, len(repl), len(sa))
		}
	})
}
