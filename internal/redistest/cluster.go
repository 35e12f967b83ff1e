package redistest

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// Cluster is a Redis Cluster, every slot assigned, its masters with or without replicas.
type Cluster struct {
	Nodes []*Server
	// Addrs are the nodes' host:port addresses, in the order of Nodes.
	Addrs []string

	t testing.TB
}

// StartCluster starts n cluster-enabled redis-servers, joins them into one cluster of masters
// with redis-cli --cluster create, waits until every node reports the cluster ok, and stops
// them when the test ends. Extra directives apply to every node.
func StartCluster(t testing.TB, n int, args ...string) *Cluster {
	t.Helper()
	return StartReplicatedCluster(t, n, 0, args...)
}

// StartReplicatedCluster is StartCluster with replicas replicas of each of the masters. A
// node that stops answering for two seconds (cluster-node-timeout) is failed over to its
// replica.
func StartReplicatedCluster(t testing.TB, masters, replicas int, args ...string) *Cluster {
	t.Helper()
	cli := testenv.Program(t, "redis-cli")
	c := &Cluster{t: t}
	for attempt := 1; ; attempt++ {
		c.startNodes(masters*(1+replicas), args)
		out, err := createCluster(cli, c.Addrs, replicas)
		if err == nil {
			break
		}
		// redis-cli waits without end for nodes that never agree (seen once on a loaded
		// machine): start the nodes afresh, on new ports, a few times before giving up.
		for _, s := range c.Nodes {
			s.Stop()
		}
		if attempt == clusterAttempts {
			t.Fatalf("redis-cli --cluster create, %d attempts: %v\n%s", attempt, err, out)
		}
		t.Logf("redis-cli --cluster create, attempt %d: %v; starting the nodes again", attempt, err)
	}
	c.WaitOK()
	for _, s := range c.Nodes {
		if role(s.Client()) == "slave" {
			s.WaitForSync()
		}
	}
	return c
}

const (
	// clusterAttempts and clusterCreateTimeout bound the creation of a cluster.
	clusterAttempts      = 3
	clusterCreateTimeout = time.Minute
)

// startNodes starts n cluster-enabled redis-servers as the cluster's nodes.
func (c *Cluster) startNodes(n int, args []string) {
	c.t.Helper()
	c.Nodes, c.Addrs = nil, nil
	for range n {
		// The bus port is set explicitly: the default, port+10000, may be taken or out of range.
		nodeArgs := append([]string{
			"--cluster-enabled", "yes",
			"--cluster-port", testenv.Port(testenv.Addr(c.t)),
			"--cluster-node-timeout", "2000",
		}, args...)
		s := Start(c.t, nodeArgs...)
		c.Nodes = append(c.Nodes, s)
		c.Addrs = append(c.Addrs, s.Addr)
	}
}

// createCluster joins the nodes at addrs into one cluster with redis-cli --cluster create.
func createCluster(cli string, addrs []string, replicas int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clusterCreateTimeout)
	defer cancel()
	create := append([]string{"--cluster", "create"}, addrs...)
	create = append(create, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	return exec.CommandContext(ctx, cli, create...).CombinedOutput()
}

