package cli

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

const token = "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNklpSjkuc2VjcmV0"

func TestRedactBodyHidesSecretDataEverywhere(t *testing.T) {
	for name, body := range map[string]string{
		"Secret":               `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"t"},"data":{"token":"` + token + `"}}`,
		"applied Secret":       `{"apiVersion":"v1","data":{"token":"` + token + `"},"kind":"Secret","metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"` + token + `"}}}`,
		"SecretList":           `{"kind":"SecretList","items":[{"metadata":{"name":"a"},"data":{"ca.crt":"x","token":"` + token + `"}}]}`,
		"watch event":          `{"type":"ADDED","object":{"kind":"Secret","stringData":{"password":"` + token + `"}}}`,
		"OpenMCPSecret":        `{"kind":"OpenMCPSecret","spec":{"template":{"data":{"password":"` + token + `"}}}}`,
		"TokenRequest status":  `{"kind":"TokenRequest","status":{"token":"` + token + `"}}`,
		"kubeconfig in a body": `{"users":[{"user":{"client-key-data":"` + token + `"}}]}`,
		"truncated JSON":       `{"kind":"Secret","data":{"token":"` + token,
		"protobuf":             hex.Dump(append([]byte("k8s\x00\n\x0c\n\x02v1\x12\x06Secret"), []byte(token)...)),
	} {
		out := redactBody(body)
		if strings.Contains(out, token) || strings.Contains(out, token[:16]) {
			t.Errorf("%s: %s", name, out)
		}
	}
	// What holds no secret stays whole, for debugging.
	cm := `{"data":{"config":"address-pools: []"},"kind":"ConfigMap"}`
	if out := redactBody(cm); out != cm {
		t.Errorf("ConfigMap body changed: %s", out)
	}
	dump := hex.Dump([]byte("k8s\x00\n\x0c\n\x02v1\x12\x04Node"))
	if out := redactBody(dump); out != dump {
		t.Errorf("Node protobuf dump changed: %s", out)
	}
}

// Through klog at -v=9, as client-go logs a body.
func TestVerboseLogsCarryNoSecret(t *testing.T) {
	var buf bytes.Buffer
	setUpLogging(&buf, 9)
	defer setUpLogging(&buf, 0)
	klog.Background().V(8).Info("Response Body", "body", `{"kind":"Secret","data":{"token":"`+token+`"}}`)
	klog.Background().V(8).Info("Request Body", "body", `{"kind":"ConfigMap","data":{"k":"visible"}}`)
	klog.Background().V(10).Info("not shown at -v=9")
	out := buf.String()
	if strings.Contains(out, token) || !strings.Contains(out, Redacted) || !strings.Contains(out, "visible") || strings.Contains(out, "not shown") {
		t.Errorf("log:\n%s", out)
	}
}

// At -v=0 nothing of client-go's logging reaches stderr, errors included.
func TestNoKlogErrorsWithoutV(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	setUpLogging(io.Discard, 0)
	klog.Background().Error(errors.New("answered with more than 256 MiB"), "Unexpected error when reading response body")
	klog.ErrorS(errors.New("x"), "Couldn't get current server API group list")
	klog.Flush()
	os.Stderr = stderr
	w.Close()
	out, _ := io.ReadAll(r)
	if len(out) > 0 {
		t.Errorf("stderr at -v=0: %q", out)
	}
}
