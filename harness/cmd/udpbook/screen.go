package main

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"udpbook/harness/registry"
)

// What the build of a lesson's test contains, and why screening one folder
// is enough.
//
// The test binary of lesson NN is built from the lesson's test file and the
// packages udpbook/harness and udpbook/harness/lessonNN, all three always
// from the grader's pristine copies; from the standard library and the
// modules in go.mod; and from the lesson's own package, the only code the
// learner controls. A learner's package may import the standard library and
// modules, but no package of the workbook: not the harness or the solutions
// (they could hand out marks), not another lesson (its code would then be
// graded under this lesson's name, and a lesson blank-importing another
// could change the other's checks), not a sub-folder (the grader takes only
// the lesson folder's own files from a student's clone). So the learner's
// part of the build graph is exactly the lesson folder, and screening it
// covers the whole graph; TestGradedBuildGraph checks that the pristine part
// of the graph stays as described.
//
// Within the folder the build would compile C (cgo), assembly and other
// non-Go sources, and link .syso objects; each of these runs code before
// or outside the Go runtime's rules (a C constructor runs before the
// harness reads its key), so none is allowed.

// nonGoSources are the file name extensions that go build compiles or links
// into a package besides Go files.
var nonGoSources = map[string]string{
	".c": "C source", ".h": "a C header", ".cc": "C++ source", ".cpp": "C++ source", ".cxx": "C++ source",
	".hh": "a C++ header", ".hpp": "a C++ header", ".hxx": "a C++ header", ".m": "Objective-C source",
	".s": "assembly source", ".S": "assembly source", ".sx": "assembly source",
	".f": "Fortran source", ".F": "Fortran source", ".for": "Fortran source", ".f90": "Fortran source",
	".swig": "a SWIG interface", ".swigcxx": "a SWIG interface", ".syso": "an object file",
}

// screen returns why lesson l cannot be graded as it stands, or "": the
// folder whose Go files are graded is screened in full, and when those
// files are laid over another folder (-from, -solutions), that folder's
// non-Go sources too, since the build still sees them.
func (g *Grader) screen(l registry.Lesson) (string, error) {
	dir := g.learnerDir(l)
	why, err := screenDir(g.relRoot(dir), l, dir, true)
	if why != "" || err != nil {
		return why, err
	}
	if build := filepath.Join(g.Root, filepath.FromSlash(l.Dir())); build != dir {
		return screenDir(g.Root, l, build, false)
	}
	return "", nil
}

// relRoot returns the workbook folder that dir is in, for naming files in
// reasons: the student's clone under -from, the grader's workbook
// otherwise.
func (g *Grader) relRoot(dir string) string {
	if g.From != "" && strings.HasPrefix(dir, g.From) {
		return g.From
	}
	return g.Root
}

// screenDir screens the folder of lesson l. With goFiles, it reads the
// folder's non-test Go files too; test files are always replaced by the
// workbook's. Files are screened whatever their build constraints say: a
// file the build leaves out here may be built on another system.
func screenDir(root string, l registry.Lesson, dir string, goFiles bool) (string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return "", nil // the build will say the lesson is missing
	}
	if err != nil {
		return "", fmt.Errorf("screen %s: %w", dir, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	fset := token.NewFileSet()
	for _, name := range names {
		file := filepath.Join(dir, name)
		rel := relPath(root, file)
		if kind, ok := nonGoSources[filepath.Ext(name)]; ok {
			return fmt.Sprintf("%s is %s: a lesson's folder may hold only Go code, because the build would compile "+
				"or link this file into the graded test, where it could run outside Go's rules", rel, kind), nil
		}
		if !goFiles || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("screen %s: %w", rel, err)
		}
		if why := screenSource(fset, l, rel, src); why != "" {
			return why, nil
		}
	}
	return "", nil
}

// screenSource returns why the Go file rel, with content src, cannot be
// graded as part of lesson l, or "".
func screenSource(fset *token.FileSet, l registry.Lesson, rel string, src []byte) string {
	if strings.Contains(string(src), "go:linkname") {
		return fmt.Sprintf("%s uses go:linkname, which can reach into the grader; this workbook does not need it", rel)
	}
	// On a syntax error in the imports, the parser still returns those
	// before it; the compiler will say what is wrong with the rest.
	parsed, _ := parser.ParseFile(fset, rel, src, parser.ImportsOnly)
	if parsed == nil {
		return ""
	}
	for _, imp := range parsed.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		if why := forbiddenImport(l, p); why != "" {
			return fmt.Sprintf("%s imports %s: %s", rel, p, why)
		}
	}
	if strings.Contains(string(src), "#cgo") {
		return fmt.Sprintf("%s has a #cgo directive: a lesson's code may not use cgo", rel)
	}
	return ""
}

// forbiddenImport says why lesson l's code may not import the package p,
// or returns "".
func forbiddenImport(l registry.Lesson, p string) string {
	const allowed = "a lesson's code may use the standard library, golang.org/x/net and golang.org/x/sys, " +
		"but no package of the workbook"
	clean := path.Clean(p)
	switch {
	case p == "C":
		return "a lesson's code may not use cgo: C code runs outside Go's rules, before the test starts"
	case clean != p && (strings.HasPrefix(clean, "udpbook/") || clean == "udpbook"):
		return allowed
	case p == "udpbook/harness" || strings.HasPrefix(p, "udpbook/harness/"):
		return allowed + ": not the grader"
	case p == "udpbook/solutions" || strings.HasPrefix(p, "udpbook/solutions/"):
		return allowed + ": not the reference solutions"
	case p == "udpbook/"+l.Dir() || strings.HasPrefix(p, "udpbook/"+l.Dir()+"/"):
		return allowed + ": the grader takes only the Go files of the lesson's own folder, not of its sub-folders"
	case strings.HasPrefix(p, "udpbook/lessons/"):
		return allowed + ": each lesson is graded on its own folder, so not another lesson either " +
			"(copy what you need into this lesson's folder)"
	case p == "udpbook" || strings.HasPrefix(p, "udpbook/"):
		return allowed
	}
	return ""
}

func relPath(root, file string) string {
	rel, err := filepath.Rel(root, file)
	if err != nil || strings.HasPrefix(rel, "..") {
		return file
	}
	return filepath.ToSlash(rel)
}
