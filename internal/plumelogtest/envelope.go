package plumelogtest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// decodeScript decodes compressed-queue elements, one per input line, the way the Plumelog
// server does, and prints the message lists as one JSON array. It fails loudly on anything the
// server would reject: other keys, a non-integer length, base64 that is not standard with
// padding, a block that liblz4 does not decompress to exactly length bytes, text that is not
// UTF-8, or a JSON value other than an array of strings.
const decodeScript = `
import base64, binascii, json, sys, lz4.block
out = []
for n, line in enumerate(sys.stdin.buffer, 1):
    env = json.loads(line)
    if not isinstance(env, dict) or set(env) != {"length", "body"}:
        sys.exit("envelope %d: keys %r, want length and body" % (n, list(env)))
    length, body = env["length"], env["body"]
    if type(length) is not int or length < 0 or not isinstance(body, str):
        sys.exit("envelope %d: length %r body %r" % (n, type(length), type(body)))
    try:
        block = base64.b64decode(body, validate=True)
    except binascii.Error as e:
        sys.exit("envelope %d: body is not standard base64: %s" % (n, e))
    raw = lz4.block.decompress(block, uncompressed_size=length)
    if len(raw) != length:
        sys.exit("envelope %d: decompressed %d bytes, length says %d" % (n, len(raw), length))
    msgs = json.loads(raw.decode("utf-8"))
    if not isinstance(msgs, list) or not all(isinstance(m, str) for m in msgs):
        sys.exit("envelope %d: text is not a JSON array of strings" % n)
    out.append(msgs)
json.dump(out, sys.stdout)
`

// DecodeEnvelopes decodes elements of a *_compress list with liblz4, the reference LZ4
// implementation, through Debian's python3-lz4: an implementation independent of the one that
// encoded them. It returns the messages of each envelope. The test is skipped when no Python
// with the lz4 module is installed, and fails instead under CI=true.
func DecodeEnvelopes(t testing.TB, envelopes [][]byte) [][]string {
	t.Helper()
	python := lz4Python(t)
	cmd := exec.Command(python, "-c", decodeScript)
	cmd.Stdin = bytes.NewReader(append(bytes.Join(envelopes, []byte("\n")), '\n'))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("liblz4 rejected the envelopes: %v\n%s", err, stderr.Bytes())
	}
	var out [][]string
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("decoding the decoder's output: %v", err)
	}
	if len(out) != len(envelopes) {
		t.Fatalf("decoded %d envelopes of %d", len(out), len(envelopes))
	}
	return out
}

// lz4Python returns a Python interpreter that imports lz4.block. Debian's python3-lz4 is
// installed for the system interpreter, which another python3 on PATH may hide.
func lz4Python(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import lz4.block").Run() == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("python3 with the lz4 module is required with CI=true but not installed (make test installs python3-lz4)")
	}
	t.Skip("python3-lz4 not installed; `make test` installs it")
	return ""
}
