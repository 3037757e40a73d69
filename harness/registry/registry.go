// Package registry lists udpbook's lessons for the grader: where each one
// lives, the test that grades it and its checks.
package registry

import (
	"path"

	"udpbook/harness"
	"udpbook/harness/lesson01"
	"udpbook/harness/lesson02"
	"udpbook/harness/lesson03"
	"udpbook/harness/lesson04"
	"udpbook/harness/lesson05"
	"udpbook/harness/lesson06"
	"udpbook/harness/lesson07"
	"udpbook/harness/remote"
)

// Lesson describes one lesson.
type Lesson struct {
	Number string // "01"
	Slug   string // "echo-server"
	Title  string // "echo server"
	Test   string // the test function that grades it
	Checks []harness.CheckInfo
}

// Name returns the lesson's folder name, "01-echo-server".
func (l Lesson) Name() string { return l.Number + "-" + l.Slug }

// Dir returns the learner's folder, relative to the workbook's root.
func (l Lesson) Dir() string { return path.Join("lessons", l.Name()) }

// SolutionDir returns the reference solution's folder.
func (l Lesson) SolutionDir() string { return path.Join("solutions", l.Name()) }

// Doc returns the lesson's chapter.
func (l Lesson) Doc() string { return path.Join("docs", l.Name()+".md") }

// Points returns the most points the lesson can give.
func (l Lesson) Points() int {
	total := 0
	for _, c := range l.Checks {
		total += c.Points
	}
	return total
}

// all lists every lesson, written or not.
var all = []Lesson{
	{"01", "echo-server", "echo server", "TestEchoServer", lesson01.Suite.Info()},
	{"02", "echo-client", "echo client", "TestEchoClient", lesson02.Suite.Info()},
	{"03", "connected-udp", "connected UDP", "TestConnectedUDP", lesson03.Suite.Info()},
	{"04", "adopted-socket", "adopted socket", "TestAdoptedSocket", lesson04.Suite.Info()},
	{"05", "chat", "chat with heartbeats", "TestChat", lesson05.Suite.Info()},
	{"06", "multicast", "multicast", "TestMulticast", lesson06.Suite.Info()},
	{"07", "reliable", "reliable delivery", "TestReliable", lesson07.Suite.Info()},
}

// Lessons returns the lessons that are written (that have checks), in
// order.
func Lessons() []Lesson {
	var ls []Lesson
	for _, l := range all {
		if len(l.Checks) > 0 {
			ls = append(ls, l)
		}
	}
	return ls
}

// judges lists the lessons whose checks run in a judge process of their
// own, against the learner's code in a driver process (see package
// remote). The others are graded in one process.
var judges = map[string]func(*remote.Client) error{
	"01": lesson01.Judge,
	"02": lesson02.Judge,
	"03": lesson03.Judge,
	"04": lesson04.Judge,
	"05": lesson05.Judge,
	"06": lesson06.Judge,
	"07": lesson07.Judge,
}

// Judge returns the function that runs lesson number's checks in a judge
// process, or nil if the lesson is graded in one process.
func Judge(number string) func(*remote.Client) error { return judges[number] }
