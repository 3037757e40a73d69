//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The sandbox's own processes: the supervisor (`udpbook sandbox-init`) and
// the set-up of the learner's and the judge's processes (`udpbook
// sandbox-exec`). See sandbox_linux.go.

// sandboxInit is the supervisor. It reports on descriptor 3 and returns
// the exit code.
func sandboxInit(args []string) int {
	status := os.NewFile(3, "status")
	var st initStatus
	finish := func(code int) int {
		b, _ := json.Marshal(st)
		status.Write(b)
		status.Close()
		return code
	}
	var cfg initConfig
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &cfg) != nil {
		st.Error = "sandbox-init: bad arguments"
		return finish(2)
	}
	closeOnExecFrom(3)
	if cfg.Namespaces {
		if err := setUpSandbox(cfg); err != nil {
			st.Error = err.Error()
			return finish(1)
		}
	} else if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		st.Error = fmt.Sprintf("become the subreaper: %v", err)
		return finish(1)
	}
	out, err := supervise(cfg)
	if err != nil {
		st.Error = err.Error()
		return finish(1)
	}
	st.Outcome = out
	return finish(0)
}

// closeOnExecFrom marks every descriptor from fd on close-on-exec, so that
// none the grader inherited reaches the learner's process.
func closeOnExecFrom(fd int) {
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n >= fd {
			syscall.CloseOnExec(n)
		}
	}
}

// setUpSandbox runs in the supervisor, in the new namespaces, with every
// capability there: it builds what the learner's process will see.
func setUpSandbox(cfg initConfig) error {
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the mounts private: %w", err)
	}
	// Open what the learner needs from the grader's temporary folder
	// before a private /tmp hides it.
	type sharedFile struct {
		path, inside string
		writable     bool
		fd           int
	}
	var shared []sharedFile
	for _, f := range []sharedFile{
		{path: cfg.Binary, inside: insideDir + "/" + filepath.Base(cfg.Binary)},
		{path: cfg.Report, inside: insideDir + "/report.jsonl", writable: true},
		{path: judgeBinary(cfg), inside: insideDir + "/judge-" + filepath.Base(judgeBinary(cfg))},
	} {
		if f.path == "" {
			continue
		}
		fd, err := unix.Open(f.path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", f.path, err)
		}
		defer unix.Close(fd)
		f.fd = fd
		shared = append(shared, f)
	}
	// Every file read-only: the workbook, the grader, HOME, the Go
	// environment file, everything.
	ro := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE, &ro); err != nil {
		return fmt.Errorf("make the files read-only: %w", err)
	}
	opts := "mode=0755"
	if cfg.Limits.TempSpace > 0 {
		opts += ",size=" + strconv.FormatInt(cfg.Limits.TempSpace, 10)
	}
	if err := unix.Mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount a private /tmp: %w", err)
	}
	for _, d := range []string{insideDir, insideWork, insideHome} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, s := range shared {
		if err := os.WriteFile(s.inside, nil, 0o644); err != nil {
			return err
		}
		if err := unix.Mount(fmt.Sprintf("/proc/self/fd/%d", s.fd), s.inside, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", s.inside, err)
		}
		if s.writable {
			rw := unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
			if err := unix.MountSetattr(unix.AT_FDCWD, s.inside, 0, &rw); err != nil {
				return fmt.Errorf("make %s writable: %w", s.inside, err)
			}
		}
	}
	// A /proc of this PID namespace, for the supervisor to watch the
	// learner's processes.
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	// A /sys that shows this network namespace's interfaces, where the
	// kernel allows it; otherwise the read-only one stays.
	unix.Mount("sysfs", "/sys", "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, "")
	return nil
}

// judgeBinary returns the judge's program where the sandbox must show it
// to the judge, or "": the grader's own it runs as /proc/self/exe.
func judgeBinary(cfg initConfig) string {
	if cfg.Judge == nil || cfg.Judge.Self {
		return ""
	}
	return cfg.Judge.Binary
}

