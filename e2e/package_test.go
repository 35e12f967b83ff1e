package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

const (
	unitPath = "/usr/lib/systemd/system/otelcol-plumelog.service"
	envPath  = "/etc/otelcol-plumelog/otelcol-plumelog.env"
	confPath = "/etc/otelcol-plumelog/config.yaml"
)

// builtPackage returns the one package matching pattern in $PLUMELOG_PACKAGES, which
// `make test` fills with `make package`.
func builtPackage(t *testing.T, pattern string) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(binary(t, "PLUMELOG_PACKAGES"), pattern))
	require.NoError(t, err)
	require.Len(t, matches, 1, "packages matching %s", pattern)
	return matches[0]
}

// run runs a command and returns its combined output, failing the test when it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// dpkgRoot installs the .deb into a throwaway root with dpkg, running its maintainer scripts
// against that root (DPKG_ROOT), and returns the root.
func dpkgRoot(t *testing.T, deb string) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var/lib/dpkg/info"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var/lib/dpkg/updates"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644))
	run(t, "dpkg", "--root="+root, "--force-script-chrootless", "--log=/dev/null", "-i", deb)
	return root
}

// envFile reads KEY=value lines, as systemd's EnvironmentFile= does for this simple file.
func envFile(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var env []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			env = append(env, line)
		}
	}
	require.NoError(t, sc.Err())
	return env
}

// TestDebPackage installs the .deb into a throwaway root: the binary, the unit, the default
// config and the environment file land where the unit expects them, the service user is
// created, nothing enables the service, the installed binary validates the installed config,
// and systemd accepts the unit; removing keeps the config, purging removes it.
func TestDebPackage(t *testing.T) {
	testenv.Program(t, "dpkg")
	deb := builtPackage(t, "otelcol-plumelog_*.deb")
	root := dpkgRoot(t, deb)

	conffiles := run(t, "dpkg-query", "--admindir="+filepath.Join(root, "var/lib/dpkg"), "-W", "-f=${Conffiles}", "otelcol-plumelog")
	assert.Contains(t, conffiles, confPath+" ")
	assert.Contains(t, conffiles, envPath+" ")
	env, err := os.Stat(filepath.Join(root, envPath))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), env.Mode().Perm(), "the environment file holds secrets")

	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	require.NoError(t, err)
	assert.Contains(t, string(passwd), "otelcol-plumelog:x:", "the service user, in the package's root only")
	wants, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.wants/otelcol-plumelog.service"))
	assert.Empty(t, wants, "installing does not enable the service")
	postinst := run(t, "dpkg-deb", "-I", deb, "postinst")
	assert.False(t, startsService(postinst), "installing neither enables nor starts the service:\n%s", postinst)

	bin := filepath.Join(root, "usr/bin/otelcol-plumelog")
	require.NoError(t, otelcoltest.Validate(bin, filepath.Join(root, confPath), envFile(t, filepath.Join(root, envPath))))

	verifyUnit(t, root)

	run(t, "dpkg", "--root="+root, "--force-script-chrootless", "--log=/dev/null", "-r", "otelcol-plumelog")
	assert.NoFileExists(t, bin)
	assert.FileExists(t, filepath.Join(root, confPath), "remove keeps the config")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var/lib/otelcol-plumelog/queue"), 0o755))
	run(t, "dpkg", "--root="+root, "--force-script-chrootless", "--log=/dev/null", "-P", "otelcol-plumelog")
	assert.NoFileExists(t, filepath.Join(root, confPath), "purge removes the config")
	assert.NoDirExists(t, filepath.Join(root, "var/lib/otelcol-plumelog"), "purge removes the state")
}

// verifyUnit runs systemd-analyze verify on the installed unit inside root, which needs the
// system's targets the unit depends on; any warning fails the test.
func verifyUnit(t *testing.T, root string) {
	t.Helper()
	testenv.Program(t, "systemd-analyze")
	targets, err := filepath.Glob("/lib/systemd/system/*.target")
	require.NoError(t, err)
	require.NotEmpty(t, targets)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "lib/systemd/system"), 0o755))
	for _, target := range targets {
		dst := filepath.Join(root, target)
		if fileExists(dst) {
			continue
		}
		if link, err := os.Readlink(target); err == nil {
			require.NoError(t, os.Symlink(link, dst))
			continue
		}
		raw, err := os.ReadFile(target)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(dst, raw, 0o644))
	}
	out := run(t, "systemd-analyze", "verify", "--root="+root, unitPath)
	assert.Empty(t, out, "systemd-analyze verify")
}

// startsService says whether a maintainer script runs a command that enables or starts a unit
// (an upgrade's try-restart is fine: it restarts only a service the admin runs).
func startsService(script string) bool {
	for _, line := range strings.Split(script, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "systemctl" && (f[1] == "enable" || f[1] == "start" || f[1] == "restart") {
			return true
		}
	}
	return false
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// TestRpmPackage checks the .rpm's files, config files and scriptlets with rpm.
func TestRpmPackage(t *testing.T) {
	testenv.Program(t, "rpm")
	rpm := builtPackage(t, "otelcol-plumelog-*.rpm")

	files := run(t, "rpm", "-qpl", rpm)
	for _, f := range []string{"/usr/bin/otelcol-plumelog", unitPath, confPath, envPath, "/usr/lib/sysusers.d/otelcol-plumelog.conf"} {
		assert.Contains(t, strings.Fields(files), f)
	}
	assert.ElementsMatch(t, []string{confPath, envPath}, strings.Fields(run(t, "rpm", "-qpc", rpm)), "config files")
	scripts := run(t, "rpm", "-qp", "--scripts", rpm)
	assert.Contains(t, scripts, "postinstall scriptlet")
	assert.Contains(t, scripts, "preuninstall scriptlet")
	assert.False(t, startsService(scripts), "installing neither enables nor starts the service:\n%s", scripts)
	info := run(t, "rpm", "-qpi", rpm)
	assert.Contains(t, info, "Name        : otelcol-plumelog")
}
