//go:build cgo

package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv names the environment variable that points at libonnxruntime.
const LibraryEnv = "ONNXRUNTIME_LIB"

// LibraryFile is the file name of the ONNX Runtime shared library.
const LibraryFile = "libonnxruntime.so.1"

// SystemLibraryPath is where container images put the library; it is the
// last place searched.
const SystemLibraryPath = "/usr/lib/onnxruntime/" + LibraryFile

// cacheDirs are the folders, relative to the repository root, where
// `make onnxruntime` and `make onnxruntime-cuda` put the library.
var (
	cpuCacheDir  = filepath.Join(".cache", "onnxruntime")
	cudaCacheDir = filepath.Join(".cache", "onnxruntime-cuda")
)

// ErrLibraryNotFound is wrapped by the error returned when no ONNX Runtime
// library can be found.
var ErrLibraryNotFound = errors.New("ONNX Runtime library not found")

// ResolveLibrary returns the path of the ONNX Runtime library to load:
// configured when set, else $ONNXRUNTIME_LIB, else the make cache folder
// found by walking up from the working directory and from the executable's
// directory (so `go test` in a package folder and `bin/epp` run from
// anywhere in the checkout both find it), else SystemLibraryPath. For
// device "cuda" the CUDA cache folder is tried before the CPU one.
func ResolveLibrary(configured, device string) (string, error) {
	check := func(p, from string) (string, error) {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", fmt.Errorf("%w at %s (%s): run `make onnxruntime` or fix the path", ErrLibraryNotFound, p, from)
		}
		return p, nil
	}
	if configured != "" {
		return check(configured, "libraryPath")
	}
	if env := os.Getenv(LibraryEnv); env != "" {
		return check(env, LibraryEnv)
	}
	dirs := []string{cpuCacheDir}
	if device == "cuda" {
		dirs = []string{cudaCacheDir, cpuCacheDir}
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	var tried []string
	for _, d := range dirs {
		for _, start := range starts {
			for dir := start; ; dir = filepath.Dir(dir) {
				p := filepath.Join(dir, d, LibraryFile)
				if st, err := os.Stat(p); err == nil && !st.IsDir() {
					return p, nil
				}
				if parent := filepath.Dir(dir); parent == dir {
					break
				}
			}
			tried = append(tried, filepath.Join(start, "…", d))
		}
	}
	if _, err := os.Stat(SystemLibraryPath); err == nil {
		return SystemLibraryPath, nil
	}
	tried = append(tried, SystemLibraryPath)
	return "", fmt.Errorf("%w (searched %s): run `make onnxruntime` in the repository, or set %s or the classifier's libraryPath to a %s",
		ErrLibraryNotFound, strings.Join(tried, ", "), LibraryEnv, LibraryFile)
}

var (
	envMu   sync.Mutex
	envPath string // the library the process environment was created from
)

// initRuntime loads the library at path and creates the process-wide ONNX
// Runtime environment, once. A later call with another path fails: one
// process can hold one ONNX Runtime.
func initRuntime(path string) error {
	envMu.Lock()
	defer envMu.Unlock()
	if envPath != "" {
		if envPath != path {
			return fmt.Errorf("ONNX Runtime is already loaded from %s; cannot also load %s in one process", envPath, path)
		}
		return nil
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("initializing ONNX Runtime from %s (need ONNX Runtime >= 1.24; `make onnxruntime` fetches one): %w", path, err)
	}
	envPath = path
	return nil
}

// Available reports whether the ONNX Runtime library can be found and
// loaded, initializing the process environment on success. Once a library
// is loaded, a call naming no library (neither libraryPath nor
// $ONNXRUNTIME_LIB) uses it, whatever the device.
func Available(libraryPath, device string) error {
	envMu.Lock()
	loaded := envPath
	envMu.Unlock()
	if loaded != "" && libraryPath == "" && os.Getenv(LibraryEnv) == "" {
		return nil
	}
	p, err := ResolveLibrary(libraryPath, device)
	if err != nil {
		return err
	}
	return initRuntime(p)
}

// Version is the loaded ONNX Runtime's version, or "" before it is loaded.
func Version() string {
	envMu.Lock()
	defer envMu.Unlock()
	if envPath == "" {
		return ""
	}
	return ort.GetVersion()
}
