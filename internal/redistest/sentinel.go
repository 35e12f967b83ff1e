package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// SentinelOptions configure a set of sentinels.
type SentinelOptions struct {
	// MasterName is the name the sentinels monitor the master under; "mymaster" when empty.
	MasterName string
	// Password, when set, is required from the sentinels' clients and used between sentinels.
	Password string
	// MasterPassword is the password of the master and its replicas.
	MasterPassword string
	// Replicas is how many replicas the sentinels must know before StartSentinels returns.
	Replicas int
	// TLS, when set, makes the sentinels speak only TLS, to their clients, to each other and
	// to the master and replicas (which StartReplicatedTLS starts).
	TLS *SentinelTLS
}

// SentinelTLS is the certificate the sentinels present and the CA they trust.
type SentinelTLS struct {
	CA   *CA
	Cert Cert
}

// Sentinels is a set of redis-sentinel processes watching one master. They declare the
// master down after one second without an answer, so a failover takes seconds.
type Sentinels struct {
	MasterName string
	// Addrs are the sentinels' host:port addresses on 127.0.0.1.
	Addrs []string

	t     testing.TB
	opt   SentinelOptions
	tls   *tls.Config
	procs []*process
}

// StartSentinels starts n sentinels (a majority of them is the quorum) watching the master at
// masterAddr, waits until they know each other and opt.Replicas replicas, and stops them when
// the test ends. Start the replicas, and let them sync, before the sentinels: a sentinel asks
// the master for its replicas once at start, and then only every ten seconds.
func StartSentinels(t testing.TB, n int, masterAddr string, opt SentinelOptions) *Sentinels {
	t.Helper()
	program := testenv.Program(t, "redis-sentinel")
	if opt.MasterName == "" {
		opt.MasterName = "mymaster"
	}
	host, port, _ := strings.Cut(masterAddr, ":")
	s := &Sentinels{MasterName: opt.MasterName, t: t, opt: opt}
	t.Cleanup(s.stop)
	for range n {
		dir := t.TempDir()
		addr := testenv.Addr(t)
		p := testenv.Port(addr)
		conf := []string{"port " + p}
		if opt.TLS != nil {
			s.tls = opt.TLS.CA.clientConfig(t, opt.TLS.Cert)
			conf = []string{
				"port 0", "tls-port " + p,
				"tls-cert-file " + opt.TLS.Cert.CertFile, "tls-key-file " + opt.TLS.Cert.KeyFile,
				"tls-ca-cert-file " + opt.TLS.CA.CertFile, "tls-auth-clients no",
				// Also what makes a sentinel reach the master, the replicas and the other
				// sentinels over TLS.
				"tls-replication yes",
			}
		}
		conf = append(conf,
			"bind 127.0.0.1",
			"daemonize no",
			"dir "+dir,
			"logfile "+filepath.Join(dir, "sentinel.log"),
			fmt.Sprintf("sentinel monitor %s %s %s %d", opt.MasterName, host, port, n/2+1),
			fmt.Sprintf("sentinel down-after-milliseconds %s 1000", opt.MasterName),
			// Also the wait before a new attempt after a failed election: keep it short.
			fmt.Sprintf("sentinel failover-timeout %s 3000", opt.MasterName),
		)
		if opt.MasterPassword != "" {
			conf = append(conf, fmt.Sprintf("sentinel auth-pass %s %s", opt.MasterName, opt.MasterPassword))
		}
		if opt.Password != "" {
			conf = append(conf, "requirepass "+opt.Password, "sentinel sentinel-pass "+opt.Password)
		}
		// A sentinel rewrites its config file, so each gets a writable one of its own.
		file := writeFile(t, dir, "sentinel.conf", []byte(strings.Join(conf, "\n")+"\n"))
		s.Addrs = append(s.Addrs, addr)
		proc, err := spawn(program, []string{file}, filepath.Join(dir, "sentinel.log"))
		if err != nil {
			t.Fatal(err)
		}
		s.procs = append(s.procs, proc)
	}
	s.waitReady(n)
	return s
}

