# udpbook: a workbook of UDP socket programming in Go.
#
#   make check               grade every lesson (LESSON=02 grades one;
#                            STRICT=1 fails unless every lesson is done)
#   make test                the workbook's own test: harness self-tests,
#                            every solution at 100% with -race, every stub
#                            failing cleanly, gofmt and go vet
#   make stress              the solutions' suites 100 times with -race while
#                            busy loops load every core (RUNS=n to change)
#   make concurrency         8 full gradings at once must agree
#   make overload            25 rounds of 8 gradings at once with busy loops
#                            on every core: correct code never fails
#   make mutants             mutation testing of the solutions (gremlins):
#                            every mutant that still passes must be listed
#                            as equivalent (LESSON=05 for one)
#   make noipv6              the self-tests on a host without IPv6 (a network
#                            namespace with IPv6 off on lo): checks that
#                            need it skip, saying why (ALL=1: every self-test)
#   make timing              how long grading every lesson takes
#   make pristine            (workbook authors) refresh the grader's copies
#                            of the lessons and the harness after a change
#
# Everything runs on the loopback interface, on ports the kernel picks.

GO     ?= go
LESSON ?=
GRADER := .udpbook/udpbook
# Packages with tests that must pass: everything but the learner's stubs,
# which fail until they are written.
SELF_TESTED = $$($(GO) list ./... | grep -v '^udpbook/lessons/')

.PHONY: check test fmt vet grader pristine stress concurrency overload timing mutants noipv6

# A lesson that is not done yet is not an error of make: check ends with
# status 0 once grading ran, and the table says what is left. STRICT=1 makes
# it fail (status 1) unless every lesson graded is done, for scripts and CI.
check: grader
	@$(GRADER) check $(if $(REPORT),-json $(REPORT)) $(if $(JUNIT),-junit $(JUNIT)) $(LESSON); \
	status=$$?; if [ $$status -eq 1 ] && [ -z "$(STRICT)" ]; then exit 0; fi; exit $$status

grader:
	@mkdir -p .udpbook
	@test -x $(GRADER) || echo "udpbook: building the grader (the first time takes about a minute on a small machine)" >&2
	@$(GO) build -o $(GRADER) ./harness/cmd/udpbook

test: fmt vet
	$(GO) test -race -count=1 -timeout 20m $(SELF_TESTED)

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The workbook must build everywhere a learner might be; checks that cannot
# run on a system skip with the reason.
vet:
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) vet ./...

pristine:
	$(GO) test ./harness/pristine -run TestCopiesMatchTheWorkbook -update

stress:
	bash .ci/stress

concurrency:
	bash .ci/concurrency

overload:
	bash .ci/overload

timing:
	bash .ci/timing

mutants:
	bash .ci/mutants $(LESSON)

noipv6:
	bash .ci/noipv6 $(if $(ALL),all)
