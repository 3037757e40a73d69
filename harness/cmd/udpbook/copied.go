package main

import (
	"crypto/sha256"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"udpbook/harness/pristine"
	"udpbook/harness/registry"
)

// How a copied solution is recognised.
//
// Every student's clone ships solutions/, so a lesson's folder may hold the
// reference solution, as it is or disguised: reformatted, comments
// dropped, identifiers renamed, declarations reordered or moved between
// files, dead code added. The grader compares the lesson's code with the
// reference declaration by declaration. Each top-level declaration (each
// spec of a var, const or type group) becomes a normalised token stream:
//
//   - no comments, no semicolons, no trailing commas, so layout does not
//     matter;
//   - a name qualified by an imported package stays, written with the
//     import path (pkg.Name with any alias becomes "net/netip".Addr);
//   - Go's predeclared names (int, len, nil, error...) stay;
//   - every other identifier becomes a placeholder numbered in order of
//     first use within the declaration, so renaming changes nothing;
//   - string literals become one placeholder, so rewording messages
//     changes nothing.
//
// The share of the reference copied is the part of its normalised tokens
// (declarations present in the stub left out: the stub hands those to
// everyone) whose declarations appear in the lesson's code. From copyShare
// up the lesson is flagged. A declaration matches only as a whole, so an
// independent correct implementation shares at most its one-line functions
// with the reference: far below the threshold.

// copyShare is the share of the reference's own code from which a lesson
// is flagged as copied.
const copyShare = 0.9

// Copy says that a lesson's code is the reference solution's, or another
// implementation's of the workbook.
type Copy struct {
	From      string  // the implementation's folder, "solutions/01-echo-server"
	Share     float64 // the share of the reference's own code found in the lesson, 0 to 1
	Identical bool    // every file of the reference is in the lesson byte for byte
}

func (c Copy) String() string {
	if c.Identical {
		return "copied from " + c.From + " (identical files)"
	}
	return fmt.Sprintf("copied from %s (%.0f%% of its code, the same after formatting and renaming)", c.From, 100*c.Share)
}

// copied compares lesson l's graded code with the implementations of the
// lesson in the grader's workbook, the reference solution and any other
// (harness/lessonNN/alt), and returns the best match, or nil when the
// lesson is not a copy, when the reference itself is graded (-solutions),
// or when there is nothing to compare (no reference, or a file that cannot
// be read: screening has said so already).
func (g *Grader) copied(l registry.Lesson) *Copy {
	if g.Solutions {
		return nil
	}
	mine, err := goFiles(g.learnerDir(l))
	if err != nil || len(mine) == 0 {
		return nil
	}
	stub := map[string][]byte{}
	for _, p := range pristine.Paths() {
		if path.Dir(p) == l.Dir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			stub[p], _ = pristine.File(p)
		}
	}
	mineD, stubD := fingerprint(mine), fingerprint(stub)
	var best *Copy
	for _, dir := range []string{l.SolutionDir(), "harness/lesson" + l.Number + "/alt"} {
		ref, err := goFiles(filepath.Join(g.Root, filepath.FromSlash(dir)))
		if err != nil || len(ref) == 0 {
			continue
		}
		share := copiedShare(fingerprint(ref), mineD, stubD)
		if share >= copyShare && (best == nil || share > best.Share) {
			best = &Copy{From: dir, Share: share, Identical: identical(ref, mine)}
		}
	}
	return best
}

// goFiles reads the non-test Go files of dir, by name.
func goFiles(dir string) (map[string][]byte, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		files[filepath.Base(name)] = b
	}
	return files, nil
}

// identical reports whether every file of ref is in mine with the same
// content, under any name.
func identical(ref, mine map[string][]byte) bool {
	have := map[string]bool{}
	for _, b := range mine {
		have[pristine.Digest(b)] = true
	}
	for _, b := range ref {
		if !have[pristine.Digest(b)] {
			return false
		}
	}
	return true
}

// decls is a package's normalised declarations: how many of each, by
// digest, and each one's size in tokens.
type decls struct {
	count map[[32]byte]int
	size  map[[32]byte]int
}