// loopbackUp brings up lo, the only interface of a new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// supervise starts the judge's process, if there is one, and the
// learner's, watches the learner's and everything it starts, waits, and in
// the end leaves nothing running.
func supervise(cfg initConfig) (Outcome, error) {
	// Signals: without namespaces the grader asks for the end with
	// SIGTERM, and everything is killed; the others a learner might send
	// are ignored.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGUSR2)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		killDescendants()
		os.Exit(0)
	}()

	var judge *exec.Cmd
	judgeDone := make(chan struct{})
	if j := cfg.Judge; j != nil && !cfg.Probe {
		readyR, readyW, err := os.Pipe()
		if err != nil {
			return Outcome{}, err
		}
		var files []*os.File
		for i := 0; i < j.Files; i++ {
			files = append(files, os.NewFile(uintptr(4+cfg.Files+i), "judge"))
		}
		files = append(files, readyW)
		jcfg := cfg
		jcfg.Role = "judge"
		jcfg.Judge = &judgeConfig{}
		*jcfg.Judge = *j
		jcfg.Judge.ReadyFrom = 2 + len(files)
		jcfg.Judge.Env = append(j.Env, fmt.Sprintf("%s=fd%d", JudgeReadyEnv, jcfg.Judge.ReadyFrom))
		// The judge's output: one file for each descriptor the grader
		// passed, closed here once the judge has its copies.
		var stdout, stderr *os.File
		if j.Stdout > 0 {
			stdout = os.NewFile(uintptr(j.Stdout), "judge's output")
			stderr = stdout
		}
		if j.Stderr != j.Stdout && j.Stderr > 0 {
			stderr = os.NewFile(uintptr(j.Stderr), "judge's errors")
		}
		judge, err = startStage(jcfg, files, j.Dir, &syscall.SysProcAttr{Setpgid: !cfg.Namespaces}, stdout, stderr)
		readyW.Close()
		// The judge has its descriptors now (its control socket among
		// them): a copy kept here would hide from the learner that the
		// judge has gone.
		for _, f := range files[:j.Files] {
			f.Close()
		}
		for _, f := range []*os.File{stdout, stderr} {
			if f != nil {
				f.Close() // a second Close of the same file does nothing
			}
		}
		if err != nil {
			readyR.Close()
			return Outcome{}, fmt.Errorf("start the judge: %w", err)
		}
		go func() {
			judge.Wait()
			close(judgeDone)
		}()
		// The judge closes the descriptor when it is ready, or ends.
		ready := make(chan struct{})
		go func() {
			readyR.Read(make([]byte, 1))
			readyR.Close()
			close(ready)
		}()
		<-ready
	}

	attr := &syscall.SysProcAttr{Setpgid: true}
	dir := cfg.Dir
	if cfg.Namespaces {
		// Process 1 of a PID namespace of its own, with a /proc of its
		// own: the learner's code sees no supervisor and no judge.
		attr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS}
		dir = insideWork
	}
	var files []*os.File
	for i := 0; i < cfg.Files; i++ {
		files = append(files, os.NewFile(uintptr(4+i), "learner"))
	}
	lcfg := cfg
	lcfg.Role = "learner"
	lcfg.Judge = nil
	cmd, err := startStage(lcfg, files, dir, attr, os.Stdout, os.Stderr)
	// Likewise the learner's: the judge must see the driver's end close
	// when the learner's process ends.
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		if judge != nil {
			judge.Process.Kill()
			<-judgeDone
		}
		return Outcome{}, fmt.Errorf("start the learner's process: %w", err)
	}
	if cfg.Probe {
		if err := cmd.Wait(); err != nil {
			return Outcome{}, fmt.Errorf("sandbox set-up: %w", err)
		}
		return Outcome{Exited: true}, nil
	}

	w := &watcher{cfg: cfg, learner: cmd.Process.Pid}
	if judge != nil {
		w.judge = judge.Process.Pid
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.watch(done)
	}()
	learnerDone := make(chan struct{})
	go func() {
		cmd.Wait()
		close(learnerDone)
	}()
	if judge != nil {
		// The lesson ends with the judge; the learner has a moment to
		// follow.
		<-judgeDone
		select {
		case <-learnerDone:
		case <-time.After(JudgeGrace):
			w.stop()
		}
	}
	<-learnerDone
	close(done)
	wg.Wait()
	if !cfg.Namespaces {
		killDescendants()
	}

	out := exitOf(cmd.ProcessState)
	out.PeakMemory, out.PeakTasks, out.Limit = w.peakMemory, w.peakTasks, w.limit
	if out.Limit == "" && out.Signal != "" && cfg.Limits.CPU > 0 && out.CPU >= cfg.Limits.CPU-time.Second/10 {
		out.Limit = LimitCPU
	}
	if out.Limit == "" && cfg.Namespaces {
		out.Limit = tempLimit(cfg.Limits)
	}
	if judge != nil {
		j := exitOf(judge.ProcessState)
		out.Judge = &j
	}
	return out, nil
}

