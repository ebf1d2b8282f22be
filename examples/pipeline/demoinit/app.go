//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The demo app: the vendor's application in miniature. It keeps notes,
// one line each, in a file on the data disk, so the lifecycle test can
// prove that customer data survives updates, fallbacks and power cuts.
const (
	maxNote  = 4 << 10  // bytes in one note
	maxNotes = 64 << 10 // bytes in the notes file
)

type demoApp struct {
	version string
	license func() any // the license summary GET / shows
	notes   string     // path of the notes file

	mu sync.Mutex
}

func (a *demoApp) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"version": a.version, "license": a.license()})
	})
	mux.HandleFunc("GET /notes", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		b, err := os.ReadFile(a.notes)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			http.Error(w, "notes unreadable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("POST /notes", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxNote))
		if err != nil {
			http.Error(w, "a note is at most 4 KiB", http.StatusRequestEntityTooLarge)
			return
		}
		note := strings.TrimSpace(strings.ReplaceAll(string(b), "\n", " "))
		if note == "" {
			http.Error(w, "empty note", http.StatusBadRequest)
			return
		}
		if err := a.add(note); err != nil {
			http.Error(w, err.Error(), http.StatusInsufficientStorage)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"stored": note})
	})
	return mux
}

// add appends a note and syncs it: a note the app acknowledged survives
// a power cut.
func (a *demoApp) add(note string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st, err := os.Stat(a.notes); err == nil && st.Size()+int64(len(note))+1 > maxNotes {
		return errors.New("the notes file is full")
	}
	if err := os.MkdirAll(filepath.Dir(a.notes), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(a.notes, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	_, _ = w.WriteString(note + "\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
