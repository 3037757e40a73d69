//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"udpbook/harness"
)

// How the sandbox is built on Linux. The grader starts itself again, as
// `udpbook sandbox-init`, in a new user, network, PID, mount, IPC and UTS
// namespace. That first process (the supervisor) brings up lo, makes every
// mount read-only, mounts a private tmpfs on /tmp and a fresh /proc, and
// starts itself once more, as `udpbook sandbox-exec`, in a nested PID and
// mount namespace. That process mounts its own /proc, hides /run and HOME,
// sets the limits, gives up every capability for good and becomes the
// learner's process, which is then process 1 of a namespace that holds
// nothing else it did not start: it sees no grader, no supervisor and no
// judge. (A judge, where there is one, is started first the same way but
// in the supervisor's PID and mount namespace, without limits.) The
// supervisor watches memory, processes and processor time, waits, and
// writes how the learner ended to a pipe the grader reads. When it exits,
// the kernel kills every process left in the namespace, and the network
// namespace, with every socket in it, goes away.
//
// Where namespaces are not used, the supervisor still runs: it sets the
// limits, watches, and, being the child subreaper of everything the
// learner starts, kills the whole tree at the end.

const (
	initCommand = "sandbox-init" // the supervisor
	execCommand = "sandbox-exec" // sets up the learner's process and becomes it

	insideDir  = "/tmp/udpbook" // where the learner sees its executable and its report
	insideWork = "/tmp/work"    // the learner's working folder
	insideHome = "/tmp/home"    // the learner's HOME

	// nobody is the user and group the learner's processes are, outside
	// the sandbox, when the grader runs as root: mapping root to root
	// would give the learner's code root's rights over every file it can
	// see.
	nobody = 65534

	pollEvery = 50 * time.Millisecond
)

func init() {
	// The hidden subcommands run before anything else in the grader, and
	// before the tests when the grader's own test binary is started so.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case initCommand:
			os.Exit(sandboxInit(os.Args[2:]))
		case execCommand:
			os.Exit(sandboxExec(os.Args[2:]))
		}
	}
}

// initConfig is what the grader tells the supervisor, and the supervisor
// the learner's set-up.
type initConfig struct {
	Namespaces bool     // false: no sandbox, only the supervisor
	Probe      bool     // set everything up, then exit without running a learner
	Binary     string   // the learner's executable, as the grader sees it
	Report     string   // the report file, as the grader sees it ("" for none)
	Args       []string // the learner's arguments
	Env        []string // the learner's environment
	Dir        string   // the learner's working folder without namespaces
	Files      int      // descriptors 4... of the supervisor that are the learner's 3...
	Limits     Limits
	Race       bool
	Judge      *judgeConfig `json:",omitempty"`
	Hide       []string     // folders the learner sees empty: /run and the grader's HOME

	// For `udpbook sandbox-exec`: which process to become, and the
	// descriptor on which to say why it could not.
	Role    string `json:",omitempty"` // "learner" (the default) or "judge"
	SetupFD int    `json:",omitempty"`
}

// judgeConfig is the judge's part of initConfig.
type judgeConfig struct {
	Self      bool   // the judge is the grader's own program
	Binary    string // otherwise, the judge's program, as the grader sees it
	Args      []string
	Env       []string
	Dir       string
	Files     int // the supervisor's descriptors after the learner's are the judge's 3...
	Stdout    int // the supervisor's descriptor for the judge's output
	Stderr    int
	ReadyFrom int // the judge's descriptor to close when the learner may start
}

// initStatus is what the supervisor writes to the grader on descriptor 3
// before it exits.
type initStatus struct {
	Error   string `json:",omitempty"` // the sandbox could not be set up
	Outcome Outcome
}

// probeSandbox sets a sandbox up and takes it down, and says whether that
// worked, and if not, why.
func probeSandbox() SandboxStatus {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	_, err := startInit(ctx, initConfig{Namespaces: true, Probe: true, Hide: hiddenDirs()}, nil, io.Discard, &stderr)
	if err != nil {
		return SandboxStatus{Why: refusal(err)}
	}
	return SandboxStatus{On: true}
}

