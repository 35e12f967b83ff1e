// Package faulttest puts a Toxiproxy proxy, run inside the test process, between a client and
// a real server on loopback, and breaks the network between them the way real networks
// break: added latency and jitter, a slow link, a black hole that swallows data without
// closing the connection, connections reset mid-write, writes sliced into small pieces, and
// the proxy itself down and up again.
package faulttest // import "github.com/plumelog-otel/otelcol-plumelog/internal/faulttest"

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// Direction is the way the data a toxic acts on flows.
type Direction string

const (
	// Upstream is from the client to the server: commands.
	Upstream Direction = "upstream"
	// Downstream is from the server to the client: replies.
	Downstream Direction = "downstream"
)

// Toxic is one fault, in Toxiproxy's terms: its type and attributes are those of Toxiproxy's
// HTTP API (https://github.com/Shopify/toxiproxy#toxics).
type Toxic struct {
	Type       string
	Attributes map[string]any
}

// Latency delays every piece of data by ms milliseconds, give or take jitter.
func Latency(ms, jitter int) Toxic {
	return Toxic{Type: "latency", Attributes: map[string]any{"latency": ms, "jitter": jitter}}
}

// Bandwidth limits the link to kbps kilobytes a second.
func Bandwidth(kbps int) Toxic {
	return Toxic{Type: "bandwidth", Attributes: map[string]any{"rate": kbps}}
}

// BlackHole swallows every byte and keeps the connection open: no reply, no FIN, no RST, as a
// network that drops packets silently. Removing it closes the connections it held, as a
// client or server would after its own timeout.
func BlackHole() Toxic {
	return Toxic{Type: "timeout", Attributes: map[string]any{"timeout": 0}}
}

// ResetPeer resets the connection (TCP RST, unsent data discarded) ms milliseconds after the
// first data arrives, and swallows that data.
func ResetPeer(ms int) Toxic {
	return Toxic{Type: "reset_peer", Attributes: map[string]any{"timeout": ms}}
}

// Slicer cuts data into pieces of about size bytes (± variation), delayMicros apart, so that
// the peer reads each command or reply in many partial reads.
func Slicer(size, variation, delayMicros int) Toxic {
	return Toxic{Type: "slicer", Attributes: map[string]any{"average_size": size, "size_variation": variation, "delay": delayMicros}}
}

// Proxy is a Toxiproxy proxy listening on a free loopback port in front of one upstream.
type Proxy struct {
	// Addr is the host:port clients connect to instead of the upstream's.
	Addr string

	t     testing.TB
	proxy *toxiproxy.Proxy
}

// Start starts a proxy to upstream (host:port) and stops it, closing its connections, when the
// test ends.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	// Some toxics log through zerolog's global logger, at trace level, whatever the server's
	// logger says; the tests read the proxy's effects, not its logs.
	zerolog.SetGlobalLevel(zerolog.Disabled)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(server, "redis", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("starting a proxy to %s: %v", upstream, err)
	}
	t.Cleanup(p.Stop)
	// Start resolved the listen address to the port it bound, which Up binds again.
	return &Proxy{Addr: p.Listen, t: t, proxy: p}
}

// Add adds toxic under name on the data flowing in dir. It acts on open connections at once
// and on every new one until Remove.
func (p *Proxy) Add(name string, dir Direction, toxic Toxic) {
	p.t.Helper()
	body, err := json.Marshal(map[string]any{
		"name": name, "type": toxic.Type, "stream": string(dir), "toxicity": 1.0, "attributes": toxic.Attributes,
	})
	if err != nil {
		p.t.Fatalf("encoding toxic %s: %v", name, err)
	}
	if _, err := p.proxy.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		p.t.Fatalf("adding toxic %s: %v", name, err)
	}
}

// AddBoth adds toxic in both directions, as name-upstream and name-downstream; RemoveBoth
// removes both.
func (p *Proxy) AddBoth(name string, toxic Toxic) {
	p.t.Helper()
	p.Add(name+"-"+string(Upstream), Upstream, toxic)
	p.Add(name+"-"+string(Downstream), Downstream, toxic)
}

// Remove removes the toxic named name.
func (p *Proxy) Remove(name string) {
	p.t.Helper()
	if err := p.proxy.Toxics.RemoveToxic(context.Background(), name); err != nil {
		p.t.Fatalf("removing toxic %s: %v", name, err)
	}
}

// RemoveBoth removes the toxics AddBoth added under name.
func (p *Proxy) RemoveBoth(name string) {
	p.t.Helper()
	p.Remove(name + "-" + string(Upstream))
	p.Remove(name + "-" + string(Downstream))
}

// Down stops listening and closes every connection: clients meet connection refused.
func (p *Proxy) Down() { p.proxy.Stop() }

// Up listens again on the same address after Down.
func (p *Proxy) Up() {
	p.t.Helper()
	if err := p.proxy.Start(); err != nil {
		p.t.Fatalf("restarting the proxy on %s: %v", p.Addr, err)
	}
}
