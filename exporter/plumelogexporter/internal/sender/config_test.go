package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"

	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

func validConfig() Config {
	return Config{DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second}
}

var checkRejects = []struct {
	name   string
	change func(*Config)
	want   string
}{
	{"blank endpoint", func(c *Config) { c.Endpoint = " " }, `"endpoint" " " is neither host:port, a unix socket path nor a redis://`},
	{"endpoint without port", func(c *Config) { c.Endpoint = "redis.internal" }, `"endpoint" "redis.internal" is neither host:port`},
	{"endpoint with several addresses", func(c *Config) { c.Endpoint = "a:6379,b:6379" }, `"endpoint" "a:6379,b:6379" holds several addresses`},
	{"endpoint and sentinel", func(c *Config) {
		c.Endpoint = "redis:6379"
		c.Sentinel = Sentinel{MasterName: "m", Addresses: []string{"s:26379"}}
	}, `"endpoint" must be empty with "sentinel"`},
	{"endpoint and cluster", func(c *Config) {
		c.Endpoint = "redis:6379"
		c.Cluster.Addresses = []string{"n:6379"}
	}, `"endpoint" must be empty with "cluster"`},
	{"sentinel and cluster", func(c *Config) {
		c.Sentinel = Sentinel{MasterName: "m", Addresses: []string{"s:26379"}}
		c.Cluster.Addresses = []string{"n:6379"}
	}, `"sentinel" and "cluster" exclude each other`},
	{"sentinel without master name", func(c *Config) { c.Sentinel.Addresses = []string{"s:26379"} }, `"sentinel::master_name" must be set`},
	{"sentinel password alone", func(c *Config) { c.Sentinel.Password = "x" }, `"sentinel::master_name" must be set`},
	{"master name without sentinels", func(c *Config) { c.Sentinel.MasterName = "m" }, `"sentinel::addresses" must list the sentinels`},
	{"sentinel addresses as one string", func(c *Config) {
		c.Sentinel = Sentinel{MasterName: "m", Addresses: []string{"s1:26379,s2:26379"}}
	}, `"sentinel::addresses" entry "s1:26379,s2:26379" is not host:port (one address per list entry)`},
	{"cluster address without port", func(c *Config) { c.Cluster.Addresses = []string{"n1:6379", "n2"} }, `"cluster::addresses" entry "n2" is not host:port`},
	{"cluster with a database", func(c *Config) {
		c.Cluster.Addresses = []string{"n:6379"}
		c.DB = 2
	}, `"db" must be 0 with "cluster"`},
	{"negative db", func(c *Config) { c.DB = -1 }, `"db" must not be negative`},
	{"negative dial timeout", func(c *Config) { c.DialTimeout = -time.Second }, `"dial_timeout" must not be negative`},
	{"read timeout without unit", func(c *Config) { c.ReadTimeout = 3 }, `"read_timeout" is 3ns; durations need a unit, e.g. 3s`},
	{"zero write timeout", func(c *Config) { c.WriteTimeout = 0 }, `"write_timeout" must be at least 1ms, got 0s`},
	{"unknown URL scheme", func(c *Config) { c.Endpoint = "http://localhost:6379" }, `"endpoint" "http://localhost:6379": redis: invalid URL scheme: http`},
	{"URL with a bad database", func(c *Config) { c.Endpoint = "redis://localhost:6379/x" }, `redis: invalid database number: "x"`},
	{"URL with other parameters", func(c *Config) { c.Endpoint = "redis://:pw-Zq81@localhost:6379?dial_timeout=1s" }, `query parameter "dial_timeout" is not supported`},
	{"URL and password", func(c *Config) {
		c.Endpoint = "redis://:pw-Zq81@localhost:6379"
		c.Password = "other"
	}, `"endpoint" holds a password and so does "password": set it in one place`},
	{"URL and username", func(c *Config) {
		c.Endpoint = "redis://alice@localhost:6379"
		c.Username = "bob"
	}, `"endpoint" names user "alice" and "username" names "bob"`},
	{"URL and db", func(c *Config) {
		c.Endpoint = "redis://localhost:6379/2"
		c.DB = 3
	}, `"endpoint" selects database 2 and "db" selects 3`},
	{"unix URL without a path", func(c *Config) { c.Endpoint = "unix://" }, `redis: empty unix socket path`},
}

