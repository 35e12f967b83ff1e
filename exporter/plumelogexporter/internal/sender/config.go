package sender // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/confcheck"
)

// Config is where Redis is and how to log in; its keys are the exporter's connection keys.
// Exactly one of Endpoint, Sentinel and Cluster names the servers.
type Config struct {
	// Endpoint is a standalone Redis: host:port, a unix socket path (absolute), or a URL:
	// redis://[user[:password]@]host[:port][/db], rediss://… (TLS), or
	// unix://[user[:password]@]/path?db=N.
	Endpoint Endpoint `mapstructure:"endpoint"`
	// Sentinel finds the master through Redis Sentinel.
	Sentinel Sentinel `mapstructure:"sentinel"`
	// Cluster writes to a Redis Cluster.
	Cluster Cluster `mapstructure:"cluster"`
	// Username is the Redis ACL user; empty means the default user.
	Username string `mapstructure:"username"`
	// Password authenticates with Redis (AUTH).
	Password configopaque.String `mapstructure:"password"`
	// DB is the Redis logical database the Plumelog server reads.
	DB int `mapstructure:"db"`
	// DialTimeout, ReadTimeout and WriteTimeout bound each connection attempt and command.
	DialTimeout  time.Duration `mapstructure:"dial_timeout"`
	ReadTimeout  time.Duration `mapstructure:"read_timeout"`
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
}

// Sentinel locates the master through Redis Sentinel.
type Sentinel struct {
	// MasterName is the name the sentinels monitor the master under.
	MasterName string `mapstructure:"master_name"`
	// Addresses are the sentinels' host:port addresses.
	Addresses []string `mapstructure:"addresses"`
	// Username and Password authenticate with the sentinels, which may differ from the
	// master's own username and password.
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
}

// Cluster points at a Redis Cluster.
type Cluster struct {
	// Addresses are host:port addresses of some cluster nodes; the others are discovered.
	Addresses []string `mapstructure:"addresses"`
}

// Endpoint is the address of a standalone Redis. It prints with the password of a URL
// redacted, in errors and in the collector's effective configuration.
type Endpoint string

// MarshalText redacts the password of a URL endpoint.
func (e Endpoint) MarshalText() ([]byte, error) { return []byte(e.redacted()), nil }

func (e Endpoint) redacted() string {
	if u, err := url.Parse(string(e)); err == nil && u.User != nil {
		return u.Redacted()
	}
	return string(e)
}

// isURL reports whether the endpoint is written as a URL rather than an address or a path.
func (e Endpoint) isURL() bool {
	return strings.Contains(string(e), "://")
}

// TLSImplied reports whether the endpoint asks for TLS itself: a rediss:// URL.
func (c Config) TLSImplied() bool {
	return strings.HasPrefix(string(c.Endpoint), "rediss://")
}

// TLSRefused reports whether the endpoint asks for plain TCP itself: a redis:// URL.
func (c Config) TLSRefused() bool {
	return strings.HasPrefix(string(c.Endpoint), "redis://")
}

// IsSet reports whether the sentinel block is used.
func (s Sentinel) IsSet() bool {
	return s.MasterName != "" || len(s.Addresses) > 0 || s.Username != "" || s.Password != ""
}

// minTimeout is the least timeout that makes sense: anything shorter is a number written
// without a unit.
const minTimeout = time.Millisecond

// Check reports every value that keeps the client from reaching Redis, by its key.
func (c Config) Check() error {
	errs := []error{
		c.checkTopology(),
		confcheck.Duration("dial_timeout", c.DialTimeout, minTimeout, false, "s"),
		confcheck.Duration("read_timeout", c.ReadTimeout, minTimeout, false, "s"),
		confcheck.Duration("write_timeout", c.WriteTimeout, minTimeout, false, "s"),
	}
	if c.DB < 0 {
		errs = append(errs, confcheck.Errorf("db", "must not be negative, got %d", c.DB))
	}
	if c.Endpoint.isURL() {
		errs = append(errs, c.checkURL())
	}
	return errors.Join(errs...)
}