// startStage starts `udpbook sandbox-exec`, which sets up a process for
// cfg.Role and becomes it, with files as its descriptors 3 and on, and
// returns once it has become it, or with why it could not.
func startStage(cfg initConfig, files []*os.File, dir string, attr *syscall.SysProcAttr, stdout, stderr *os.File) (*exec.Cmd, error) {
	setupR, setupW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer setupR.Close()
	cfg.SetupFD = 3 + len(files)
	b, _ := json.Marshal(cfg)
	cmd := exec.Command("/proc/self/exe", execCommand, string(b))
	cmd.Args[0] = "udpbook"
	// The process's environment goes in cfg: in this process's own, the
	// key's variable would have the harness, which the grader links,
	// take the key for itself.
	cmd.Env = []string{}
	cmd.Dir = dir
	// Files, not writers: os/exec hands them on as they are, and their
	// nil is /dev/null.
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if stderr != nil {
		cmd.Stderr = stderr
	}
	cmd.ExtraFiles = append(files, setupW)
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		setupW.Close()
		return nil, err
	}
	setupW.Close()
	// The set-up writes why it failed, or nothing: its end of the pipe
	// closes when it becomes the process.
	why, _ := io.ReadAll(io.LimitReader(setupR, 64<<10))
	if len(why) > 0 {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New(string(why))
	}
	return cmd, nil
}

// exitOf says how a process ended, and what processor time it used.
func exitOf(ps *os.ProcessState) Outcome {
	out := Outcome{Exited: true, Code: ps.ExitCode()}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		out.Signal = ws.Signal().String()
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		out.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return out
}

// watcher samples the learner's processes and stops them at a limit.
type watcher struct {
	cfg        initConfig
	learner    int
	judge      int // not watched: trusted, and without limits
	limit      string
	peakMemory int64
	peakTasks  int
}

func (w *watcher) watch(done <-chan struct{}) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	l := w.cfg.Limits
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		procs := descendants(os.Getpid(), w.judge)
		var mem int64
		tasks := 0
		if w.cfg.Namespaces {
			// Every process in the sandbox is the same user in its own
			// user namespace, and counts against the limit: the
			// supervisor's threads too.
			tasks = selfThreads()
		}
		hot := false
		for _, p := range procs {
			mem += p.rss
			tasks += p.threads
			if l.CPU > 0 && p.cpu >= l.CPU {
				hot = true
			}
		}
		w.peakMemory = max(w.peakMemory, mem)
		w.peakTasks = max(w.peakTasks, tasks)
		switch {
		case l.Memory > 0 && mem > l.Memory:
			w.limit = LimitMemory
		case l.Processes > 0 && tasks >= l.Processes:
			w.limit = LimitProcesses
		case hot:
			w.limit = LimitCPU
		default:
			continue
		}
		w.stop()
		return
	}
}

// stop kills the learner's processes: in a namespace, its process 1, whose
// end takes every other process with it; without, the whole tree.
func (w *watcher) stop() {
	if w.cfg.Namespaces {
		unix.Kill(w.learner, unix.SIGKILL)
		return
	}
	for _, p := range descendants(os.Getpid(), w.judge) {
		unix.Kill(p.pid, unix.SIGKILL)
	}
}