func TestCheckRejects(t *testing.T) {
	for _, tt := range checkRejects {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.change(&cfg)
			err := cfg.Check()
			require.ErrorContains(t, err, tt.want)
			assert.NotContains(t, err.Error(), "pw-Zq81", "a password never appears in an error")
		})
	}
}

func TestCheckAccepts(t *testing.T) {
	for name, change := range map[string]func(*Config){
		"default":          func(*Config) {},
		"tcp":              func(c *Config) { c.Endpoint = "redis.internal:6380" },
		"ipv6":             func(c *Config) { c.Endpoint = "[::1]:6379" },
		"unix socket":      func(c *Config) { c.Endpoint = "/run/redis/redis.sock" },
		"unix URL":         func(c *Config) { c.Endpoint = "unix:///run/redis/redis.sock" },
		"unix URL with db": func(c *Config) { c.Endpoint = "unix://:pw@/run/redis/redis.sock?db=2" },
		"redis URL":        func(c *Config) { c.Endpoint = "redis://localhost:6379" },
		"redis URL, all":   func(c *Config) { c.Endpoint = "redis://user:secret@host:6379/2" },
		"rediss URL":       func(c *Config) { c.Endpoint = "rediss://cache.internal:6380/0" },
		"URL and the same db": func(c *Config) {
			c.Endpoint = "redis://:secret@host:6379/2"
			c.DB = 2
		},
		"one sentinel": func(c *Config) { c.Sentinel = Sentinel{MasterName: "m", Addresses: []string{"s:26379"}} },
		"cluster":      func(c *Config) { c.Cluster.Addresses = []string{"n1:6379", "n2:6379", "n3:6379"} },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := validConfig()
			change(&cfg)
			assert.NoError(t, cfg.Check())
		})
	}
}

// TestEndpointPrintsWithoutPassword marshals the configuration the way the collector prints
// its effective configuration.
func TestEndpointPrintsWithoutPassword(t *testing.T) {
	cfg := validConfig()
	cfg.Endpoint = "redis://:pw-Zq81@cache.internal:6379/2"
	conf := confmap.New()
	require.NoError(t, conf.Marshal(&cfg))
	printed := fmt.Sprint(conf.ToStringMap())
	assert.NotContains(t, printed, "pw-Zq81")
	assert.Contains(t, printed, "redis://:xxxxx@cache.internal:6379/2")
}

// TestURLEndpointsReachRedis writes through each URL form to a real server that checks the
// password, the database and, for rediss://, TLS.
func TestURLEndpointsReachRedis(t *testing.T) {
	ctx := context.Background()
	sock := filepath.Join(t.TempDir(), "redis.sock")
	srv := redistest.Start(t, "--requirepass", "pw-Zq81", "--unixsocket", sock, "--unixsocketperm", "700")
	ca := redistest.NewCA(t, "plumelog-test-ca")
	tlsSrv := redistest.StartTLS(t, ca, ca.Issue(t, "redis", "127.0.0.1"), "--tls-auth-clients", "no", "--requirepass", "pw-Zq81")
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)

	for _, tt := range []struct {
		endpoint string
		tls      *tls.Config
		server   *redistest.Server
		db       int
	}{
		{endpoint: "redis://:pw-Zq81@" + srv.Addr + "/2", server: srv, db: 2},
		{endpoint: "redis://default:pw-Zq81@" + srv.Addr, server: srv},
		{endpoint: "unix://:pw-Zq81@" + sock + "?db=3", server: srv, db: 3},
		{endpoint: "rediss://:pw-Zq81@" + tlsSrv.Addr + "/1", tls: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, server: tlsSrv, db: 1},
	} {
		t.Run(Endpoint(tt.endpoint).redacted(), func(t *testing.T) {
			cfg := validConfig()
			cfg.Endpoint = Endpoint(tt.endpoint)
			require.NoError(t, cfg.Check())
			s, err := New(cfg, tt.tls, "plume_log_list")
			require.NoError(t, err)
			defer s.Close()
			require.NoError(t, s.Send(ctx, values(2, 10)))

			// One connection: SELECT holds for the commands after it.
			var n *redis.IntCmd
			_, err = tt.server.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Select(ctx, tt.db)
				n = p.LLen(ctx, "plume_log_list")
				p.Del(ctx, "plume_log_list")
				p.Select(ctx, 0)
				return nil
			})
			require.NoError(t, err)
			assert.EqualValues(t, 2, n.Val(), "the URL's database")
		})
	}
}