// checkTopology checks that exactly one of endpoint, sentinel and cluster names the Redis
// servers, and that each is complete.
func (c Config) checkTopology() error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, confcheck.Errorf(key, format, args...)) }
	sentinel, cluster := c.Sentinel.IsSet(), len(c.Cluster.Addresses) > 0
	switch {
	case sentinel && cluster:
		add("sentinel", `and "cluster" exclude each other: set the one that matches the Redis the Plumelog server reads`)
	case sentinel && c.Endpoint != "":
		add("endpoint", `must be empty with "sentinel": the sentinels name the master, list them in sentinel::addresses`)
	case cluster && c.Endpoint != "":
		add("endpoint", `must be empty with "cluster": list the cluster's nodes in cluster::addresses`)
	}
	if sentinel {
		errs = append(errs, confcheck.Within("sentinel", c.Sentinel.check()))
	}
	if cluster {
		if c.DB != 0 {
			add("db", `must be 0 with "cluster": Redis Cluster has only database 0, got %d`, c.DB)
		}
		errs = append(errs, confcheck.Within("cluster", checkAddresses("addresses", c.Cluster.Addresses)))
	}
	if e := string(c.Endpoint); e != "" && !c.Endpoint.isURL() {
		if strings.Contains(e, ",") {
			add("endpoint", "%q holds several addresses: list sentinels in sentinel::addresses, cluster nodes in cluster::addresses", e)
		} else if !strings.HasPrefix(e, "/") && !isHostPort(e) {
			add("endpoint", "%q is neither host:port, a unix socket path nor a redis://, rediss:// or unix:// URL", e)
		}
	}
	return errors.Join(errs...)
}

func (s Sentinel) check() error {
	var errs []error
	if s.MasterName == "" {
		errs = append(errs, confcheck.Errorf("master_name", "must be set: it is the server's plumelog.queue.redis.sentinel.masterName"))
	}
	if len(s.Addresses) == 0 {
		errs = append(errs, confcheck.Errorf("addresses", "must list the sentinels (host:port, usually port 26379)"))
	}
	return errors.Join(append(errs, checkAddresses("addresses", s.Addresses))...)
}

// checkURL checks a URL endpoint and that it does not contradict the keys it overlaps with.
func (c Config) checkURL() error {
	o, err := c.Endpoint.parse()
	if err != nil {
		return err
	}
	var errs []error
	if o.Username != "" && c.Username != "" && o.Username != c.Username {
		errs = append(errs, confcheck.Errorf("endpoint", `names user %q and "username" names %q: set it in one place`, o.Username, c.Username))
	}
	if o.Password != "" && c.Password != "" {
		errs = append(errs, confcheck.Errorf("endpoint", `holds a password and so does "password": set it in one place`))
	}
	if o.DB != 0 && c.DB != 0 && o.DB != c.DB {
		errs = append(errs, confcheck.Errorf("endpoint", `selects database %d and "db" selects %d: set it in one place`, o.DB, c.DB))
	}
	return errors.Join(errs...)
}

// parse reads a URL endpoint with go-redis's own parser. Only the parts that have a key of
// their own are taken; query parameters other than db would silently override the
// exporter's timeouts and retries, so they are refused.
func (e Endpoint) parse() (*redis.Options, error) {
	u, err := url.Parse(string(e))
	if err != nil {
		// url's errors quote the whole URL, password included.
		return nil, confcheck.Errorf("endpoint", "is not a valid URL")
	}
	for k := range u.Query() {
		if k != "db" {
			return nil, confcheck.Errorf("endpoint", "%q: query parameter %q is not supported: use the exporter's keys", e.redacted(), k)
		}
	}
	o, err := redis.ParseURL(string(e))
	if err != nil {
		return nil, confcheck.Errorf("endpoint", "%q: %v", e.redacted(), err)
	}
	return o, nil
}

func checkAddresses(key string, addrs []string) error {
	var errs []error
	for _, a := range addrs {
		if !isHostPort(a) {
			hint := ""
			if strings.Contains(a, ",") {
				hint = " (one address per list entry)"
			}
			errs = append(errs, confcheck.Errorf(key, "entry %q is not host:port%s", a, hint))
		}
	}
	return errors.Join(errs...)
}

func isHostPort(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n <= 65535
}
