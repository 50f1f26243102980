// Command wsload is the benchmark's WebSocket load generator: CONNS connections each send one
// JSON-RPC call, wait for its answer, and repeat for DURATION. It prints
// "<calls/s> <p50 ms> <p99 ms> <errors>" on one line.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	url := flag.String("url", "", "ws:// endpoint")
	conns := flag.Int("conns", 64, "connections")
	duration := flag.Duration("duration", 8*time.Second, "how long to send")
	keyFile := flag.String("key-file", "", "file holding an API key, sent as a bearer token")
	flag.Parse()
	header := http.Header{}
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	}
	var mu sync.Mutex
	var lat []time.Duration
	errors := 0
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(*duration)
	for i := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := websocket.DefaultDialer.Dial(*url, header)
			if err != nil {
				mu.Lock()
				errors++
				mu.Unlock()
				return
			}
			defer c.Close()
			mine := make([]time.Duration, 0, 1<<16)
			bad := 0
			for n := 0; time.Now().Before(stop); n++ {
				msg := `{"jsonrpc":"2.0","id":` + strconv.Itoa(i*1_000_000+n) + `,"method":"system_health","params":[]}`
				t0 := time.Now()
				if c.WriteMessage(websocket.TextMessage, []byte(msg)) != nil {
					bad++
					break
				}
				_, b, err := c.ReadMessage()
				if err != nil || !strings.Contains(string(b), `"result"`) {
					bad++
					break
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errors += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	fmt.Printf("%.0f %.3f %.3f %d\n", float64(len(lat))/elapsed, pct(0.50), pct(0.99), errors)
}
