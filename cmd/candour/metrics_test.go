package main

import "testing"

func TestMetricsListenOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:9090", "localhost:0", "nonsense"} {
		if ln, err := listenMetrics(addr); err == nil {
			ln.Close()
			t.Errorf("--metrics-addr %s was accepted", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := listenMetrics(addr)
		if err != nil && addr == "127.0.0.1:0" {
			t.Fatalf("--metrics-addr %s: %v", addr, err)
		}
		if err != nil {
			t.Logf("--metrics-addr %s: %v (no IPv6 loopback here?)", addr, err)
			continue
		}
		ln.Close()
	}
}