// refusal explains why the kernel refused the sandbox, with what to do
// about it where that is known.
func refusal(err error) string {
	why := err.Error()
	if b, _ := os.ReadFile("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); strings.TrimSpace(string(b)) == "1" && os.Geteuid() != 0 {
		why += " (AppArmor restricts unprivileged user namespaces here: " +
			"sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 lifts it)"
	} else if b, _ := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); strings.TrimSpace(string(b)) == "0" && os.Geteuid() != 0 {
		why += " (unprivileged user namespaces are turned off: sudo sysctl -w kernel.unprivileged_userns_clone=1)"
	} else if b, _ := os.ReadFile("/proc/sys/user/max_user_namespaces"); strings.TrimSpace(string(b)) == "0" {
		why += " (user.max_user_namespaces is 0)"
	}
	return why
}

func runSandboxed(ctx context.Context, spec Spec) (Outcome, error) {
	return runSupervised(ctx, spec, true)
}

func runPlain(ctx context.Context, spec Spec) (Outcome, error) {
	return runSupervised(ctx, spec, false)
}

func runSupervised(ctx context.Context, spec Spec, namespaces bool) (Outcome, error) {
	m := spec.Learner
	cfg := initConfig{
		Namespaces: namespaces, Binary: m.Path, Report: spec.Report, Args: m.Args,
		Dir: m.Dir, Files: len(m.Files), Limits: spec.Limits, Race: spec.Race, Hide: hiddenDirs(),
	}
	report := spec.Report
	if namespaces && report != "" {
		report = insideDir + "/report.jsonl"
		if err := shareWithLearner(spec); err != nil {
			return Outcome{}, err
		}
	}
	var env []string
	if namespaces {
		env = append(sandboxEnv(), m.Env...)
	} else {
		env = withEnv(os.Environ(), m.Env)
	}
	if spec.Judge == nil && report != "" {
		env = append(env, harness.ReportEnv+"="+report)
	}
	cfg.Env = env
	files := m.Files
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	if j := spec.Judge; j != nil {
		jc := &judgeConfig{Binary: j.Path, Args: j.Args, Dir: j.Dir, Files: len(j.Files)}
		if self, err := os.Executable(); err == nil && self == j.Path {
			jc.Self = true
		}
		jc.Env = withEnv(os.Environ(), j.Env)
		if report != "" {
			jc.Env = append(jc.Env, harness.ReportEnv+"="+report)
		}
		files = append(append([]*os.File(nil), m.Files...), j.Files...)
		// The judge's output goes through pipes of its own, not mixed
		// with the learner's; one pipe where both go to one writer, as
		// os/exec does.
		pipe := func(w io.Writer) (int, error) {
			if w == nil {
				return 0, nil // none: /dev/null
			}
			r, pw, err := os.Pipe()
			if err != nil {
				return 0, fmt.Errorf("sandbox: %w", err)
			}
			copied := make(chan struct{})
			go func() {
				io.Copy(w, r)
				close(copied)
			}()
			closers = append(closers, func() {
				pw.Close()
				select {
				case <-copied:
				case <-time.After(time.Second):
				}
				r.Close()
			})
			files = append(files, pw)
			return 3 + len(files), nil
		}
		var err error
		if jc.Stdout, err = pipe(j.Stdout); err != nil {
			return Outcome{}, err
		}
		jc.Stderr = jc.Stdout
		if j.Stderr != j.Stdout {
			if jc.Stderr, err = pipe(j.Stderr); err != nil {
				return Outcome{}, err
			}
		}
		cfg.Judge = jc
	}
	return startInit(ctx, cfg, files, m.Stdout, m.Stderr)
}

// hiddenDirs returns the folders whose contents the learner's code does
// not see in the sandbox: /run, with the sockets of the system's and the
// user's services (a socket can be connected to on a read-only mount), and
// the grader's HOME, with the user's files and agents' sockets.
func hiddenDirs() []string {
	dirs := []string{"/run"}
	if home, err := os.UserHomeDir(); err == nil && filepath.IsAbs(home) && filepath.Clean(home) != "/" {
		dirs = append(dirs, filepath.Clean(home))
	}
	return dirs
}

