// Package concurrently starts functions together, for the tests that race
// several writers or several instances against one database.
package concurrently

import "sync"

// Run runs each of fns in a goroutine of its own, releasing them all at
// once (as near together as goroutines released by one channel close
// get), and returns their errors in the order of fns.
func Run(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}
