package sender

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeRedis is a RESP server on loopback for replies a real server gives only in states that
// are hard to bring about (LOADING, BUSY, MASTERDOWN, ...). reply returns the raw RESP reply
// to a command, or "" to leave it unanswered; HELLO is refused, so clients fall back to RESP2.
type fakeRedis struct {
	Addr string

	ln    net.Listener
	reply func(args []string) string
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func startFakeRedis(t *testing.T, reply func(args []string) string) *fakeRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRedis{Addr: ln.Addr().String(), ln: ln, reply: reply}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *fakeRedis) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serve(c)
	}
}

func (f *fakeRedis) serve(c net.Conn) {
	defer f.wg.Done()
	r := bufio.NewReader(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		out := "-ERR unknown command 'HELLO'\r\n"
		if !strings.EqualFold(args[0], "HELLO") {
			out = f.reply(args)
		}
		if out != "" {
			if _, err := io.WriteString(c, out); err != nil {
				return
			}
		}
	}
}

func (f *fakeRedis) close() {
	_ = f.ln.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// readCommand reads one command: an array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	n, err := readLength(r, '*')
	if err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		size, err := readLength(r, '$')
		if err != nil {
			return nil, err
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:size])
	}
	return args, nil
}

func readLength(r *bufio.Reader, prefix byte) (int, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 3 || line[0] != prefix {
		return 0, errors.New("unexpected RESP line " + strconv.Quote(line))
	}
	return strconv.Atoi(strings.TrimSuffix(line[1:], "\r\n"))
}
