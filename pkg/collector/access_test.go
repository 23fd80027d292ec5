package collector

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iter8-knative/iter8/events"
)

// promServer answers every query with a vector of n series, and records
// the Authorization header it got.
func promServer(n int, auth *string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		*auth = r.Header.Get("Authorization")
		var b strings.Builder
		b.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"metric":{"pod":"p%d"},"value":[1,"1"]}`, i)
		}
		b.WriteString(`]}}`)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(b.String()))
	}
}

// TestQueryLimits: an answer over the series cap or the byte cap is a
// permanent LimitError naming the limit, whatever its transport; under the
// caps the answer comes through.
func TestQueryLimits(t *testing.T) {
	var auth string
	srv := httptest.NewServer(promServer(50, &auth))
	defer srv.Close()
	cases := []struct {
		name      string
		maxBytes  int64
		maxSeries int
		want      string // "" for no error
	}{
		{"under both caps", 1 << 20, 100, ""},
		{"over the series cap", 1 << 20, 49, "more than 49 series"},
		{"over the byte cap", 1000, 100, "more than 1000 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(srv.URL, WithLimits(tc.maxBytes, tc.maxSeries))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.query(context.Background(), "errors", "up", time.Unix(1, 0))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("query: %v", err)
				}
				return
			}
			var le *LimitError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) || !events.IsPermanent(err) || events.StatusOf(err) != 422 {
				t.Errorf("query: %v, want a permanent 422 LimitError saying %q", err, tc.want)
			}
		})
	}
}

// TestAccessFromEnv: credentials and a CA come from files through
// Prometheus's client configuration and reach a TLS Prometheus; nothing
// is configured without the variables.
func TestAccessFromEnv(t *testing.T) {
	var auth string
	srv := httptest.NewTLSServer(promServer(1, &auth))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	pemCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	token, password := filepath.Join(dir, "token"), filepath.Join(dir, "password")
	for f, b := range map[string][]byte{ca: pemCA, token: []byte("s3cret-token\n"), password: []byte("pw")} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := x509.ParseCertificate(srv.Certificate().Raw); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bearer token file", map[string]string{EnvBearerTokenFile: token, EnvCAFile: ca}, "Bearer s3cret-token"},
		{"basic auth", map[string]string{EnvBasicAuthUsername: "iter8", EnvBasicAuthPasswordFile: password, EnvCAFile: ca}, "Basic aXRlcjg6cHc="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.env[EnvURL] = srv.URL
			c, ok, err := FromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err != nil || !ok {
				t.Fatalf("FromEnv: %v %v", ok, err)
			}
			if _, err := c.query(context.Background(), "x", "up", time.Unix(1, 0)); err != nil {
				t.Fatalf("query over TLS with the CA file: %v", err)
			}
			if auth != tc.want {
				t.Errorf("Authorization %q, want %q", auth, tc.want)
			}
		})
	}
	t.Run("without the CA the TLS server is refused", func(t *testing.T) {
		c, _, err := FromEnv(func(k string) (string, bool) {
			v, ok := map[string]string{EnvURL: srv.URL, EnvBearerTokenFile: token}[k]
			return v, ok
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.query(context.Background(), "x", "up", time.Unix(1, 0)); err == nil {
			t.Error("an unknown CA was trusted")
		}
	})
	if rt, err := AccessFromEnv(func(string) (string, bool) { return "", false }); rt != nil || err != nil {
		t.Errorf("no variables: %v %v, want no transport", rt, err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"http://prometheus.monitoring:9090":                    "http://prometheus.monitoring:9090",
		"https://user:pa55@prom.example.com/api?token=abc&x=1": "https://xxxxx@prom.example.com/api?token=xxxxx&x=xxxxx",
		"://bad": "<unparseable URL>",
	} {
		if got := Redact(in); got != want || strings.Contains(got, "pa55") || strings.Contains(got, "abc") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
