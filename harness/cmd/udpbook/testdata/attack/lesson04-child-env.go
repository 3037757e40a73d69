package adopt

import "os"

// Before the fix, the lesson's checks read this variable when they ran:
// set here, it made every check skip as if this were a child process, and
// the lesson was "done (14 skipped)".
func init() { os.Setenv("UDPBOOK_LESSON04_CHILD", "none") }
