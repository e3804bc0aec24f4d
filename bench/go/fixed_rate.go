// Command fixed_rate is the bench's independent cross-check of the
// fixed-rate scenario: the same open-loop load (message k is due at
// start + k/rate on connection k % connections, whatever has come back),
// from a Go program with gorilla/websocket instead of Deno's client. It
// prints one JSON object: latency percentiles in microseconds, from the
// scheduled send time and from the actual send.
//
// Built by the bench with Debian's packages, offline:
//
//	apt-get install golang-go golang-github-gorilla-websocket-dev
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o fixed_rate fixed_rate.go
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

type summary struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

type result struct {
	Received int     `json:"received"`
	Failures int     `json:"failures"`
	Latency  summary `json:"latency"`
	Service  summary `json:"serviceLatency"`
}

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/ws?welcome=0", "WebSocket URL")
	conns := flag.Int("c", 100, "connections")
	rate := flag.Int("rate", 10000, "messages a second, all connections together")
	warm := flag.Duration("warmup", 2*time.Second, "sent but not recorded")
	dur := flag.Duration("d", 10*time.Second, "recorded window")
	size := flag.Int("size", 32, "payload bytes")
	flag.Parse()

	ws := make([]*websocket.Conn, *conns)
	for i := range ws {
		c, _, err := websocket.DefaultDialer.Dial(*url, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "connect:", err)
			os.Exit(1)
		}
		ws[i] = c
	}
	payload := make([]byte, *size)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	period := time.Second / time.Duration(*rate)
	perConn := period * time.Duration(*conns)
	start := time.Now().Add(100 * time.Millisecond)
	measureFrom := start.Add(*warm)
	end := measureFrom.Add(*dur)

	var mu sync.Mutex
	var latency, service []float64
	failures := 0
	var wg sync.WaitGroup
	for i, c := range ws {
		wg.Add(2)
		due := make(chan [2]time.Time, 1<<16)
		go func(i int, c *websocket.Conn) {
			defer wg.Done()
			defer close(due)
			for t := start.Add(period * time.Duration(i)); t.Before(end); t = t.Add(perConn) {
				if d := time.Until(t); d > 0 {
					time.Sleep(d)
				}
				sent := time.Now()
				if err := c.WriteMessage(websocket.TextMessage, payload); err != nil {
					mu.Lock()
					failures++
					mu.Unlock()
					return
				}
				due <- [2]time.Time{t, sent}
			}
		}(i, c)
		go func(c *websocket.Conn) {
			defer wg.Done()
			var l, s []float64
			bad := 0
			for d := range due {
				_, data, err := c.ReadMessage()
				if err != nil || string(data) != string(payload) {
					bad++
					if err != nil {
						break
					}
					continue
				}
				now := time.Now()
				if !d[0].Before(measureFrom) {
					l = append(l, float64(now.Sub(d[0]).Nanoseconds())/1000)
					s = append(s, float64(now.Sub(d[1]).Nanoseconds())/1000)
				}
			}
			mu.Lock()
			latency = append(latency, l...)
			service = append(service, s...)
			failures += bad
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	for _, c := range ws {
		c.Close()
	}
	out, _ := json.Marshal(result{
		Received: len(latency),
		Failures: failures,
		Latency:  summarize(latency),
		Service:  summarize(service),
	})
	fmt.Println(string(out))
}

func summarize(values []float64) summary {
	sort.Float64s(values)
	at := func(q float64) float64 {
		if len(values) == 0 {
			return 0
		}
		i := int(q*float64(len(values))+0.999999) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(values) {
			i = len(values) - 1
		}
		return values[i]
	}
	return summary{at(.5), at(.9), at(.99), at(.999), at(1)}
}
