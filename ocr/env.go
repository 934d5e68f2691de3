package ocr

import (
	"fmt"
	"os"
	"syscall"
)

// threadLimitVar is the environment variable OpenMP reads once, when
// libtesseract is loaded.
const threadLimitVar = "OMP_THREAD_LIMIT"

// EnsureThreadLimit makes sure the process runs with OMP_THREAD_LIMIT set.
//
// Tesseract parallelises with OpenMP, which reads OMP_THREAD_LIMIT when the
// shared library is loaded, before main runs; os.Setenv in main is too late.
// With OpenMP's default thread count, a dense 300-dpi page took 12.8 s on a
// 2-core machine instead of 2.6 s, and parallel workers fight over the cores.
//
// If OMP_THREAD_LIMIT is absent from the environment, EnsureThreadLimit
// replaces the current process with a fresh copy of the same executable,
// same arguments and environment plus OMP_THREAD_LIMIT=1, and so does not
// return. If the variable is already set (to any value: an operator may
// choose another limit), it returns nil at once. It returns an error only if
// the executable cannot be found or exec fails; the caller should then log
// it and may carry on, only slower.
//
// Call it first thing in main and in TestMain, before anything that starts
// goroutines or holds resources that exec would discard.
func EnsureThreadLimit() error {
	if _, ok := os.LookupEnv(threadLimitVar); ok {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("ocr: locate own executable to re-exec with %s=1: %w", threadLimitVar, err)
	}
	env := append(os.Environ(), threadLimitVar+"=1")
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("ocr: re-exec %s with %s=1: %w", exe, threadLimitVar, err)
	}
	return nil // not reached: Exec does not return on success
}