// selfThreads returns how many threads the supervisor has.
func selfThreads() int {
	entries, _ := os.ReadDir("/proc/self/task")
	return len(entries)
}

// proc is one process as /proc/PID/stat shows it.
type proc struct {
	pid, ppid, threads int
	rss                int64
	cpu                time.Duration
}

var (
	pageSize = int64(os.Getpagesize())
	clockTck = time.Second / 100 // USER_HZ, 100 on every Linux Go supports
)

// descendants returns the processes below pid, from /proc, but for the
// one numbered except and those below it.
func descendants(pid, except int) []proc {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]proc{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 22 {
			continue
		}
		p := proc{pid: n}
		p.ppid, _ = strconv.Atoi(f[1])
		p.threads, _ = strconv.Atoi(f[17])
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		p.cpu = time.Duration(utime+stime) * clockTck
		rss, _ := strconv.ParseInt(f[21], 10, 64)
		p.rss = rss * pageSize
		children[p.ppid] = append(children[p.ppid], p)
	}
	var all []proc
	queue := []int{pid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, c := range children[next] {
			if c.pid == except {
				continue
			}
			all = append(all, c)
			queue = append(queue, c.pid)
		}
	}
	return all
}

// killDescendants kills every process below the supervisor, which, as the
// child subreaper, inherits those whose parents die, and reaps them. A
// process that starts another while it is being killed is caught on the
// next round.
func killDescendants() {
	for round := 0; round < 100; round++ {
		ps := descendants(os.Getpid(), 0)
		for _, p := range ps {
			unix.Kill(p.pid, unix.SIGKILL)
		}
		for {
			pid, err := unix.Wait4(-1, nil, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
		if len(ps) == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tempLimit says whether the learner filled the private /tmp or wrote a
// file as large as the limit allows.
func tempLimit(l Limits) string {
	var st unix.Statfs_t
	if l.TempSpace > 0 && unix.Statfs("/tmp", &st) == nil && int64(st.Bavail)*st.Bsize < 64<<10 {
		return LimitTempSpace
	}
	if l.FileSize <= 0 {
		return ""
	}
	found, seen := "", 0
	filepath.WalkDir("/tmp", func(path string, d fs.DirEntry, err error) error {
		seen++
		if err != nil || found != "" || seen > 10000 {
			return filepath.SkipAll
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() && info.Size() >= l.FileSize {
			found = LimitFileSize
		}
		return nil
	})
	return found
}

// sandboxExec sets up the learner's process and becomes it. In the
// sandbox it is process 1 of its own PID namespace. It writes why it
// failed, if it does, to its last descriptor.
func sandboxExec(args []string) int {
	// Capabilities belong to a thread: the one that gives them up must be
	// the one that starts the program.
	runtime.LockOSThread()
	var cfg initConfig
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &cfg) != nil {
		return 2
	}
	setup := os.NewFile(uintptr(cfg.SetupFD), "setup")
	fail := func(err error) int {
		fmt.Fprint(setup, err.Error())
		return 125
	}
	judge := cfg.Role == "judge"
	if cfg.Namespaces && !judge {
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fail(fmt.Errorf("mount the learner's /proc: %w", err))
		}
		// Empty, read-only folders over those the learner has no business
		// in, in its own mount namespace: the judge still sees them.
		for _, d := range cfg.Hide {
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				continue // not there, or already hidden by the private /tmp
			}
			flags := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
			if err := unix.Mount("tmpfs", d, "tmpfs", flags, "size=4k,mode=0755"); err != nil {
				return fail(fmt.Errorf("hide %s: %w", d, err))
			}
		}
	}
	if !judge {
		if err := setLimits(cfg); err != nil {
			return fail(err)
		}
	}
	if cfg.Namespaces {
		if err := dropCapabilities(); err != nil {
			return fail(err)
		}
	}
	closeOnExecFrom(cfg.SetupFD)
	if cfg.Probe {
		return 0
	}
	path, args, env := cfg.Binary, cfg.Args, cfg.Env
	if cfg.Namespaces {
		path = insideDir + "/" + filepath.Base(cfg.Binary)
	}
	if judge {
		path, args, env = cfg.Judge.Binary, cfg.Judge.Args, cfg.Judge.Env
		switch {
		case cfg.Judge.Self:
			path = "/proc/self/exe"
		case cfg.Namespaces:
			path = insideDir + "/judge-" + filepath.Base(cfg.Judge.Binary)
		}
	}
	err := unix.Exec(path, append([]string{path}, args...), env)
	return fail(fmt.Errorf("start %s: %w", path, err))
}

// setLimits sets the resource limits of the learner's process, which its
// children inherit.
func setLimits(cfg initConfig) error {
	l := cfg.Limits
	set := func(name string, res int, v uint64) error {
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: v, Max: v}); err != nil {
			return fmt.Errorf("set the limit on %s: %w", name, err)
		}
		return nil
	}
	if err := set("core files", unix.RLIMIT_CORE, 0); err != nil {
		return err
	}
	if l.Memory > 0 {
		// Measured with Go 1.26: a race-detector binary maps about
		// 1.9 GiB of address space and 430 MiB of data segment before
		// it allocates anything, cannot start with less than 512 MiB of
		// data, and maps about 4 GiB of data (3 GiB resident) for a
		// 1 GiB heap; older race runtimes reserved terabytes of address
		// space. So the limit is on resident memory: the watcher stops
		// the learner there and names it; the data segment, limited to
		// twice that (four times under the race detector), keeps memory
		// in bounds between two samples.
		data := 2 * l.Memory
		if cfg.Race {
			data = 4 * l.Memory
		}
		if err := set("memory", unix.RLIMIT_DATA, uint64(data)); err != nil {
			return err
		}
	}
	// The process count of a user counts across the whole system, except
	// in a user namespace of its own: only there can it be limited.
	if l.Processes > 0 && cfg.Namespaces {
		if err := set("processes", unix.RLIMIT_NPROC, uint64(l.Processes)); err != nil {
			return err
		}
	}
	if l.OpenFiles > 0 {
		if err := set("open files", unix.RLIMIT_NOFILE, uint64(l.OpenFiles)); err != nil {
			return err
		}
	}
	if l.FileSize > 0 {
		if err := set("file size", unix.RLIMIT_FSIZE, uint64(l.FileSize)); err != nil {
			return err
		}
	}
	if l.CPU > 0 {
		// The watcher stops a process at the limit and names it; the
		// kernel's limit, a little later, is there in case it cannot.
		secs := uint64((l.CPU+time.Second-1)/time.Second) + 2
		if err := set("processor time", unix.RLIMIT_CPU, secs); err != nil {
			return err
		}
	}
	return nil
}

