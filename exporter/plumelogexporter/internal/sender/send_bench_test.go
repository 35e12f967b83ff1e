package sender

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// benchBatch and benchMessage are a batch of 100 messages of about the size of a Java
// service's run log, the exporter's default batch before max_linger.
const (
	benchBatch   = 100
	benchMessage = 550
)

// reportCPU runs send once per iteration and reports the process's CPU time per message, which
// counts the kernel's share of the socket (its system time) besides the client's.
func reportCPU(b *testing.B, send func()) {
	start := testenv.ProcessCPU(b)
	for b.Loop() {
		send()
	}
	b.ReportMetric(float64((testenv.ProcessCPU(b)-start).Nanoseconds())/float64(b.N*benchBatch), "cpu-ns/record")
}

// BenchmarkSendCPU is the CPU a Sender spends per message, go-redis and the system calls, in
// batches of 10, 100 and 1,000 messages: what a batch costs whatever its size shows as the
// difference.
func BenchmarkSendCPU(b *testing.B) {
	srv := redistest.Start(b)
	s, err := New(Config{Endpoint: Endpoint(srv.Addr), DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second}, nil, "plume_log_list")
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	rdb := srv.Client()
	ctx := context.Background()
	for _, n := range []int{10, benchBatch, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			batch := values(n, benchMessage)
			inList := 0
			start := testenv.ProcessCPU(b)
			for b.Loop() {
				require.NoError(b, s.Send(ctx, batch))
				// Keep the list, and Redis's memory, small; Redis's work is not counted.
				if inList += n; inList >= 100_000 {
					require.NoError(b, rdb.Del(ctx, "plume_log_list").Err())
					inList = 0
				}
			}
			b.ReportMetric(float64((testenv.ProcessCPU(b)-start).Nanoseconds())/float64(b.N*n), "cpu-ns/record")
		})
	}
}

// BenchmarkRawSocketCPU writes the same RPUSH, framed by hand, on a bare TCP connection and
// reads its reply: the part of BenchmarkSendCPU no client can save, the kernel's.
func BenchmarkRawSocketCPU(b *testing.B) {
	srv := redistest.Start(b)
	conn, err := net.Dial("tcp", srv.Addr)
	require.NoError(b, err)
	b.Cleanup(func() { _ = conn.Close() })
	cmd := []byte("*" + strconv.Itoa(benchBatch+2) + "\r\n$5\r\nRPUSH\r\n$14\r\nplume_log_list\r\n")
	for _, v := range values(benchBatch, benchMessage) {
		cmd = append(strconv.AppendInt(append(cmd, '$'), int64(len(v)), 10), "\r\n"...)
		cmd = append(append(cmd, v...), "\r\n"...)
	}
	rd := bufio.NewReader(conn)
	reportCPU(b, func() {
		_, err := conn.Write(cmd)
		require.NoError(b, err)
		reply, err := rd.ReadSlice('\n')
		require.NoError(b, err)
		require.Equal(b, byte(':'), reply[0], "%q", reply)
	})
}