// sandboxEnv returns the environment a learner's process starts from in
// the sandbox: none of the grader's variables but PATH and the locale, a
// private HOME and TMPDIR, and no Go environment file.
func sandboxEnv() []string {
	env := []string{"HOME=" + insideHome, "TMPDIR=/tmp", "GOENV=off", "USER=learner"}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "PATH" || name == "LANG" || strings.HasPrefix(name, "LC_") {
			env = append(env, kv)
		}
	}
	return env
}

// shareWithLearner lets the supervisor, which is the learner's user,
// reach the learner's executable and report: the folders that hold them
// become traversable (not readable), and the report the learner's.
func shareWithLearner(spec Spec) error {
	if spec.Report != "" {
		f, err := os.OpenFile(spec.Report, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("sandbox: create the report: %w", err)
		}
		f.Close()
	}
	uid, gid := learnerIDs()
	paths := []string{spec.Learner.Path, spec.Report}
	if spec.Judge != nil {
		if self, _ := os.Executable(); spec.Judge.Path != self {
			paths = append(paths, spec.Judge.Path)
		}
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := os.Chmod(filepath.Dir(p), 0o711); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	if spec.Report != "" && os.Geteuid() == 0 {
		if err := os.Chown(spec.Report, uid, gid); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	return nil
}

// learnerIDs returns the user and group that the learner's processes are
// outside the sandbox: the grader's own, or nobody's when the grader is
// root.
func learnerIDs() (uid, gid int) {
	if os.Geteuid() == 0 {
		return nobody, nobody
	}
	return os.Geteuid(), os.Getegid()
}

// startInit starts the supervisor with cfg, waits for it, and returns the
// outcome it reports. When ctx ends, the supervisor is killed (with the
// namespace) or told to kill its tree and exit (without).
func startInit(ctx context.Context, cfg initConfig, files []*os.File, stdout, stderr io.Writer) (Outcome, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return Outcome{}, err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return Outcome{}, fmt.Errorf("sandbox: %w", err)
	}
	defer statusR.Close()
	cmd := exec.CommandContext(ctx, "/proc/self/exe", initCommand, string(b))
	cmd.Args[0] = "udpbook"
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = append([]*os.File{statusW}, files...)
	cmd.WaitDelay = 2 * time.Second
	if cfg.Namespaces {
		uid, gid := learnerIDs()
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID |
				syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}},
			Credential:  &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
			Setsid:      true,
			Pdeathsig:   syscall.SIGKILL,
		}
		// Killing the supervisor ends the PID namespace, and with it
		// every process in the sandbox.
		cmd.Cancel = func() error { return cmd.Process.Kill() }
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		// The supervisor kills its whole tree on SIGTERM; WaitDelay
		// kills it if it does not.
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	}
	if err := cmd.Start(); err != nil {
		statusW.Close()
		return Outcome{}, fmt.Errorf("start the sandbox: %w", err)
	}
	statusW.Close()
	// The lesson's processes have their descriptors now; the copies kept
	// here would hide from each that the other has gone.
	for _, f := range files {
		f.Close()
	}
	waitErr := cmd.Wait()
	statusR.SetReadDeadline(time.Now().Add(time.Second))
	raw, _ := io.ReadAll(io.LimitReader(statusR, 1<<20))
	var st initStatus
	if len(raw) == 0 || json.Unmarshal(raw, &st) != nil {
		if ctx.Err() != nil {
			return Outcome{Exited: true, Code: -1, Signal: "killed"}, nil
		}
		if cfg.Probe {
			return Outcome{}, fmt.Errorf("the sandbox's supervisor failed: %v: %s", waitErr, strings.TrimSpace(fmt.Sprint(stderr)))
		}
		// The supervisor died without a word: as good as a crash.
		return Outcome{Exited: true, Code: -1, Signal: fmt.Sprint(waitErr)}, nil
	}
	if st.Error != "" {
		return Outcome{}, errors.New(st.Error)
	}
	return st.Outcome, nil
}

// sandboxedProgram is where a process in the sandbox finds the learner's
// executable bin.
func sandboxedProgram(bin string) string { return insideDir + "/" + filepath.Base(bin) }
