package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Network gives each simulated pod its own Linux network namespace joined
// to the root namespace by a veth pair on a /30, so a pod is reachable only
// at its own IP (10.244.<slot>.<4i+2>) from the root namespace, as in a
// cluster. Addresses exist only on the interfaces created here; traffic
// never leaves the machine.
//
// Each sandbox holds a slot (0..63), locked with flock under /run so that
// concurrent sandboxes never share names or addresses. The lock dies with
// its owner, so whatever is named with the prefix of a slot that can be
// locked is stale: every start sweeps all free slots.
//
// A loopback Network (NewLoopbackNetwork) has no namespaces, for machines
// that cannot create them (not root, or a container without
// CAP_SYS_ADMIN): pod i gets the loopback address 127.244.<slot>.<4i+2>,
// where the sandbox forwards the container port to the port its simulator
// listens on (Forward), so pods still have their own IPs on one port.
type Network struct {
	slot     int
	lock     *os.File
	dir      string // where the slot's lock and pid files are
	prefix   string
	pods     map[int]bool
	loopback bool
	forwards map[int]*forwarder
}

// ErrNoNetns reports that this machine cannot create network namespaces.
var ErrNoNetns = errors.New("network namespaces are unavailable")

const lockDir = "/run/semantic-epp"
const maxSlots = 64

// NewNetwork checks that network namespaces work, takes a free slot and
// sweeps what a dead earlier owner of the slot left behind.
func NewNetwork() (*Network, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: must run as root to create network namespaces", ErrNoNetns)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("%w: the ip command (iproute2) is missing: %w", ErrNoNetns, err)
	}
	n, err := takeSlot(lockDir, false)
	if err != nil {
		return nil, err
	}
	if err := n.probe(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// NewLoopbackNetwork takes a free slot for pods on loopback addresses: no
// namespaces, no root. Without root the slot locks live under the
// temporary directory instead of /run.
func NewLoopbackNetwork() (*Network, error) {
	dir := lockDir
	if os.Geteuid() != 0 {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("semantic-epp-%d", os.Geteuid()))
	}
	return takeSlot(dir, true)
}

// takeSlot takes the first free slot under dir, and sweeps every free slot
// on the way: a free slot's namespaces and recorded processes belong to a
// sandbox that died.
func takeSlot(dir string, loopback bool) (*Network, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var existing []string
	if !loopback {
		existing = listNamespaces()
	}
	var n *Network
	for slot := 0; slot < maxSlots; slot++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("slot-%d.lock", slot)), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening slot lock: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			continue
		}
		prefix := fmt.Sprintf("sepp%d-", slot)
		killRecorded(dir, slot)
		for _, name := range existing {
			if strings.HasPrefix(name, prefix) {
				deleteNamespace(name)
			}
		}
		if n == nil {
			n = &Network{slot: slot, lock: f, dir: dir, prefix: prefix, pods: map[int]bool{}, loopback: loopback, forwards: map[int]*forwarder{}}
			continue
		}
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}
	if n == nil {
		return nil, fmt.Errorf("all %d sandbox network slots are in use", maxSlots)
	}
	return n, nil
}

// Loopback reports whether the pods share the root network namespace.
func (n *Network) Loopback() bool { return n.loopback }

// probe creates and deletes one namespace to prove the machine allows it.
func (n *Network) probe() error {
	name := n.prefix + "probe"
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: ip netns add: %w: %s", ErrNoNetns, err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func pidFile(dir string, slot int) string {
	return filepath.Join(dir, fmt.Sprintf("slot-%d.pids", slot))
}

