// Package harness is the kit that udpbook's lessons grade themselves with:
// checks that run a learner's code against sockets the harness owns, on
// loopback, and say exactly what was sent, what came back and what was
// expected.
//
// # Checks and suites
//
// A lesson's suite is a list of checks, each a function of a *C and the
// lesson's Impl (a struct of the learner's functions):
//
//	var Suite = harness.Suite[Impl]{Checks: []harness.Check[Impl]{
//		{ID: "one-request", Points: 3, Title: "...", Hint: "...", Run: checkOneRequest},
//	}}
//
// The lesson's test file calls Suite.Run; the grader runs that test binary
// and reads one JSON line per check. A *C is to a check what a *testing.T
// is to a test: Fatalf ends it, Cleanup registers clean-ups, and
// require.NoError(c, err) works for set-up steps. RunCheck runs a check on a
// goroutine of its own, with a bound, and recovers panics.
//
// # Peers and the trace
//
// A Peer is a socket of the harness's on 127.0.0.1 or ::1, port 0. Every
// datagram a peer sends or receives is added to the check's trace, a
// numbered list that ends a failure message:
//
//	p := c.NewPeer("client A", "udp4")
//	p.Send(server, []byte("Michael"))
//	p.Expect(server, []byte("Hello, Michael!"), "reply")
//
// Name gives addresses names for the trace ("your server"). Drain returns
// what is waiting in a peer's socket without a deadline deciding when it is
// empty. A Relay stands between a client and a server and drops,
// duplicates, delays or reorders chosen datagrams, the same way every run.
//
// # The learner's code
//
// Short calls go through C.Call, which bounds them and turns a panic into a
// failure that names the call. Long-running ones (Serve, Join) go through
// C.Go: a panic shows the learner's file and line, and a return before the
// check expects one (Running.Expect) aborts every wait of the check at
// once, so a stub fails in milliseconds. After the call returns,
// LeftBehind finds the goroutines it left running, NewSockets the sockets
// it left open, and LearnerHolds whether it closed a socket the harness
// gave it.
//
// # Time
//
// Checks that judge durations say how late the harness itself may be
// (C.Timed), bound the intervals a verdict rests on (C.Span, C.Within) and
// scale every duration with C.Dur. An attempt in which the harness ran late
// is not judged: RunCheck tries again at twice the time scale. A verdict of
// slowness (C.Slow) is confirmed at the next scale before it counts. A busy
// machine therefore never fails correct code, and a wrong implementation
// fails at every scale.
//
// # Capabilities
//
// Some hosts have no IPv6 on loopback, or no multicast. A check calls
// C.Require(IPv6) before it needs it; where the host lacks it the check is
// skipped with the reason, never failed. WithoutEnv forces capabilities off
// for the workbook's own tests.
//
// # Self-tests
//
// A suite that passes a wrong implementation is the worst bug a grader can
// have, so every lesson proves its suite with a SelfTest: a table of every
// Promise its doc comments and chapter make, each with the checks that
// enforce it, and Broken implementations, each breaking one promise and
// failing its check for a stated reason. SelfTest.Run checks that the table
// is complete, that the reference passes, that the stub fails at once, that
// each broken implementation fails, and that timing checks retry when the
// harness is late.
//
// # Judge and driver
//
// When the grader runs a lesson, the checks run in a judge process and the
// learner's code in a driver process (package remote): Suite.Judge runs
// the checks against proxies, and SetProbe makes LeftBehind, NewSockets
// and LearnerHolds look at the driver's process. Nothing the learner's code
// does can reach the judge's memory.
package harness