// copiedShare returns the share of ref's tokens, leaving out declarations
// the stub has, whose declarations appear in mine.
func copiedShare(ref, mine, stub decls) float64 {
	total, found := 0, 0
	left := map[[32]byte]int{}
	for d, n := range mine.count {
		left[d] = n
	}
	for d, n := range ref.count {
		if stub.count[d] > 0 {
			continue
		}
		for range n {
			total += ref.size[d]
			if left[d] > 0 {
				left[d]--
				found += ref.size[d]
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(found) / float64(total)
}

// fingerprint normalises the top-level declarations of a package's files.
// Files that do not parse give nothing.
func fingerprint(files map[string][]byte) decls {
	d := decls{count: map[[32]byte]int{}, size: map[[32]byte]int{}}
	for name, src := range files {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		imports := map[string]string{} // name in the file -> import path
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			local := importName(p)
			if imp.Name != nil {
				local = imp.Name.Name
			}
			imports[local] = p
		}
		tf := fset.File(f.Pos())
		for _, decl := range f.Decls {
			if gen, ok := decl.(*ast.GenDecl); ok {
				if gen.Tok == token.IMPORT {
					continue
				}
				for _, spec := range gen.Specs {
					add(d, gen.Tok.String(), normalise(tf, src, spec.Pos(), spec.End(), imports))
				}
				continue
			}
			add(d, "", normalise(tf, src, decl.Pos(), decl.End(), imports))
		}
	}
	return d
}

func add(d decls, prefix string, tokens []string) {
	if len(tokens) == 0 {
		return
	}
	sum := sha256.Sum256([]byte(prefix + " " + strings.Join(tokens, " ")))
	d.count[sum]++
	d.size[sum] = len(tokens)
}

// importName guesses the package name of an import path: its last
// element, without a major version suffix.
func importName(p string) string {
	base := path.Base(p)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" {
		base = path.Base(path.Dir(p))
	}
	if i := strings.IndexAny(base, ".-"); i > 0 {
		base = base[:i]
	}
	return base
}

var universe = func() map[string]bool {
	m := map[string]bool{"_": true}
	for _, name := range types.Universe.Names() {
		m[name] = true
	}
	return m
}()

// normalise returns the normalised tokens of src between from and to.
func normalise(tf *token.File, src []byte, from, to token.Pos, imports map[string]string) []string {
	start, end := tf.Offset(from), tf.Offset(to)
	part := src[start:end]
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(part)), part, nil, 0)
	type tok struct {
		t   token.Token
		lit string
	}
	var toks []tok
	for {
		_, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		if t == token.SEMICOLON {
			continue
		}
		toks = append(toks, tok{t, lit})
	}
	var out []string
	names := map[string]int{}
	for i, k := range toks {
		switch {
		case k.t == token.COMMA && i+1 < len(toks) &&
			(toks[i+1].t == token.RPAREN || toks[i+1].t == token.RBRACE || toks[i+1].t == token.RBRACK):
			// A trailing comma: gofmt adds one when a list spans lines.
		case k.t == token.IDENT && i > 0 && toks[i-1].t == token.PERIOD && i > 1 &&
			toks[i-2].t == token.IDENT && imports[toks[i-2].lit] != "":
			out = append(out, k.lit) // the name in another package
		case k.t == token.IDENT && imports[k.lit] != "" && i+1 < len(toks) && toks[i+1].t == token.PERIOD:
			out = append(out, strconv.Quote(imports[k.lit]))
		case k.t == token.IDENT && universe[k.lit]:
			out = append(out, k.lit)
		case k.t == token.IDENT:
			n, ok := names[k.lit]
			if !ok {
				n = len(names) + 1
				names[k.lit] = n
			}
			out = append(out, "$"+strconv.Itoa(n))
		case k.t == token.STRING:
			out = append(out, "STRING")
		case k.lit != "":
			out = append(out, k.lit)
		default:
			out = append(out, k.t.String())
		}
	}
	return out
}
