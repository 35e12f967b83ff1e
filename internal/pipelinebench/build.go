package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// binary is a built distribution under measurement.
type binary struct {
	Name string `json:"name"` // "current" or "baseline"
	Rev  string `json:"rev"`  // the commit it was built from, "-dirty" with uncommitted changes
	Path string `json:"path"`
}

// collectorPath is where `make build` puts the distribution, relative to a checkout.
const collectorPath = "build/otelcol-plumelog/otelcol-plumelog"

// buildCurrent builds the checkout at root with `make build` and copies the binary into out,
// where later builds cannot replace it during the runs.
func buildCurrent(root, out string) (binary, error) {
	rev, err := revision(root, "HEAD")
	if err != nil {
		return binary{}, err
	}
	if dirty, err := git(root, "status", "--porcelain", "--untracked-files=no"); err != nil {
		return binary{}, err
	} else if dirty != "" {
		rev += "-dirty"
	}
	if err := run(root, "make", "build"); err != nil {
		return binary{}, err
	}
	return install(binary{Name: "current", Rev: rev}, filepath.Join(root, collectorPath), out)
}

// buildBaseline checks ref out into a temporary git worktree and builds it there the same way,
// with the ocb that building the current checkout installed, if it did.
func buildBaseline(root, ref, out string) (binary, error) {
	rev, err := revision(root, ref)
	if err != nil {
		return binary{}, err
	}
	tmp, err := os.MkdirTemp("", "pipelinebench-baseline-")
	if err != nil {
		return binary{}, err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	if _, err := git(root, "worktree", "add", "--detach", src, rev); err != nil {
		return binary{}, err
	}
	defer func() { _, _ = git(root, "worktree", "remove", "--force", src) }()
	args := []string{"build"}
	if ocb := filepath.Join(root, "bin", "builder"); exists(ocb) {
		args = append(args, "OCB="+ocb)
	}
	if err := run(src, "make", args...); err != nil {
		return binary{}, err
	}
	return install(binary{Name: "baseline", Rev: rev}, filepath.Join(src, collectorPath), out)
}

// useBinary measures a collector built elsewhere as the current code.
func useBinary(path, out string) (binary, error) {
	return install(binary{Name: "current", Rev: filepath.Base(path)}, path, out)
}

func install(b binary, built, out string) (binary, error) {
	b.Path = filepath.Join(out, "bin", b.Name, "otelcol-plumelog")
	if err := os.MkdirAll(filepath.Dir(b.Path), 0o755); err != nil {
		return b, err
	}
	src, err := os.Open(built)
	if err != nil {
		return b, err
	}
	defer src.Close()
	dst, err := os.OpenFile(b.Path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return b, err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return b, err
	}
	return b, dst.Close()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func revision(root, ref string) (string, error) {
	return git(root, "rev-parse", "--short", ref+"^{commit}")
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
}

// run runs a build command with its output on the benchmark's stderr.
func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s in %s: %w", name, strings.Join(args, " "), dir, err)
	}
	return nil
}