// Secure bits (linux/securebits.h): root in the namespace gets no
// capabilities from exec, and the bits cannot be changed back.
const (
	secbitNoroot                  = 1 << 0
	secbitNorootLocked            = 1 << 1
	secbitNoSetuidFixup           = 1 << 2
	secbitNoSetuidFixupLocked     = 1 << 3
	secbitKeepCapsLocked          = 1 << 5
	secbitNoCapAmbientRaise       = 1 << 6
	secbitNoCapAmbientRaiseLocked = 1 << 7
	lockedSecureBits              = secbitNoroot | secbitNorootLocked | secbitNoSetuidFixup | secbitNoSetuidFixupLocked | secbitKeepCapsLocked | secbitNoCapAmbientRaise | secbitNoCapAmbientRaiseLocked
)

// dropCapabilities gives up, for this thread and every program it will
// run, every capability in the sandbox's user namespace: the learner's
// code cannot remount, unmount, or change the network.
func dropCapabilities() error {
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, lockedSecureBits, 0, 0, 0); err != nil {
		return fmt.Errorf("set the secure bits: %w", err)
	}
	for c := 0; c < 64; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break // past the last capability this kernel knows
			}
			return fmt.Errorf("drop capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear the ambient capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	var data [2]unix.CapUserData
	if err := unix.Capset(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &data[0]); err != nil {
		return fmt.Errorf("drop the capabilities: %w", err)
	}
	return nil
}
