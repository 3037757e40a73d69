package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Judge runs every check against impl, a proxy for the learner's code that
// runs in a driver process, and appends the results to the report file
// named by ReportEnv, signed as Run signs them. The judge process holds the
// key; the learner's process never does.
//
// Each check is bracketed by h.Begin and h.End; what the driver reports at
// the end (a data race, a call that panicked or never returned normally)
// can only fail a check that passed, never pass one that failed. When the
// driver is lost, Judge returns at once, leaving the running check started
// and not ended in the report, as a crashed test binary does.
func (s *Suite[I]) Judge(impl I, h JudgeHooks) error {
	rep, err := openJudgeReport(os.Getenv(ReportEnv))
	if err != nil {
		return err
	}
	defer rep.close()
	for _, ch := range s.Checks {
		if h.Lost() {
			return nil
		}
		rep.write(reportLine{Event: "start", ID: ch.ID})
		if err := h.Begin(ch.ID); err != nil {
			return nil // lost
		}
		res := RunCheck(ch.ID, CheckBound, func(c *C) {
			h.Check(c.Context())
			ch.Run(c, impl)
		})
		problems, err := h.End(ch.ID)
		if err != nil || h.Lost() {
			return nil
		}
		if res.Status == Pass && len(problems) > 0 {
			res.Status = Fail
			res.Message = strings.Join(problems, "\n")
		}
		rep.write(reportLine{Event: "end", ID: ch.ID, Status: res.Status, Message: res.Message,
			Millis: float64(res.Duration.Microseconds()) / 1000, Attempts: res.Attempts, Scale: res.Scale, Late: res.Late})
	}
	return nil
}

// judgeReport is the judge's report file.
type judgeReport struct {
	mu sync.Mutex
	f  *os.File
}

func openJudgeReport(name string) (*judgeReport, error) {
	if name == "" {
		return &judgeReport{}, nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open report file: %w", err)
	}
	return &judgeReport{f: f}, nil
}

func (r *judgeReport) write(line reportLine) {
	if r.f == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if reportKey != nil {
		line.MAC = Sign(reportKey, line)
	}
	b, _ := json.Marshal(line)
	r.f.Write(append(b, '\n'))
}

func (r *judgeReport) close() {
	if r.f != nil {
		r.f.Close()
	}
}