// RecordProcesses notes the control-plane processes this sandbox started
// (envtest gives them no parent-death signal) so that the next sandbox can
// end them if this one dies without stopping them. Each line holds a pid,
// its start time (clock ticks after boot, fixed at fork) and, for people
// reading the file, its command line. The start time, not the command line,
// identifies the process: a recycled pid has a later start time, while the
// command line of a process that was just started may still be empty (the
// kernel fills it in after the parent returns from exec) and so would not
// match later.
func (n *Network) RecordProcesses(pids []int) error {
	var b strings.Builder
	for _, pid := range pids {
		start, err := startTime(pid)
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		fmt.Fprintf(&b, "%d %d %s\n", pid, start, strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	if err := os.WriteFile(pidFile(n.dir, n.slot), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("recording processes: %w", err)
	}
	return nil
}

// killRecorded ends the processes a dead sandbox of this slot recorded,
// those whose start time still matches.
func killRecorded(dir string, slot int) {
	raw, err := os.ReadFile(pidFile(dir, slot))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		pid, err1 := strconv.Atoi(f[0])
		start, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if now, err := startTime(pid); err == nil && now == start {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	_ = os.Remove(pidFile(dir, slot))
}

// procStat reads /proc/<pid>/stat: the command name and the fields after
// it (state, ppid, ...; the start time is the 20th).
func procStat(pid int) (comm string, fields []string, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", nil, err
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	open, closeIdx := strings.IndexByte(string(stat), '('), strings.LastIndexByte(string(stat), ')')
	if open < 0 || closeIdx < open {
		return "", nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return string(stat[open+1 : closeIdx]), strings.Fields(string(stat[closeIdx+1:])), nil
}

// startTime returns when process pid started, in clock ticks after boot.
func startTime(pid int) (uint64, error) {
	_, fields, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat has %d fields after the name", pid, len(fields))
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// childProcesses returns the pids of this process's children whose
// executable is one of names.
func childProcesses(names ...string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, fields, err := procStat(pid)
		if err != nil {
			continue
		}
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid != self {
			continue
		}
		for _, n := range names {
			if comm == n {
				out = append(out, pid)
			}
		}
	}
	return out
}

// listNamespaces returns the names of all network namespaces.
func listNamespaces() []string {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if name, _, _ := strings.Cut(strings.TrimSpace(line), " "); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// sweep kills processes in, and deletes, every namespace of this slot.
func (n *Network) sweep() {
	if n.loopback {
		return
	}
	for _, name := range listNamespaces() {
		if strings.HasPrefix(name, n.prefix) {
			deleteNamespace(name)
		}
	}
}

func deleteNamespace(name string) {
	if pids, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
		for _, f := range strings.Fields(string(pids)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	// Deleting the namespace destroys its veth end and so the root end too.
	_ = exec.Command("ip", "netns", "del", name).Run()
}

// PodAddr returns pod i's IP and the root-side gateway address.
func (n *Network) PodAddr(i int) (podIP, hostIP string) {
	first := 10
	if n.loopback {
		first = 127
	}
	return fmt.Sprintf("%d.244.%d.%d", first, n.slot, 4*i+2), fmt.Sprintf("%d.244.%d.%d", first, n.slot, 4*i+1)
}

// Namespace returns the namespace name of pod i; "" on loopback.
func (n *Network) Namespace(i int) string {
	if n.loopback {
		return ""
	}
	return fmt.Sprintf("%s%d", n.prefix, i)
}

// AddPod creates pod i's namespace and link and returns the pod IP.
func (n *Network) AddPod(i int) (string, error) {
	if i < 0 || i >= 63 {
		return "", fmt.Errorf("pod index %d out of range 0..62", i)
	}
	if n.loopback {
		n.pods[i] = true
		podIP, _ := n.PodAddr(i)
		return podIP, nil
	}
	ns := n.Namespace(i)
	host := fmt.Sprintf("sepp%dh%d", n.slot, i)
	peer := fmt.Sprintf("sepp%dp%d", n.slot, i)
	podIP, hostIP := n.PodAddr(i)
	steps := [][]string{
		{"netns", "add", ns},
		{"link", "add", host, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", ns},
		{"addr", "add", hostIP + "/30", "dev", host},
		{"link", "set", host, "up"},
		{"-n", ns, "link", "set", peer, "name", "eth0"},
		{"-n", ns, "addr", "add", podIP + "/30", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "route", "add", "default", "via", hostIP},
	}
	// The root end of a veth of a namespace deleted moments ago (by this
	// slot's last owner, or a sweep) outlives the namespace until the
	// kernel's asynchronous namespace cleanup runs; deleting it now takes
	// the pair down so that the name is free.
	_ = exec.Command("ip", "link", "del", host).Run()
	n.pods[i] = true
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			n.RemovePod(i)
			return "", fmt.Errorf("ip %s: %w: %s", strings.Join(s, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return podIP, nil
}

// RemovePod kills what runs in pod i's namespace and deletes it; on
// loopback it stops the pod's forwarding.
func (n *Network) RemovePod(i int) {
	if f := n.forwards[i]; f != nil {
		f.Close()
		delete(n.forwards, i)
	}
	if n.pods[i] {
		if !n.loopback {
			deleteNamespace(n.Namespace(i))
		}
		delete(n.pods, i)
	}
}

// Forward accepts connections at listen (pod i's address and container
// port) and relays each to target (where its simulator listens) until
// RemovePod(i).
func (n *Network) Forward(i int, listen, target string) error {
	if n.forwards[i] != nil {
		return fmt.Errorf("pod %d is already forwarded", i)
	}
	f, err := newForwarder(listen, target)
	if err != nil {
		return err
	}
	n.forwards[i] = f
	return nil
}

// Close removes every pod namespace and releases the slot.
func (n *Network) Close() {
	for i := range n.pods {
		n.RemovePod(i)
	}
	n.sweep()
	_ = os.Remove(pidFile(n.dir, n.slot))
	if n.lock != nil {
		_ = syscall.Flock(int(n.lock.Fd()), syscall.LOCK_UN)
		_ = n.lock.Close()
		n.lock = nil
	}
}