// WaitOK waits until every node reports cluster_state:ok and knows every other node.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	want := "cluster_known_nodes:" + strconv.Itoa(len(c.Nodes))
	for _, s := range c.Nodes {
		rdb := s.Client()
		for {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, want) {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("cluster node %s not ok within 30s: %v\n%s", s.Addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Client returns a cluster client seeded with every node, closed when the test ends.
func (c *Cluster) Client() *redis.ClusterClient {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	c.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// NodeOf returns the node that serves key.
func (c *Cluster) NodeOf(key string) *Server {
	c.t.Helper()
	ctx := context.Background()
	rdb := c.Nodes[0].Client()
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		c.t.Fatalf("CLUSTER KEYSLOT %s: %v", key, err)
	}
	shards, err := rdb.ClusterShards(ctx).Result()
	if err != nil {
		c.t.Fatalf("CLUSTER SHARDS: %v", err)
	}
	for _, shard := range shards {
		if !slices.ContainsFunc(shard.Slots, func(r redis.SlotRange) bool { return slot >= r.Start && slot <= r.End }) {
			continue
		}
		for _, n := range shard.Nodes {
			addr := net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
			if i := slices.IndexFunc(c.Nodes, func(s *Server) bool { return s.Addr == addr }); n.Role == "master" && i >= 0 {
				return c.Nodes[i]
			}
		}
	}
	c.t.Fatalf("no node serves slot %d of %s", slot, key)
	return nil
}

// MoveSlot moves the slot of key, with its keys, from the node that serves it to another one,
// the way redis-cli --cluster reshard does. Midway, once the keys have moved but the slot is
// not yet reassigned, it calls midway: then the old node answers ASK for the slot's keys.
// Clients that have not noticed get MOVED afterwards. It returns the new node.
func (c *Cluster) MoveSlot(key string, midway func()) *Server {
	c.t.Helper()
	ctx := context.Background()
	from := c.NodeOf(key)
	to := c.Nodes[0]
	if to == from {
		to = c.Nodes[1]
	}
	src, dst := from.Client(), to.Client()
	slot, err := src.ClusterKeySlot(ctx, key).Result()
	must := func(what string, err error) {
		if err != nil {
			c.t.Fatalf("moving slot %d: %s: %v", slot, what, err)
		}
	}
	must("CLUSTER KEYSLOT", err)
	srcID, err := src.ClusterMyID(ctx).Result()
	must("CLUSTER MYID", err)
	dstID, err := dst.ClusterMyID(ctx).Result()
	must("CLUSTER MYID", err)
	must("IMPORTING", dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err())
	must("MIGRATING", src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err())
	keys, err := src.ClusterGetKeysInSlot(ctx, int(slot), 1000).Result()
	must("CLUSTER GETKEYSINSLOT", err)
	host, port, _ := strings.Cut(to.Addr, ":")
	for _, k := range keys {
		must("MIGRATE "+k, src.Migrate(ctx, host, port, k, 0, 10*time.Second).Err())
	}
	midway()
	for _, s := range append([]*Server{to, from}, c.Nodes...) {
		must("SETSLOT NODE on "+s.Addr, s.Client().Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	}
	c.WaitOK()
	return to
}

// ReplicaOf returns a replica of master.
func (c *Cluster) ReplicaOf(master *Server) *Server {
	c.t.Helper()
	ctx := context.Background()
	rdb := master.Client()
	id, err := rdb.ClusterMyID(ctx).Result()
	if err != nil {
		c.t.Fatalf("CLUSTER MYID on %s: %v", master, err)
	}
	// One line per replica: <id> <ip:port@busport> <flags> <master id> ...
	lines, err := rdb.Do(ctx, "CLUSTER", "REPLICAS", id).StringSlice()
	if err != nil {
		c.t.Fatalf("CLUSTER REPLICAS on %s: %v", master, err)
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		addr, _, _ := strings.Cut(fields[1], "@")
		for _, s := range c.Nodes {
			if s.Addr == addr {
				return s
			}
		}
	}
	c.t.Fatalf("no replica of %s among %q", master, lines)
	return nil
}

// WaitForPromotion waits until replica is a master that serves key and reports the cluster
// ok, as after a failover.
func (c *Cluster) WaitForPromotion(replica *Server, key string, timeout time.Duration) {
	c.t.Helper()
	ctx := context.Background()
	rdb := replica.Client()
	deadline := time.Now().Add(timeout)
	for {
		info, err := rdb.ClusterInfo(ctx).Result()
		// A node that does not serve the key's slot answers LLEN with MOVED.
		if err == nil && role(rdb) == "master" && strings.Contains(info, "cluster_state:ok") && rdb.LLen(ctx, key).Err() == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s not promoted within %s: %v\n%s", replica, timeout, err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// role is the server's replication role, "master" or "slave", or "" when it does not answer.
func role(rdb *redis.Client) string {
	r, err := rdb.Do(context.Background(), "ROLE").Slice()
	if err != nil || len(r) == 0 {
		return ""
	}
	name, _ := r[0].(string)
	return name
}
