package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// profileSeconds is how long a CPU profile of a run's load phase lasts: shorter than the load
// phase of the default -records at the collector's speeds on a 2-core machine.
const profileSeconds = "2"

// profile starts a CPU profile of the collector into dir/name through its pprof extension and
// returns where its outcome arrives; without a dir it takes none.
func (s *stack) profile(ctx context.Context, dir, name string) <-chan error {
	done := make(chan error, 1)
	if dir == "" {
		done <- nil
		return done
	}
	go func() { done <- s.writeProfile(ctx, filepath.Join(dir, name)) }()
	return done
}

func (s *stack) writeProfile(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	url := "http://" + s.pprof + "/debug/pprof/profile?seconds=" + profileSeconds
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
