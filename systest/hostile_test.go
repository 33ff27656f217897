package systest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hookd/store"
)

const hostileRules = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: effect
    source: github
    when: body != nil
    actions:
      - shell:
          env: {OUT: "${OUT}"}
          script: 'printf "%s\n" "$HOOKD_DELIVERY_ID" >> "$OUT"'
`

// TestHostileClients attacks the real binary while a well-behaved client
// keeps sending: the daemon must answer it within a generous time during
// every attack, keep its memory bounded, and record nothing hostile.
func TestHostileClients(t *testing.T) {
	idle := 10000
	if testing.Short() {
		idle = 1000
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if lim.Cur < uint64(idle)+1000 {
		t.Skipf("open files limit %d is too low for %d idle connections (raise ulimit -n)", lim.Cur, idle)
	}
	// The daemon inherits the raised limit.
	s := newSite(t, hostileRules, "max_body: 4MiB\n")
	d := s.start()
	legit := map[string]bool{}
	n := 0
	probe := func(during string) {
		t.Helper()
		n++
		id := fmt.Sprintf("legit-%d", n)
		start := time.Now()
		r, err := s.post(id, []byte(`{"n":1}`))
		took := time.Since(start)
		if err != nil || r.code != 200 || r.Status != "accepted" {
			t.Fatalf("during %s, a legitimate client got %v %+v", during, err, r)
		}
		if took > 15*time.Second {
			t.Errorf("during %s, a legitimate client waited %v", during, took)
		}
		legit[id] = true
	}
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		return c
	}
	sig := sign([]byte(`{"n":2}`))

	// Slow-loris: headers trickled, never finished.
	attack := func(name string, conns int, trickle func(c net.Conn, stop <-chan struct{})) {
		t.Helper()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range conns {
			c := dial()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				trickle(c, stop)
			}()
		}
		time.Sleep(time.Second)
		probe(name)
		time.Sleep(time.Second)
		probe(name)
		close(stop)
		wg.Wait()
		t.Logf("%s: %d connections; VmHWM %d KiB", name, conns, vmKB(t, d.pid(), "VmHWM"))
	}
	every := func(stop <-chan struct{}, f func() error) {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if f() != nil {
					return
				}
			}
		}
	}
	attack("slow-loris", 300, func(c net.Conn, stop <-chan struct{}) {
		head := "POST /hooks/github HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: " + sig + "\r\nX-GitHub-Delivery: loris\r\n"
		i := 0
		every(stop, func() error {
			_, err := c.Write([]byte{head[i%len(head)]})
			i++
			return err
		})
	})
	attack("trickled body", 300, func(c net.Conn, stop <-chan struct{}) {
		fmt.Fprintf(c, "POST /hooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: trickle\r\nX-Hub-Signature-256: %s\r\nContent-Length: 7\r\n\r\n", sig)
		body := `{"n":2}`
		i := 0
		every(stop, func() error {
			if i >= len(body)-1 {
				return nil // never the last byte
			}
			_, err := c.Write([]byte{body[i]})
			i++
			return err
		})
	})
	attack("idle connections", idle, func(c net.Conn, stop <-chan struct{}) { <-stop })

	// A 1 GiB body, declared and chunked: refused at max_body, unread.
	for _, chunked := range []bool{false, true} {
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/hooks/github", io.LimitReader(zeros{}, 1<<30))
		if chunked {
			req.ContentLength = -1
		} else {
			req.ContentLength = 1 << 30
		}
		req.Header = githubHeaders("huge", nil)
		start := time.Now()
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 413 {
				t.Errorf("1 GiB body (chunked %v): status %d, want 413", chunked, resp.StatusCode)
			}
		} // a reset while still sending is also a refusal
		t.Logf("1 GiB body (chunked %v): %v after %v; VmHWM %d KiB", chunked, errOrStatus(resp, err), time.Since(start).Round(time.Millisecond), vmKB(t, d.pid(), "VmHWM"))
		probe("after a 1 GiB body")
	}

	// A nesting bomb within max_body, signed: authentic, so it is recorded
	// (as ignored: its body is not usable JSON), but must not hurt.
	bomb := []byte(strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20))
	r, err := s.postTo("/hooks/github", githubHeaders("bomb", bomb), bomb)
	if err != nil || r.code != 200 || r.Status != "ignored" {
		t.Errorf("nesting bomb: %v %d %+v, want 200 ignored", err, r.code, r.reply)
	}
	probe("after a nesting bomb")

	// 100,000 headers: over MaxHeaderBytes, refused with 431.
	c := dial()
	bw := bufio.NewWriter(c)
	fmt.Fprintf(bw, "POST /hooks/github HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: %s\r\nContent-Length: 7\r\n", sig)
	go func() {
		for i := range 100000 {
			fmt.Fprintf(bw, "X-H%d: v\r\n", i)
		}
		bw.WriteString("\r\n{\"n\":2}")
		bw.Flush()
	}()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Errorf("100,000 headers: no answer: %v", err)
	} else if resp.StatusCode != 431 {
		t.Errorf("100,000 headers: status %d, want 431", resp.StatusCode)
	}
	c.Close()
	probe("after 100,000 headers")

	hwm := vmKB(t, d.pid(), "VmHWM")
	t.Logf("peak memory (VmHWM) %d KiB over all attacks", hwm)
	if hwm > 1<<20 {
		t.Errorf("peak memory %d KiB: not bounded", hwm)
	}
	waitRan(t, s, legit)
	d.stop(t)

	// Only the legitimate deliveries and the (authentic) bomb are recorded.
	st, err := store.Open(filepath.Join(s.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, _, err := st.ListEvents(store.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if !legit[e.DeliveryID] && e.DeliveryID != "bomb" {
			t.Errorf("a hostile request was recorded: %+v", e)
		}
	}
	if len(evs) != len(legit)+1 {
		t.Errorf("%d events recorded, want %d", len(evs), len(legit)+1)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func errOrStatus(resp *http.Response, err error) string {
	if err != nil {
		return "transport error " + err.Error()
	}
	return resp.Status
}