// waitReady waits until every sentinel knows all the others and the replicas: only then can
// they agree that the master is down and elect a leader for the failover.
func (s *Sentinels) waitReady(n int) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i, addr := range s.Addrs {
		c := s.client(addr)
		for {
			m, err := c.Master(context.Background(), s.MasterName).Result()
			if err == nil && m["num-other-sentinels"] == strconv.Itoa(n-1) && m["num-slaves"] == strconv.Itoa(s.opt.Replicas) {
				break
			}
			if exited := s.procs[i].exited("redis-sentinel"); exited != nil {
				s.t.Fatal(exited)
			}
			if time.Now().After(deadline) {
				_ = c.Close()
				s.t.Fatalf("sentinel %s not ready within 30s: %v %v", addr, m, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = c.Close()
	}
}

// MasterAddr returns the master's address according to the first sentinel that answers.
func (s *Sentinels) MasterAddr(ctx context.Context) (string, error) {
	var errs []string
	for _, addr := range s.Addrs {
		c := s.client(addr)
		parts, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
		_ = c.Close()
		if err == nil {
			return parts[0] + ":" + parts[1], nil
		}
		errs = append(errs, err.Error())
	}
	return "", fmt.Errorf("no sentinel named the master: %s", strings.Join(errs, "; "))
}

// WaitForFailover waits until the sentinels name a master other than old and it accepts
// writes, and returns its address.
func (s *Sentinels) WaitForFailover(old string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		addr, err := s.MasterAddr(context.Background())
		if err == nil && addr != old {
			c := redis.NewClient(&redis.Options{Addr: addr, Password: s.opt.MasterPassword, MaxRetries: -1, TLSConfig: s.tls})
			role, roleErr := c.Do(context.Background(), "ROLE").Slice()
			_ = c.Close()
			if roleErr == nil && len(role) > 0 && role[0] == "master" {
				return addr
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no failover away from %s within %s (last answer %q, %v)", old, timeout, addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Sentinels) client(addr string) *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: addr, Password: s.opt.Password, MaxRetries: -1, TLSConfig: s.tls})
}

// TLSConfig is how a client reaches the sentinels, and the servers they watch, over TLS; nil
// without TLS.
func (s *Sentinels) TLSConfig() *tls.Config { return s.tls }

func (s *Sentinels) stop() {
	for _, p := range s.procs {
		p.kill()
	}
}

// StartReplicated starts a master and n replicas of it, all with the extra directives (give
// "--masterauth" along with "--requirepass"), and waits until the replicas have synced.
func StartReplicated(t testing.TB, n int, args ...string) (master *Server, replicas []*Server) {
	t.Helper()
	// Without this the master waits five seconds for more replicas before the first sync.
	master = Start(t, append([]string{"--repl-diskless-sync-delay", "0"}, args...)...)
	host, port, _ := strings.Cut(master.Addr, ":")
	for range n {
		r := Start(t, append([]string{"--replicaof", host, port}, args...)...)
		r.WaitForSync()
		replicas = append(replicas, r)
	}
	return master, replicas
}

// StartReplicatedTLS is StartReplicated with servers that speak only TLS, replication
// included, presenting cert and trusting ca. They ask no client certificate.
func StartReplicatedTLS(t testing.TB, ca *CA, cert Cert, n int, args ...string) (master *Server, replicas []*Server) {
	t.Helper()
	args = append([]string{"--tls-auth-clients", "no", "--tls-replication", "yes"}, args...)
	master = StartTLS(t, ca, cert, append([]string{"--repl-diskless-sync-delay", "0"}, args...)...)
	host, port, _ := strings.Cut(master.Addr, ":")
	for range n {
		r := StartTLS(t, ca, cert, append([]string{"--replicaof", host, port}, args...)...)
		r.WaitForSync()
		replicas = append(replicas, r)
	}
	return master, replicas
}

// WaitForSync waits until the server, a replica, has completed its initial sync with its
// master.
func (s *Server) WaitForSync() {
	s.t.Helper()
	c := s.Client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := c.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s did not sync with its master within 30s: %v\n%s", s, err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
