package harness

import (
	"os"
	"strings"
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
	rep, err := openReportFile(os.Getenv(ReportEnv))
	if err != nil {
		return err
	}
	defer rep.close()
	s.declare(rep)
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
